import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { StoredVideo } from '#shared/records/record.js';

/** How long a download URL of our copy stays valid. */
const VIDEO_URL_TTL_SECONDS = 3600;

export function presignVideoUrl(s3: S3Client, video: StoredVideo | null): Promise<string | null> {
  if (!video) return Promise.resolve(null);
  return getSignedUrl(s3, new GetObjectCommand({ Bucket: video.bucket, Key: video.key }), {
    expiresIn: VIDEO_URL_TTL_SECONDS,
  });
}
