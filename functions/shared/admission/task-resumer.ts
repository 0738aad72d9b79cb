/**
 * Resumes a task waiting in `Wait For Provider Slot` through Step Functions'
 * SendTaskSuccess (the local stand-in serves the same call). A token whose task is gone
 * is not an error here: the caller passes the slot on.
 */
import { SendTaskSuccessCommand, type SFNClient } from '@aws-sdk/client-sfn';
import type { AdmissionOutput, TaskResumer } from './admission.js';

/** What Step Functions answers for a token whose task timed out, was stopped or already resumed. */
const DEAD_TOKEN_ERRORS = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

export class StepFunctionsTaskResumer implements TaskResumer {
  constructor(private readonly sfn: SFNClient) {}

  async resume(taskToken: string, output: AdmissionOutput): Promise<boolean> {
    try {
      await this.sfn.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
      return true;
    } catch (error) {
      if (error instanceof Error && DEAD_TOKEN_ERRORS.has(error.name)) return false;
      throw error;
    }
  }
}
