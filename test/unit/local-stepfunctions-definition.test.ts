import { describe, expect, it } from 'vitest';
import {
  type AslDefinition,
  MAX_TIMER_SECONDS,
  forEachState,
  withAwsTaskTimeouts,
  withPinnedExecutionContext,
} from '../../local/stepfunctions/definition.js';

const FUNCTION_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:step';

describe('forEachState', () => {
  it('visits states inside Parallel branches and Map item processors', () => {
    const definition: AslDefinition = {
      StartAt: 'Fan Out',
      States: {
        'Fan Out': {
          Type: 'Parallel',
          Branches: [
            { StartAt: 'Left', States: { Left: { Type: 'Pass', End: true } } },
            {
              StartAt: 'Items',
              States: {
                Items: {
                  Type: 'Map',
                  Iterator: { StartAt: 'Item', States: { Item: { Type: 'Pass', End: true } } },
                  End: true,
                },
              },
            },
          ],
          Next: 'Last',
        },
        Last: { Type: 'Succeed' },
      },
    };
    const visited: string[] = [];

    forEachState(definition, (name) => visited.push(name));

    expect(visited).toEqual(['Fan Out', 'Left', 'Items', 'Item', 'Last']);
  });

  it('rejects a state name used twice, since overrides are keyed by name', () => {
    const definition: AslDefinition = {
      StartAt: 'Step',
      States: {
        Step: {
          Type: 'Parallel',
          Branches: [{ StartAt: 'Step', States: { Step: { Type: 'Pass', End: true } } }],
          End: true,
        },
      },
    };

    expect(() => forEachState(definition, () => {})).toThrow(/"Step" appears more than once/);
  });
});

describe('withAwsTaskTimeouts', () => {
  it('replaces the interpreter 60 s default with the longest timer and keeps explicit timeouts', () => {
    const definition: AslDefinition = {
      StartAt: 'Plain',
      TimeoutSeconds: 99_999_999,
      States: {
        Plain: { Type: 'Task', Resource: FUNCTION_ARN, Next: 'Own' },
        Own: { Type: 'Task', Resource: FUNCTION_ARN, TimeoutSeconds: 900, Next: 'Huge' },
        Huge: { Type: 'Task', Resource: FUNCTION_ARN, TimeoutSeconds: 99_999_999, Next: 'From Input' },
        'From Input': { Type: 'Task', Resource: FUNCTION_ARN, TimeoutSecondsPath: '$.timeout', End: true },
      },
    };

    const adapted = withAwsTaskTimeouts(definition);

    expect(adapted.TimeoutSeconds).toBe(MAX_TIMER_SECONDS);
    expect(adapted.States.Plain?.TimeoutSeconds).toBe(MAX_TIMER_SECONDS);
    expect(adapted.States.Own?.TimeoutSeconds).toBe(900);
    expect(adapted.States.Huge?.TimeoutSeconds).toBe(MAX_TIMER_SECONDS);
    expect(adapted.States['From Input']?.TimeoutSeconds).toBeUndefined();
    expect(definition.States.Plain?.TimeoutSeconds).toBeUndefined();
  });
});

describe('withPinnedExecutionContext', () => {
  it('redirects $$.Execution.StartTime and $$.Execution.Input paths, and nothing else', () => {
    const definition: AslDefinition = {
      StartAt: 'Use Context',
      States: {
        'Use Context': {
          Type: 'Pass',
          Parameters: {
            'started.$': '$$.Execution.StartTime',
            'input.$': '$$.Execution.Input.jobId',
            'label.$': "States.Format('{} {}', $$.Execution.Name, $$.Execution.Input)",
            'other.$': '$$.Execution.InputDetails',
            'plain.$': '$.Execution.Input',
          },
          End: true,
        },
      },
    };

    expect(withPinnedExecutionContext(definition).States['Use Context']?.Parameters).toEqual({
      'started.$': '$$.Execution.OriginalStartTime',
      'input.$': '$$.Execution.OriginalInput.jobId',
      'label.$': "States.Format('{} {}', $$.Execution.Name, $$.Execution.OriginalInput)",
      'other.$': '$$.Execution.InputDetails',
      'plain.$': '$.Execution.Input',
    });
  });
});
