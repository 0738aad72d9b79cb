import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { StoredVideo } from '#shared/records/record.js';

/** How long a download URL of our copy stays valid, at most. */
export const VIDEO_URL_TTL_SECONDS = 3600;

/**
 * A presigned download URL of our copy, valid for {@link VIDEO_URL_TTL_SECONDS} or until the
 * signing credentials expire, whichever comes first.
 *
 * S3 refuses a presigned URL once the temporary credentials that signed it have expired,
 * whatever its `X-Amz-Expires` says. A function's role credentials are temporary, so a URL
 * promising an hour could stop working sooner; the URL's stated lifetime is therefore capped
 * at the credentials' expiration, when the credential provider reports one, and the URL
 * never claims more than it delivers. (The SDK refreshes credentials within 5 minutes of
 * their expiration, so a URL is still valid for minutes at least.) Credentials from the
 * environment report an expiration only through AWS_CREDENTIAL_EXPIRATION (docs/local-mode.md).
 *
 * @example
 * const url = await presignVideoUrl(s3, item.video);
 */
export async function presignVideoUrl(s3: S3Client, video: StoredVideo | null, now: Date = new Date()): Promise<string | null> {
  if (!video) return null;
  const { expiration } = await s3.config.credentials();
  return getSignedUrl(s3, new GetObjectCommand({ Bucket: video.bucket, Key: video.key }), {
    expiresIn: videoUrlLifetimeSeconds(expiration, now),
    // The lifetime counts from this instant, so the cap and the signature agree.
    signingDate: now,
  });
}

/** Whole seconds a URL signed at `now` stays valid: the full lifetime, or less when the credentials expire first. */
export function videoUrlLifetimeSeconds(credentialsExpiration: Date | undefined, now: Date): number {
  if (credentialsExpiration === undefined) return VIDEO_URL_TTL_SECONDS;
  const left = Math.floor((credentialsExpiration.getTime() - now.getTime()) / 1000);
  return Math.max(1, Math.min(VIDEO_URL_TTL_SECONDS, left));
}
