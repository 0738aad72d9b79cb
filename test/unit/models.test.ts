import { describe, expect, it } from 'vitest';
import { MODELS, findModel } from '#shared/provider/models.js';

const V1 = 'kling-video/v1/standard/text-to-video';
const V16 = 'kling-video/v1.6/standard/text-to-video';

function model(id: string) {
  const found = findModel(id);
  if (!found) throw new Error(`${id} is missing from the registry`);
  return found;
}

describe('model registry', () => {
  it('holds both kling text-to-video models', () => {
    expect([...MODELS.keys()]).toEqual([V1, V16]);
    expect(findModel(V1)?.id).toBe(V1);
    expect(findModel(V16)?.id).toBe(V16);
  });

  it('finds nothing for an unknown id', () => {
    expect(findModel('kling-video/v9/standard/text-to-video')).toBeUndefined();
  });

  it.each([V1, V16])('gives %s the defaults duration 5 and aspect ratio 16:9 and a typical time of 186 s', (id) => {
    expect(model(id).defaults).toEqual({ duration: 5, aspect_ratio: '16:9' });
    expect(model(id).typicalSeconds).toBe(186);
  });

  it.each([V1, V16])('applies the defaults of %s to an empty parameter set', (id) => {
    expect(model(id).params.parse({})).toEqual({ duration: 5, aspect_ratio: '16:9' });
  });

  it.each([
    [5, 5],
    [10, 10],
    ['5', 5],
    ['10', 10],
  ])('accepts duration %j and outputs the integer %d', (input, output) => {
    expect(model(V16).params.parse({ duration: input }).duration).toBe(output);
  });

  it.each([7, '7', 5.5, '05', null, true])('rejects duration %j with a readable message', (input) => {
    const result = model(V16).params.safeParse({ duration: input });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toBe('must be 5 or 10');
  });

  it('accepts every field of the v1.6 seed', () => {
    const params = { duration: 10, aspect_ratio: '1:1', negative_prompt: 'blur', cfg_scale: 0.5 };
    expect(model(V16).params.parse(params)).toEqual(params);
  });

  it('accepts the camera fields on v1 only', () => {
    const camera = {
      camera_control: 'left_turn_forward',
      advanced_camera_control: { movement_type: 'zoom', movement_value: -10 },
    };
    expect(model(V1).params.parse(camera)).toMatchObject(camera);
    expect(model(V16).params.safeParse(camera).success).toBe(false);
  });

  it.each([
    { aspect_ratio: '4:3' },
    { cfg_scale: 1.01 },
    { cfg_scale: -0.1 },
    { cfg_scale: '0.5' },
    { negative_prompt: 'x'.repeat(2501) },
    { camera_control: 'spin' },
    { advanced_camera_control: { movement_type: 'zoom' } },
    { advanced_camera_control: { movement_type: 'zoom', movement_value: 11 } },
    { advanced_camera_control: { movement_type: 'zoom', movement_value: 1.5 } },
    { advanced_camera_control: { movement_type: 'dolly', movement_value: 1 } },
    { advanced_camera_control: { movement_type: 'zoom', movement_value: 1, speed: 2 } },
    { seed: 1 },
  ])('rejects the out-of-schema v1 parameters %j', (params) => {
    expect(model(V1).params.safeParse(params).success).toBe(false);
  });

  it('accepts a negative prompt of exactly 2500 characters', () => {
    expect(model(V16).params.safeParse({ negative_prompt: 'x'.repeat(2500) }).success).toBe(true);
  });
});
