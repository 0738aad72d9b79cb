/** Which generation's own run an execution-status-change event is about. */

/** The fields of Step Functions' event that matter here. */
export interface ExecutionStatusChange {
  executionArn: string;
  status: string;
  /** The execution's input, as a JSON string. */
  input?: string | null;
}

/** The generation whose own run this was; delivery-only runs (they carry a notification) held no slot. */
export function generationOfRun(input: string | null | undefined): string | null {
  if (!input) return null;
  try {
    const parsed = JSON.parse(input) as { generation_id?: unknown; notification?: unknown };
    return typeof parsed.generation_id === 'string' && parsed.notification === undefined ? parsed.generation_id : null;
  } catch {
    return null;
  }
}
