/**
 * What one generation costs to orchestrate in AWS, at published on-demand prices
 * (us-east-1, free tiers ignored).
 */

const PRICES = {
  /** Step Functions Standard: $0.025 per 1,000 state transitions (https://aws.amazon.com/step-functions/pricing/). */
  usdPerStateTransition: 0.025 / 1000,
  /** Lambda on Arm: $0.0000133334 per GB-second (https://aws.amazon.com/lambda/pricing/). */
  usdPerGbSecond: 0.0000133334,
  /** Lambda: $0.20 per 1M requests (https://aws.amazon.com/lambda/pricing/). */
  usdPerRequest: 0.2 / 1_000_000,
} as const;

/**
 * Billed run time assumed per invocation, with the memory the CDK app gives each
 * function (infra/orchestrator.ts): the small steps make one provider or webhook round
 * trip and a DynamoDB write or two; the copy streams a typical 5 s 720p video (~10 MB).
 */
const ASSUMED_INVOCATIONS = {
  smallStep: { memoryGb: 0.25, seconds: 0.15 },
  copy: { memoryGb: 1, seconds: 1.5 },
} as const;

export interface GenerationUsage {
  stateTransitions: number;
  /** api (the POST), create, status × checks, record, notify. */
  smallInvocations: number;
  copyInvocations: number;
}

export function usdPerGeneration(usage: GenerationUsage): number {
  const { smallStep, copy } = ASSUMED_INVOCATIONS;
  const invocations = usage.smallInvocations + usage.copyInvocations;
  const gbSeconds =
    usage.smallInvocations * smallStep.memoryGb * smallStep.seconds + usage.copyInvocations * copy.memoryGb * copy.seconds;
  return (
    usage.stateTransitions * PRICES.usdPerStateTransition +
    invocations * PRICES.usdPerRequest +
    gbSeconds * PRICES.usdPerGbSecond
  );
}

export const describePrices = (): string =>
  'Step Functions Standard $0.025/1,000 transitions; Lambda Arm $0.0000133334/GB-s + $0.20/1M requests ' +
  `(assumed billed ${ASSUMED_INVOCATIONS.smallStep.seconds * 1000} ms at 256 MB per small step, ` +
  `${ASSUMED_INVOCATIONS.copy.seconds} s at 1 GB per copy)`;
