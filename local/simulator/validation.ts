/**
 * The create body checks the AI/ML API applies to the two seed models, with messages in
 * the provider's style ("duration must be one of the following values: 5, 10"), so a
 * 400 names the offending field. Optional fields may be absent or null. Properties a
 * model does not define are rejected, which also catches reelhook forwarding its own
 * extensions (callback_url, metadata, …) to the provider.
 */

const SIMULATED_MODELS = [
  'kling-video/v1.6/standard/text-to-video',
  'kling-video/v1/standard/text-to-video',
] as const;

export type SimulatedModel = (typeof SIMULATED_MODELS)[number];

export interface CreateRequest {
  readonly model: SimulatedModel;
  readonly prompt: string;
  readonly durationSeconds: 5 | 10;
}

export type CreateRequestCheck =
  | { readonly ok: true; readonly request: CreateRequest }
  | { readonly ok: false; readonly message: string };

const COMMON_FIELDS = [
  'model',
  'prompt',
  'duration',
  'negative_prompt',
  'cfg_scale',
  'aspect_ratio',
] as const;
const CAMERA_FIELDS = ['camera_control', 'advanced_camera_control'] as const;

const FIELDS_BY_MODEL: Record<SimulatedModel, readonly string[]> = {
  'kling-video/v1.6/standard/text-to-video': COMMON_FIELDS,
  'kling-video/v1/standard/text-to-video': [...COMMON_FIELDS, ...CAMERA_FIELDS],
};

const ASPECT_RATIOS = ['16:9', '9:16', '1:1'];
const DURATIONS = [5, 10] as const;
const CAMERA_CONTROLS = ['down_back', 'forward_up', 'right_turn_forward', 'left_turn_forward'];
const CAMERA_MOVEMENT_TYPES = ['horizontal', 'vertical', 'pan', 'tilt', 'roll', 'zoom'];

function isPresent(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isSimulatedModel(value: unknown): value is SimulatedModel {
  return (SIMULATED_MODELS as readonly unknown[]).includes(value);
}

function oneOf(field: string, values: readonly unknown[]): string {
  return `${field} must be one of the following values: ${values.join(', ')}`;
}

/** The seeds' own example sends duration "5", so the numeric strings are accepted too. */
function parseDuration(value: unknown): 5 | 10 | undefined {
  const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  return DURATIONS.find((duration) => duration === number);
}

function advancedCameraIssues(value: unknown): string[] {
  if (!isRecord(value)) return ['advanced_camera_control must be an object'];
  const issues: string[] = [];
  if (!CAMERA_MOVEMENT_TYPES.includes(value.movement_type as string)) {
    issues.push(oneOf('advanced_camera_control.movement_type', CAMERA_MOVEMENT_TYPES));
  }
  const movement = value.movement_value;
  if (!Number.isInteger(movement) || (movement as number) < -10 || (movement as number) > 10) {
    issues.push('advanced_camera_control.movement_value must be an integer from -10 to 10');
  }
  return issues;
}

function fieldIssues(body: Record<string, unknown>, model: SimulatedModel | undefined): string[] {
  const issues: string[] = [];
  if (model === undefined) issues.push(oneOf('model', SIMULATED_MODELS));

  if (typeof body.prompt !== 'string') issues.push('prompt must be a string');
  else if (body.prompt.trim() === '') issues.push('prompt should not be empty');

  if (isPresent(body.duration) && parseDuration(body.duration) === undefined) {
    issues.push(oneOf('duration', DURATIONS));
  }
  if (isPresent(body.aspect_ratio) && !ASPECT_RATIOS.includes(body.aspect_ratio as string)) {
    issues.push(oneOf('aspect_ratio', ASPECT_RATIOS));
  }
  if (isPresent(body.negative_prompt) && typeof body.negative_prompt !== 'string') {
    issues.push('negative_prompt must be a string');
  }
  const cfgScale = body.cfg_scale;
  if (isPresent(cfgScale)) {
    if (typeof cfgScale !== 'number' || !Number.isFinite(cfgScale)) {
      issues.push('cfg_scale must be a number');
    } else if (cfgScale < 0 || cfgScale > 1) {
      issues.push('cfg_scale must be between 0 and 1');
    }
  }

  if (model !== undefined) {
    const allowed = FIELDS_BY_MODEL[model];
    for (const field of Object.keys(body)) {
      if (!allowed.includes(field)) issues.push(`property ${field} should not exist`);
    }
    if (allowed.includes('camera_control')) {
      if (
        isPresent(body.camera_control) &&
        !CAMERA_CONTROLS.includes(body.camera_control as string)
      ) {
        issues.push(oneOf('camera_control', CAMERA_CONTROLS));
      }
      if (isPresent(body.advanced_camera_control)) {
        issues.push(...advancedCameraIssues(body.advanced_camera_control));
      }
    }
  }
  return issues;
}

/** Checks a parsed JSON create body against the chosen model's schema. */
export function checkCreateRequest(body: unknown): CreateRequestCheck {
  if (!isRecord(body)) return { ok: false, message: 'request body must be a JSON object' };
  const model = isSimulatedModel(body.model) ? body.model : undefined;
  const issues = fieldIssues(body, model);
  if (model === undefined || issues.length > 0) return { ok: false, message: issues.join('; ') };
  return {
    ok: true,
    request: {
      model,
      prompt: body.prompt as string,
      durationSeconds: parseDuration(body.duration) ?? 5,
    },
  };
}
