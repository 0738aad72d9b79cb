/**
 * Turns a state machine Catch result (`{ Error, Cause }`) into the record's error.
 *
 * Our handlers throw errors named after the contract (docs/api.md), and Lambda
 * puts `{"errorType","errorMessage"}` in Cause. Anything else (a Lambda timeout, a
 * crash) is reported under the contract name of the stage it interrupted.
 */
import { GenerationErrorName, isGenerationErrorName } from '#shared/errors.js';
import type { GenerationItem } from '#shared/records/record.js';
import type { StepFailure } from '#shared/workflow/steps.js';

export function describeFailure(failure: StepFailure, item: GenerationItem): { name: string; message: string } {
  const message = causeMessage(failure.Cause);
  if (isGenerationErrorName(failure.Error)) {
    return { name: failure.Error, message: message ?? failure.Error };
  }
  const stage = item.provider_video_url ? GenerationErrorName.CopyFailed : GenerationErrorName.ProviderUnavailable;
  return { name: stage, message: `step failed unexpectedly (${failure.Error})` };
}

/** The message of a step's Cause: Lambda's `{"errorType","errorMessage"}` JSON, or the text as it is. */
export function causeMessage(cause: string | undefined): string | null {
  if (!cause) return null;
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    return typeof parsed.errorMessage === 'string' ? parsed.errorMessage : cause;
  } catch {
    return cause;
  }
}
