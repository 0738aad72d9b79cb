/**
 * When the copy gives up, ahead of its function's timeout. A copy that Lambda's timeout
 * ends fails with `Sandbox.Timedout`, which the Copy Video Task does not retry, and is
 * frozen mid-upload, its multipart upload left behind. Stopping a margin earlier leaves
 * time to abort the download and the upload and to fail with CopyFailed, which the Task
 * retries.
 *
 * The margin is 30 s: stopping waits for the parts already in flight (at most 3 × 16 MiB,
 * a second or two at Lambda's bandwidth to S3, longer if the SDK retries one) and for one
 * AbortMultipartUpload. An invocation with less than 2 minutes (a test's shortened
 * timeout) keeps a quarter of its time instead, so that it still copies for most of it.
 */

const STOP_MARGIN_MS = 30_000;
const STOP_MARGIN_SHARE = 0.25;

/** Aborted, with a message saying why, when the copy must stop to end before Lambda's timeout. */
export interface CopyDeadline {
  signal: AbortSignal;
  /** Cancels the timer once the copy has ended on its own. */
  clear(): void;
}

/**
 * @example
 * const deadline = copyDeadline(context.getRemainingTimeInMillis());
 * try { await copyVideoToS3({ ...request, stop: deadline.signal }); } finally { deadline.clear(); }
 */
export function copyDeadline(remainingMs: number): CopyDeadline {
  const marginMs = Math.min(STOP_MARGIN_MS, remainingMs * STOP_MARGIN_SHARE);
  const controller = new AbortController();
  const reason = `${(marginMs / 1000).toFixed(1)} s before the function's timeout`;
  const timer = setTimeout(() => controller.abort(reason), Math.max(0, remainingMs - marginMs));
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}
