import { describe, expect, it } from 'vitest';
import { checkCreateRequest } from '../../local/simulator/validation.js';

const V16 = 'kling-video/v1.6/standard/text-to-video';
const V1 = 'kling-video/v1/standard/text-to-video';

function messageFor(body: unknown): string {
  const check = checkCreateRequest(body);
  if (check.ok) throw new Error('expected the body to be rejected');
  return check.message;
}

describe('checkCreateRequest', () => {
  it('accepts the seeds example body, duration string included', () => {
    const check = checkCreateRequest({
      model: V16,
      prompt: 'A cheerful white raccoon running through a sequoia forest',
      aspect_ratio: '16:9',
      duration: '5',
    });
    expect(check).toEqual({
      ok: true,
      request: {
        model: V16,
        prompt: 'A cheerful white raccoon running through a sequoia forest',
        durationSeconds: 5,
      },
    });
  });

  it('defaults the duration to five seconds', () => {
    const check = checkCreateRequest({ model: V1, prompt: 'a cat' });
    expect(check.ok && check.request.durationSeconds).toBe(5);
  });

  it('accepts every optional field of the v1 model', () => {
    const check = checkCreateRequest({
      model: V1,
      prompt: 'a cat',
      duration: 10,
      aspect_ratio: '1:1',
      negative_prompt: 'blur',
      cfg_scale: 0.5,
      camera_control: 'down_back',
      advanced_camera_control: { movement_type: 'zoom', movement_value: -10 },
    });
    expect(check.ok && check.request.durationSeconds).toBe(10);
  });

  it('treats null optional fields as absent', () => {
    expect(
      checkCreateRequest({ model: V16, prompt: 'a cat', duration: null, cfg_scale: null }).ok,
    ).toBe(true);
  });

  it.each([
    [{ prompt: 'a cat' }, 'model must be one of the following values'],
    [{ model: 'kling-video/v9', prompt: 'a cat' }, 'model must be one of the following values'],
    [{ model: V16 }, 'prompt must be a string'],
    [{ model: V16, prompt: '   ' }, 'prompt should not be empty'],
    [{ model: V16, prompt: 'a cat', duration: 7 }, 'duration must be one of the following values'],
    [{ model: V16, prompt: 'a cat', duration: 5.5 }, 'duration must be one of'],
    [{ model: V16, prompt: 'a cat', duration: 'five' }, 'duration must be one of'],
    [{ model: V16, prompt: 'a cat', aspect_ratio: '4:3' }, 'aspect_ratio must be one of'],
    [{ model: V16, prompt: 'a cat', cfg_scale: 1.5 }, 'cfg_scale must be between 0 and 1'],
    [{ model: V16, prompt: 'a cat', cfg_scale: '0.5' }, 'cfg_scale must be a number'],
    [{ model: V16, prompt: 'a cat', negative_prompt: 3 }, 'negative_prompt must be a string'],
    [{ model: V16, prompt: 'a cat', camera_control: 'down_back' }, 'property camera_control'],
    [
      { model: V16, prompt: 'a cat', advanced_camera_control: {} },
      'property advanced_camera_control should not exist',
    ],
    [{ model: V1, prompt: 'a cat', camera_control: 'spin' }, 'camera_control must be one of'],
    [
      { model: V1, prompt: 'a cat', advanced_camera_control: { movement_type: 'pan' } },
      'advanced_camera_control.movement_value',
    ],
    [{ model: V16, prompt: 'a cat', callback_url: 'http://x' }, 'property callback_url'],
  ])('rejects %j naming the field', (body, expected) => {
    expect(messageFor(body)).toContain(expected);
  });

  it('rejects a body that is not an object', () => {
    expect(messageFor([])).toBe('request body must be a JSON object');
  });

  it('lists every problem at once', () => {
    const message = messageFor({ model: V16, prompt: '', duration: 3 });
    expect(message).toContain('prompt');
    expect(message).toContain('duration');
  });
});
