/**
 * Copy Video: streams the provider's file into our bucket, hashing on the way.
 * The object key is fixed per generation, so a re-run rewrites the same object, and a
 * re-run after the outcome was recorded returns the recorded video without copying.
 * It stops ahead of the function's timeout (deadline.ts), so that a copy too slow for one
 * invocation ends in CopyFailed, which the state machine retries.
 */
import type { Context } from 'aws-lambda';
import { bucketName, maxVideoBytes, tableName } from '#shared/runtime/config.js';
import { createDocumentClient } from '#shared/records/dynamo.js';
import { CopyFailed } from '#shared/errors.js';
import { GenerationStore } from '#shared/records/generation-store.js';
import { createLogger } from '#shared/runtime/logger.js';
import { recordBytesCopied, tracedHandler } from '#shared/runtime/observability.js';
import { sendPayloadsUnsigned } from '#shared/video/parted-upload.js';
import { waitScaleFromEnv } from '#shared/polling/bounds.js';
import { createS3Client } from '#shared/video/s3-client.js';
import { loadGeneration, stopIfEnded, type StepInput } from '#shared/workflow/steps.js';
import { copyVideoToS3 } from '#shared/video/copy.js';
import type { StoredVideo } from '#shared/records/record.js';
import { videoKeyFor } from '#shared/facts.js';
import { copyDeadline } from './deadline.js';

const store = new GenerationStore(createDocumentClient(), tableName());
const s3 = sendPayloadsUnsigned(createS3Client());
const bucket = bucketName();
const maxBytes = maxVideoBytes();
/** Pause between download attempts inside one copy (REELHOOK_WAIT_SCALE scales it locally). */
const retryDelayMs = 500 * waitScaleFromEnv();
const logger = createLogger('copy');

export const handler = tracedHandler('copy', async (event: StepInput, context: Pick<Context, 'getRemainingTimeInMillis'>): Promise<StoredVideo> => {
  logger.appendKeys({ generation_id: event.generation_id });
  const item = await loadGeneration(store, event.generation_id);
  if (item.video) return item.video;
  // Ended elsewhere (cancelled) before the copy: store nothing for a generation that failed.
  stopIfEnded(item);
  if (!item.provider_video_url) throw new CopyFailed('the provider gave no video URL to copy');
  const deadline = copyDeadline(context.getRemainingTimeInMillis());
  let copied: StoredVideo;
  try {
    copied = await copyVideoToS3({
      sourceUrl: item.provider_video_url,
      bucket,
      key: videoKeyFor(item.id),
      maxBytes,
      s3,
      retryDelayMs,
      stop: deadline.signal,
    });
  } finally {
    deadline.clear();
  }
  logger.info('video copied', { size_bytes: copied.size_bytes, sha256: copied.sha256 });
  recordBytesCopied(item.model, copied.size_bytes);
  return copied;
});
