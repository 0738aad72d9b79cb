/**
 * The registry of text-to-video models reelhook can drive, with the provider fields
 * each one accepts (per the AI/ML API's published OpenAPI schemas).
 *
 * Field schemas are defined once and composed per model, so adding a model is one
 * `defineModel` entry. Error messages are written for humans because they reach API
 * callers verbatim as ValidationError issues.
 */
// zod/mini imported as a namespace lets esbuild keep only the parts of zod in use; classic zod, or
// `import { z }` (an object holding all of zod, locales included), adds ~400 KB to each Lambda bundle.
import * as z from 'zod/mini';

export interface VideoModel {
  id: string;
  /** zod object of the provider fields other than model and prompt, strict (unknown keys rejected). duration accepts 5, 10, "5", "10" and outputs the integer. */
  params: z.ZodMiniObject;
  /** Defaults recorded and sent when the caller omits them. */
  defaults: Record<string, unknown>;
  /** Typical provider processing time in seconds, the seed for polling. */
  typicalSeconds: number;
}

/** Says "is required" for a missing value and "must be <expected>" for anything else. */
function expecting(expected: string) {
  return (issue: { input?: unknown }) => (issue.input === undefined ? 'is required' : `must be ${expected}`);
}

const MAX_TEXT_CHARS = 2500;

/** The seeds type duration as an integer, but their own example sends "5", so both forms are accepted. */
const duration = z
  .pipe(
    z.literal([5, 10, '5', '10'], { error: 'must be 5 or 10' }),
    z.transform((value) => Number(value)),
  )
  .check(z.meta({ description: 'The length of the output video in seconds.' }));

const ASPECT_RATIOS = ['16:9', '9:16', '1:1'] as const;
const aspectRatio = z
  .enum(ASPECT_RATIOS, { error: `must be one of ${ASPECT_RATIOS.join(', ')}` })
  .check(z.meta({ description: 'The aspect ratio of the generated video.' }));

const negativePrompt = z
  .string({ error: expecting('a string') })
  .check(
    z.maxLength(MAX_TEXT_CHARS, { error: `must be at most ${MAX_TEXT_CHARS} characters` }),
    z.meta({ description: 'The description of elements to avoid in the generated video.' }),
  );

const CFG_SCALE_RANGE = 'a number between 0 and 1';
const cfgScale = z
  .number({ error: expecting(CFG_SCALE_RANGE) })
  .check(
    z.minimum(0, { error: `must be ${CFG_SCALE_RANGE}` }),
    z.maximum(1, { error: `must be ${CFG_SCALE_RANGE}` }),
    z.meta({ description: 'How closely the model sticks to the prompt (Classifier Free Guidance).' }),
  );

const CAMERA_CONTROLS = ['down_back', 'forward_up', 'right_turn_forward', 'left_turn_forward'] as const;
const cameraControl = z
  .enum(CAMERA_CONTROLS, { error: `must be one of ${CAMERA_CONTROLS.join(', ')}` })
  .check(z.meta({ description: 'A preset camera movement.' }));

const MOVEMENT_TYPES = ['horizontal', 'vertical', 'pan', 'tilt', 'roll', 'zoom'] as const;
const MOVEMENT_RANGE = 'an integer from -10 to 10';
const advancedCameraControl = z
  .strictObject(
    {
      movement_type: z.enum(MOVEMENT_TYPES, { error: expecting(`one of ${MOVEMENT_TYPES.join(', ')}`) }),
      movement_value: z
        .int({ error: expecting(MOVEMENT_RANGE) })
        .check(
          z.minimum(-10, { error: `must be ${MOVEMENT_RANGE}` }),
          z.maximum(10, { error: `must be ${MOVEMENT_RANGE}` }),
        ),
    },
    { error: expecting('an object with movement_type and movement_value') },
  )
  .check(z.meta({ description: 'A custom camera movement.' }));

/** Fields every kling text-to-video model accepts. */
const KLING_TEXT_TO_VIDEO_FIELDS = {
  duration,
  aspect_ratio: aspectRatio,
  negative_prompt: negativePrompt,
  cfg_scale: cfgScale,
};

const KLING_DEFAULTS = Object.freeze({ duration: 5, aspect_ratio: '16:9' });

/** The v1.6 seed reports ~3 min 6 s; the v1 seed gives no figure, so it shares it. */
const KLING_TYPICAL_SECONDS = 186;

/** Builds a model entry: fields with a default get it, the others become optional. */
function defineModel(entry: {
  id: string;
  fields: Record<string, z.ZodMiniType>;
  defaults: Record<string, unknown>;
  typicalSeconds: number;
}): VideoModel {
  const shape = Object.fromEntries(
    Object.entries(entry.fields).map(([name, schema]) => [
      name,
      name in entry.defaults ? z._default(schema, entry.defaults[name]) : z.optional(schema),
    ]),
  );
  return {
    id: entry.id,
    params: z.strictObject(shape),
    defaults: entry.defaults,
    typicalSeconds: entry.typicalSeconds,
  };
}

const REGISTRY: VideoModel[] = [
  defineModel({
    id: 'kling-video/v1/standard/text-to-video',
    fields: {
      ...KLING_TEXT_TO_VIDEO_FIELDS,
      camera_control: cameraControl,
      advanced_camera_control: advancedCameraControl,
    },
    defaults: KLING_DEFAULTS,
    typicalSeconds: KLING_TYPICAL_SECONDS,
  }),
  defineModel({
    id: 'kling-video/v1.6/standard/text-to-video',
    fields: KLING_TEXT_TO_VIDEO_FIELDS,
    defaults: KLING_DEFAULTS,
    typicalSeconds: KLING_TYPICAL_SECONDS,
  }),
];

export const MODELS: ReadonlyMap<string, VideoModel> = new Map(REGISTRY.map((model) => [model.id, model]));

export function findModel(id: string): VideoModel | undefined {
  return MODELS.get(id);
}
