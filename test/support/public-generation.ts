/** A public generation record for tests of what is rendered from one: `generating`, provider accepted at 00:00:00. */
import type { PublicGeneration } from '#shared/records/record.js';

export function publicGeneration(overrides: Partial<PublicGeneration> = {}): PublicGeneration {
  return {
    id: 'gen_01jd0000000000000000000000',
    status: 'generating',
    video: null,
    error: null,
    meta: null,
    model: 'kling-video/v1.6/standard/text-to-video',
    prompt: 'a fox',
    params: {},
    metadata: {},
    provider: { generation_id: 'p1', status: 'processing', polls: 3 },
    callback: { url: null, state: 'none', attempts: 0, last_status_code: null, next_attempt_at: null, attempt_log: [] },
    timeline: { accepted: '2026-01-01T00:00:00.000Z', provider_accepted: '2026-01-01T00:00:00.000Z' },
    created_at: '2026-01-01T00:00:00.000Z',
    updated_at: '2026-01-01T00:00:00.000Z',
    completed_at: null,
    ...overrides,
  };
}
