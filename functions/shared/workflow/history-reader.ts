/**
 * Reads one execution's history, oldest first, page by page (GetExecutionHistory answers
 * at most 1,000 events a call). Bounded: Step Functions ends a Standard execution at
 * 25,000 events, so reading that many reads any whole history, and a reader never loops
 * on a service that keeps answering pages.
 */
import { GetExecutionHistoryCommand, type HistoryEvent, type SFNClient } from '@aws-sdk/client-sfn';

const MAX_HISTORY_EVENTS = 25_000;
const PAGE_SIZE = 1000;

export interface ReadHistory {
  events: HistoryEvent[];
  /** True when more events remained after `maxEvents`. */
  truncated: boolean;
}

/** The history of `executionArn`, or null when there is no such execution (not started yet, or past Step Functions' retention). */
export async function readExecutionHistory(sfn: SFNClient, executionArn: string, maxEvents = MAX_HISTORY_EVENTS): Promise<ReadHistory | null> {
  const events: HistoryEvent[] = [];
  let nextToken: string | undefined;
  try {
    do {
      const maxResults = Math.min(PAGE_SIZE, maxEvents - events.length);
      // Without execution data: the states' inputs and outputs are not needed, and stay out of the answer.
      const page = await sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults, nextToken, includeExecutionData: false }));
      events.push(...(page.events ?? []).slice(0, maxResults));
      nextToken = page.nextToken;
    } while (nextToken !== undefined && events.length < maxEvents);
  } catch (error) {
    if (error instanceof Error && error.name === 'ExecutionDoesNotExist') return null;
    throw error;
  }
  return { events, truncated: nextToken !== undefined };
}
