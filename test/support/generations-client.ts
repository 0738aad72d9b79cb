/** Test helpers: one API key's view of a local stack's generations and provider capacity. */
import { expect } from 'vitest';
import type { StackFixture } from './stack-fixture.js';
import { api, waitFor } from './http.js';

export const MODEL = 'kling-video/v1.6/standard/text-to-video';
/** Generous bounds on a loaded machine: every wait ends by a condition, not by time. */
export const SETTLE_MS = 180_000;
/** A scenario waits for a few settles in a row (set per file with `vi.setConfig`). */
export const SCENARIO_TIMEOUT_MS = 3 * SETTLE_MS;

export type GenerationsClient = ReturnType<typeof generationsClient>;

export function generationsClient(f: StackFixture, key = f.stack.apiKey) {
  const call = (method: string, path: string, body?: unknown) => api(f.stack.url, method, path, { body, apiKey: key });
  const get = async (id: string) => (await call('GET', `/v2/video/generations/${id}`)).json;
  return {
    call,
    get,
    create: async (prompt: string, extra: Record<string, unknown> = {}): Promise<string> => {
      const { status, json } = await call('POST', '/v2/video/generations', { model: MODEL, prompt, ...extra });
      expect(status, JSON.stringify(json)).toBe(200);
      return json.id as string;
    },
    /** Waits until the generation satisfies `predicate`. */
    when: (id: string, predicate: (generation: Record<string, any>) => boolean) =>
      waitFor(async () => {
        const generation = await get(id);
        return predicate(generation) ? generation : undefined;
      }, SETTLE_MS),
    /** Waits until the generation reaches `status` (or a terminal one, when omitted). */
    reaches: (id: string, status?: string) =>
      waitFor(async () => {
        const generation = await get(id);
        const done = status ? generation.status === status : generation.status === 'completed' || generation.status === 'error';
        return done ? generation : undefined;
      }, SETTLE_MS),
    capacity: async () => (await call('GET', '/v2/provider/capacity')).json,
    /** Waits until the capacity answer satisfies `predicate`. */
    capacityWhen: (predicate: (capacity: Record<string, any>) => boolean) =>
      waitFor(async () => {
        const capacity = (await call('GET', '/v2/provider/capacity')).json;
        return predicate(capacity) ? capacity : undefined;
      }, SETTLE_MS),
  };
}
