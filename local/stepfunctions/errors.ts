/** A failure the Step Functions API reports by this name (ExecutionDoesNotExist, …). */
export class LocalSfnError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}
