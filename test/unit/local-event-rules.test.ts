/**
 * The EventBridge rules local mode reads out of a synthesized template: enabled rules
 * with a pattern, each invoking functions of the template; anything local mode could not
 * route as AWS does fails at start, naming the rule.
 */
import { describe, expect, it } from 'vitest';
import { UnsupportedEventPattern } from '../../local/event-pattern.js';
import { eventRulesOf } from '../../local/template/event-rules.js';
import { TemplateResolutionError } from '../../local/template/intrinsics.js';
import type { CfnTemplate } from '../../local/template/synth.js';

const requested = { source: ['reelhook.client'], 'detail-type': ['Video Generation Requested'] };
const fnTarget = (id: string) => ({ Id: 'Target0', Arn: { 'Fn::GetAtt': [id, 'Arn'] } });

function template(rules: Record<string, Record<string, unknown>>): CfnTemplate {
  return {
    Resources: {
      Intake: { Type: 'AWS::Lambda::Function', Properties: {} },
      Queue: { Type: 'AWS::SQS::Queue', Properties: {} },
      ...Object.fromEntries(Object.entries(rules).map(([id, properties]) => [id, { Type: 'AWS::Events::Rule', Properties: properties }])),
    },
  };
}

describe('eventRulesOf', () => {
  it('reads each enabled rule with its pattern and the functions it invokes', () => {
    expect(eventRulesOf(template({ Requested: { EventPattern: requested, State: 'ENABLED', Targets: [fnTarget('Intake')] } }))).toEqual([
      { logicalId: 'Requested', pattern: requested, functionLogicalIds: ['Intake'] },
    ]);
  });

  it('skips disabled rules and schedules, which route no put event', () => {
    const rules = template({
      Off: { EventPattern: requested, State: 'DISABLED', Targets: [fnTarget('Intake')] },
      Nightly: { ScheduleExpression: 'rate(1 day)', Targets: [fnTarget('Intake')] },
    });
    expect(eventRulesOf(rules)).toEqual([]);
  });

  it("skips rules for AWS services' own events: the local engine raises those itself", () => {
    const statusChanges = { source: ['aws.states'], detail: { stateMachineArn: [{ 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }]] }] } };
    expect(eventRulesOf(template({ SlotRelease: { EventBusName: 'default', EventPattern: statusChanges, Targets: [fnTarget('Intake')] } }))).toEqual([]);
  });

  it('fails naming a rule whose target local mode cannot invoke', () => {
    const rules = template({ ToQueue: { EventPattern: requested, Targets: [{ Id: 'T', Arn: { 'Fn::GetAtt': ['Queue', 'Arn'] } }] } });
    expect(() => eventRulesOf(rules)).toThrow(TemplateResolutionError);
    expect(() => eventRulesOf(rules)).toThrow(/rule ToQueue/);
  });

  it('fails naming a rule whose pattern the local matcher does not implement', () => {
    const rules = template({ Loose: { EventPattern: { source: [{ 'anything-but': 'reelhook' }] }, Targets: [fnTarget('Intake')] } });
    expect(() => eventRulesOf(rules)).toThrow(UnsupportedEventPattern);
    expect(() => eventRulesOf(rules)).toThrow(/rule Loose: source/);
  });
});
