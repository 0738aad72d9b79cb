/**
 * Starting and stopping runs of the generation workflow (the API, the intake and the
 * create step): start an execution under a name that makes the start idempotent, and
 * stop one. Execution names are the generation id (the generation's own run) or the id
 * plus a suffix (`-started`, `-cancel`, `-redeliver-<n>`: runs that only deliver an event).
 */
import { StartExecutionCommand, StopExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { GenerationRunInput, NotifyInput } from '#shared/workflow/steps.js';

const isNamed = (error: unknown, name: string): boolean => error instanceof Error && error.name === name;

export class GenerationExecutions {
  constructor(
    private readonly sfn: SFNClient,
    private readonly stateMachineArn: string,
  ) {}

  /**
   * Starts execution `name` unless it exists. Each name here always carries the same
   * input, so an existing execution of that name is this very run, started before (by
   * a concurrent or retried request), running or ended.
   */
  async startOnce(name: string, input: GenerationRunInput | NotifyInput): Promise<void> {
    try {
      await this.sfn.send(new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name, input: JSON.stringify(input) }));
    } catch (error) {
      if (!isNamed(error, 'ExecutionAlreadyExists')) throw error;
    }
  }

  /** Stops execution `name` if it is running; one that never started or has ended is left as it is. */
  async stop(name: string, reason: { error: string; cause: string }): Promise<void> {
    try {
      await this.sfn.send(new StopExecutionCommand({ executionArn: this.executionArn(name), ...reason }));
    } catch (error) {
      if (!isNamed(error, 'ExecutionDoesNotExist')) throw error;
    }
  }

  executionArn(name: string): string {
    return `${this.stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
  }
}
