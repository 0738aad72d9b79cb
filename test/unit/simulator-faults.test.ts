import { describe, expect, it } from 'vitest';
import {
  CreateFaultPlans,
  FaultPlan,
  InvalidFaultDirectiveError,
  parseFaultDirectives,
} from '../../local/simulator/faults.js';

describe('parseFaultDirectives', () => {
  it('finds no directive in an ordinary prompt', () => {
    expect(parseFaultDirectives('A white raccoon runs through [a] sequoia forest')).toEqual([]);
  });

  it('reads a directive without a count as applying to every request', () => {
    expect(parseFaultDirectives('a cat [sim:status-502]')).toEqual([
      { fault: 'status-502', requestKind: 'status', times: undefined },
    ]);
  });

  it('reads the count after the asterisk', () => {
    expect(parseFaultDirectives('[sim:create-429*3] a cat')).toEqual([
      { fault: 'create-429', requestKind: 'create', times: 3 },
    ]);
  });

  it('keeps several directives in prompt order', () => {
    const directives = parseFaultDirectives('[sim:video-503*2] a cat [sim:status-never]');
    expect(directives.map((directive) => directive.fault)).toEqual(['video-503', 'status-never']);
    expect(directives.map((directive) => directive.requestKind)).toEqual(['video', 'status']);
  });

  it.each([
    '[sim:status-teapot]',
    '[sim:create-429*0]',
    '[sim:create-429*]',
    '[sim:create-429*x]',
    '[sim:]',
    '[sim:STATUS-502]',
  ])('rejects the malformed directive %s', (directive) => {
    expect(() => parseFaultDirectives(`a cat ${directive}`)).toThrow(InvalidFaultDirectiveError);
    expect(() => parseFaultDirectives(`a cat ${directive}`)).toThrow(directive);
  });
});

describe('FaultPlan', () => {
  it('applies a counted directive to the first N requests only', () => {
    const plan = new FaultPlan(parseFaultDirectives('[sim:status-502*2]'));
    expect([plan.take('status'), plan.take('status'), plan.take('status')]).toEqual([
      'status-502',
      'status-502',
      undefined,
    ]);
  });

  it('applies an uncounted directive forever', () => {
    const plan = new FaultPlan(parseFaultDirectives('[sim:video-html]'));
    for (let request = 0; request < 50; request += 1) expect(plan.take('video')).toBe('video-html');
  });

  it('moves on to the next directive once the first is used up', () => {
    const plan = new FaultPlan(parseFaultDirectives('[sim:status-502*2][sim:status-error]'));
    expect([1, 2, 3, 4].map(() => plan.take('status'))).toEqual([
      'status-502',
      'status-502',
      'status-error',
      'status-error',
    ]);
  });

  it('counts each request kind separately', () => {
    const plan = new FaultPlan(parseFaultDirectives('[sim:status-502*1][sim:video-503*1]'));
    expect(plan.take('video')).toBe('video-503');
    expect(plan.take('create')).toBeUndefined();
    expect(plan.take('status')).toBe('status-502');
    expect(plan.take('status')).toBeUndefined();
    expect(plan.take('video')).toBeUndefined();
  });
});

describe('CreateFaultPlans', () => {
  it('counts create faults per prompt', () => {
    const plans = new CreateFaultPlans();
    const prompt = 'a cat [sim:create-500*1]';
    const directives = parseFaultDirectives(prompt);
    expect(plans.take(prompt, directives)).toBe('create-500');
    expect(plans.take(prompt, directives)).toBeUndefined();

    const otherPrompt = 'a dog [sim:create-500*1]';
    expect(plans.take(otherPrompt, parseFaultDirectives(otherPrompt))).toBe('create-500');
  });

  it('ignores prompts without create directives', () => {
    const prompt = 'a cat [sim:status-502]';
    expect(new CreateFaultPlans().take(prompt, parseFaultDirectives(prompt))).toBeUndefined();
  });
});
