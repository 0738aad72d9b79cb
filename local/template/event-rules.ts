/**
 * The app's EventBridge rules, read out of the synthesized template, so the local bus
 * routes exactly what the deployed rules route (`Video Generation Requested` from
 * `reelhook` → intake), not a copy of the pattern typed a second time.
 */
import { checkEventPattern, type EventPattern } from '../event-pattern.js';
import { TemplateResolutionError } from './intrinsics.js';
import type { CfnTemplate } from './synth.js';

export interface LocalEventRule {
  logicalId: string;
  pattern: EventPattern;
  /** Logical ids of the functions the rule invokes. */
  functionLogicalIds: string[];
}

/**
 * Every enabled rule with an event pattern for events that clients put. A target other
 * than a function of the template fails naming it: local mode would otherwise drop what
 * AWS delivers. Rules for AWS services' own events (sources `aws.*`, such as Step
 * Functions' execution status changes) are left out: locally the engine hands those to
 * their function itself (local/slot-release.ts), and no client may put an `aws.*` source.
 */
export function eventRulesOf(template: CfnTemplate): LocalEventRule[] {
  const rules: LocalEventRule[] = [];
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::Events::Rule') continue;
    const { EventPattern: pattern, State: state, Targets: targets } = resource.Properties ?? {};
    if (pattern === undefined || (state !== undefined && state !== 'ENABLED')) continue;
    if (isAwsServiceRule(pattern)) continue;
    checkEventPattern(pattern, `rule ${logicalId}`);
    const functionLogicalIds = (Array.isArray(targets) ? targets : []).map((target: unknown) => {
      const arn = (target as { Arn?: unknown } | null)?.Arn;
      const [id, attribute] = (arn as { 'Fn::GetAtt'?: unknown[] } | undefined)?.['Fn::GetAtt'] ?? [];
      if (typeof id !== 'string' || attribute !== 'Arn' || template.Resources[id]?.Type !== 'AWS::Lambda::Function') {
        throw new TemplateResolutionError(`rule ${logicalId} has a target local mode cannot invoke: ${JSON.stringify(arn)}`);
      }
      return id;
    });
    rules.push({ logicalId, pattern, functionLogicalIds });
  }
  return rules;
}

/** A pattern that matches only events of AWS services (every `source` value `aws.…`). */
function isAwsServiceRule(pattern: unknown): boolean {
  const sources = (pattern as { source?: unknown } | null)?.source;
  return Array.isArray(sources) && sources.length > 0 && sources.every((source) => typeof source === 'string' && source.startsWith('aws.'));
}
