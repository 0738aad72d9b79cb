import { describe, expect, it } from 'vitest';
import type { GenerationItem } from '#shared/records/record.js';
import { describeFailure } from '#shared/workflow/step-failure.js';

const item = (overrides: Partial<GenerationItem> = {}) => ({ provider_video_url: null, ...overrides }) as GenerationItem;

describe('describeFailure', () => {
  it('keeps a contract error name and the message from Lambda\'s cause', () => {
    const cause = JSON.stringify({ errorType: 'ProviderFailed', errorMessage: 'content policy violation' });
    expect(describeFailure({ Error: 'ProviderFailed', Cause: cause }, item())).toEqual({
      name: 'ProviderFailed',
      message: 'content policy violation',
    });
  });

  it('reports an unexpected error under the stage it interrupted', () => {
    expect(describeFailure({ Error: 'States.Timeout' }, item()).name).toBe('ProviderUnavailable');
    expect(describeFailure({ Error: 'Lambda.Unknown' }, item({ provider_video_url: 'http://127.0.0.1/v.mp4' })).name).toBe('CopyFailed');
  });
});
