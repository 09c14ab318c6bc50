/**
 * Runs a call's inputs (webhook events, PBX requests, timers) one at a time, in arrival order, so
 * the call's state machine never sees two inputs interleaved across an await.
 * A failing task is reported to onError and does not stop the queue.
 */
export class SerialQueue {
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly onError: (err: unknown) => void) {}

  push(task: () => void | Promise<void>): Promise<void> {
    const run = this.tail.then(task).catch(this.onError);
    this.tail = run;
    return run;
  }

  /** Resolves when everything queued so far has run. */
  idle(): Promise<void> {
    return this.tail;
  }
}
