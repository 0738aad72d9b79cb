/**
 * Fault directives: how a test makes the AI/ML API simulator misbehave for one generation.
 *
 * The prompt is the only thing reelhook forwards per request, so a directive is text
 * inside it: `[sim:<fault>]` applies to every matching request, `[sim:<fault>*N]` to the
 * first N only, after which the simulator behaves normally. Several directives may
 * appear; on each request the first directive (in prompt order) for that request kind
 * with uses left applies and uses one up, so `[sim:status-502*2][sim:status-error]`
 * answers 502, 502, then `error` from then on. An unknown or malformed directive makes
 * the create call fail with 400, so a typo never silently turns a fault test green.
 *
 * | directive          | request      | what the simulator does                                         |
 * |--------------------|--------------|-----------------------------------------------------------------|
 * | `create-400`       | create       | 400 error body: the request is rejected                         |
 * | `create-403`       | create       | 403 error body: the account is out of credits                   |
 * | `create-429`       | create       | 429 error body with `Retry-After: 1`                            |
 * | `create-500`       | create       | 500 error body                                                  |
 * | `status-429`       | status check | 429 error body with `Retry-After: 1`                            |
 * | `status-502`       | status check | 502 with an HTML gateway page                                   |
 * | `status-malformed` | status check | 200 whose body is not valid JSON                                |
 * | `status-unknown`   | status check | 200 with `status: "waiting"` (a pending value outside the enum) |
 * | `status-error`     | status check | 200 with `status: "error"` and `error: { name, message }`       |
 * | `status-never`     | status check | 200 that never reaches `completed` (stays queued/generating)    |
 * | `status-no-url`    | status check | 200 `completed` with `video: null`                              |
 * | `video-503`        | download     | 503 `text/plain`                                                |
 * | `video-truncated`  | download     | full `content-length`, connection closed after about half       |
 * | `video-html`       | download     | 200 `text/html` page instead of the video                       |
 * | `video-oversized`  | download     | `content-length` of 3 GiB, a little data, then the connection closes |
 *
 * Counting: a create call has no generation yet, so create directives are counted per
 * prompt (create calls whose body carries the same prompt share the count). Status and
 * download directives are counted per generation. `status-error` and `status-no-url`
 * answer so from the first check, whatever the timeline says. Download directives apply
 * to GET; a HEAD request always describes the real file and uses nothing up.
 */

const FAULTS_BY_REQUEST = {
  create: ['create-400', 'create-403', 'create-429', 'create-500'],
  status: [
    'status-429',
    'status-502',
    'status-malformed',
    'status-unknown',
    'status-error',
    'status-never',
    'status-no-url',
  ],
  video: ['video-503', 'video-truncated', 'video-html', 'video-oversized'],
} as const;

export type FaultRequestKind = keyof typeof FAULTS_BY_REQUEST;
export type FaultOf<K extends FaultRequestKind> = (typeof FAULTS_BY_REQUEST)[K][number];
export type FaultName = FaultOf<FaultRequestKind>;

export interface FaultDirective {
  readonly fault: FaultName;
  readonly requestKind: FaultRequestKind;
  /** How many matching requests it applies to; `undefined` means all of them. */
  readonly times: number | undefined;
}

/** A `[sim:…]` directive that names no known fault or has a bad count. */
export class InvalidFaultDirectiveError extends Error {
  constructor(directive: string) {
    super(`prompt contains an unknown simulator directive ${directive}`);
    this.name = 'InvalidFaultDirectiveError';
  }
}

const DIRECTIVE_PATTERN = /\[sim:([^\]]*)\]/g;
const DIRECTIVE_BODY_PATTERN = /^([a-z0-9-]+)(?:\*([1-9][0-9]{0,5}))?$/;

const REQUEST_KIND_BY_FAULT = new Map<string, FaultRequestKind>(
  Object.entries(FAULTS_BY_REQUEST).flatMap(([kind, faults]) =>
    faults.map((fault) => [fault, kind as FaultRequestKind] as const),
  ),
);

/** Reads every `[sim:…]` directive in a prompt, in order. Throws InvalidFaultDirectiveError. */
export function parseFaultDirectives(prompt: string): FaultDirective[] {
  return [...prompt.matchAll(DIRECTIVE_PATTERN)].map((match) => {
    const body = DIRECTIVE_BODY_PATTERN.exec(match[1] ?? '');
    const fault = body?.[1];
    const requestKind = fault === undefined ? undefined : REQUEST_KIND_BY_FAULT.get(fault);
    if (body === null || fault === undefined || requestKind === undefined) {
      throw new InvalidFaultDirectiveError(match[0]);
    }
    const times = body[2] === undefined ? undefined : Number(body[2]);
    return { fault: fault as FaultName, requestKind, times };
  });
}

/** The directives of one prompt with their remaining uses. */
export class FaultPlan {
  private readonly used: number[];

  constructor(private readonly directives: readonly FaultDirective[]) {
    this.used = directives.map(() => 0);
  }

  /** The fault this request of the given kind must show, using one of its uses up. */
  take<K extends FaultRequestKind>(requestKind: K): FaultOf<K> | undefined {
    const index = this.directives.findIndex(
      (directive, i) =>
        directive.requestKind === requestKind &&
        (directive.times === undefined || (this.used[i] ?? 0) < directive.times),
    );
    const directive = this.directives[index];
    if (directive === undefined) return undefined;
    this.used[index] = (this.used[index] ?? 0) + 1;
    return directive.fault;
  }
}

/** Create directives, counted per prompt because a create call has no generation yet. */
export class CreateFaultPlans {
  private readonly plans = new Map<string, FaultPlan>();

  /** The fault this create call must show, given its prompt and that prompt's directives. */
  take(prompt: string, directives: readonly FaultDirective[]): FaultOf<'create'> | undefined {
    if (!directives.some((directive) => directive.requestKind === 'create')) return undefined;
    let plan = this.plans.get(prompt);
    if (plan === undefined) {
      plan = new FaultPlan(directives);
      this.plans.set(prompt, plan);
    }
    return plan.take('create');
  }
}
