/**
 * Download URLs of our copy signed with temporary credentials (a function's role in AWS):
 * the URL's stated lifetime never outlasts the credentials that signed it.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import type { StoredVideo } from '#shared/records/record.js';
import { presignVideoUrl, VIDEO_URL_TTL_SECONDS, videoUrlLifetimeSeconds } from '#shared/video/url.js';

const NOW = new Date('2026-12-03T06:00:00Z');
const video: StoredVideo = {
  bucket: 'reelhook-videos',
  key: 'videos/gen_1.mp4',
  s3_uri: 's3://reelhook-videos/videos/gen_1.mp4',
  size_bytes: 1,
  sha256: 'a'.repeat(64),
  content_type: 'video/mp4',
};

/** An S3 client signing with a role session's credentials that expire `secondsLeft` after NOW (none: long-lived keys). */
function clientWith(secondsLeft?: number): S3Client {
  return new S3Client({
    region: 'eu-west-1',
    credentials: async () => ({
      accessKeyId: 'ASIAEXAMPLE',
      secretAccessKey: 'secret',
      ...(secondsLeft !== undefined && { sessionToken: 'session', expiration: new Date(NOW.getTime() + secondsLeft * 1000) }),
    }),
  });
}

async function signed(secondsLeft?: number): Promise<URL> {
  const url = await presignVideoUrl(clientWith(secondsLeft), video, NOW);
  return new URL(url!);
}

describe('presignVideoUrl', () => {
  it('caps the lifetime at the expiration of the session credentials that sign it', async () => {
    const url = await signed(20 * 60);
    expect(url.searchParams.get('X-Amz-Expires')).toBe(String(20 * 60));
    expect(url.searchParams.get('X-Amz-Date')).toBe('20261203T060000Z');
    expect(url.searchParams.get('X-Amz-Security-Token')).toBe('session');
  });

  it('gives the full hour when the credentials outlast it, or report no expiration', async () => {
    expect((await signed(6 * 3600)).searchParams.get('X-Amz-Expires')).toBe(String(VIDEO_URL_TTL_SECONDS));
    expect((await signed()).searchParams.get('X-Amz-Expires')).toBe(String(VIDEO_URL_TTL_SECONDS));
  });

  it('signs nothing for a generation without a video', async () => {
    expect(await presignVideoUrl(clientWith(), null, NOW)).toBeNull();
  });
});

describe('videoUrlLifetimeSeconds', () => {
  it('counts whole seconds left, never more than the hour and never below one', () => {
    expect(videoUrlLifetimeSeconds(new Date(NOW.getTime() + 1500.9 * 1000), NOW)).toBe(1500);
    expect(videoUrlLifetimeSeconds(new Date(NOW.getTime() + 10 * 3600 * 1000), NOW)).toBe(VIDEO_URL_TTL_SECONDS);
    expect(videoUrlLifetimeSeconds(new Date(NOW.getTime() - 1000), NOW)).toBe(1);
    expect(videoUrlLifetimeSeconds(undefined, NOW)).toBe(VIDEO_URL_TTL_SECONDS);
  });
});
