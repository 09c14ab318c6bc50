import type { Reporter, TestModule } from 'vitest/node';

/** At most this many lines of a failed test's own console.log/info output are repeated at the end. */
const FAILED_TEST_LINES = 10;
/** ... and of all failed tests together, so the closing lines stay readable. */
const ALL_FAILED_LINES = 20;
const LINE_CHARS = 400;

/**
 * Prints one plain closing line, "vitest: N passed, N failed, N skipped", so that CI (which reads
 * the last lines of the run) counts tests without knowing vitest's own summary format. Before it,
 * for each failed test, the last lines the test itself printed to stdout (the media tests' window
 * reports: what the user heard instead of the tone, packet counts): a CI log cut to its tail then
 * still says why a rare failure happened. stderr (process dumps) is left where vitest printed it.
 */
export default class SummaryReporter implements Reporter {
  private readonly stdoutByTest = new Map<string, string[]>();

  onUserConsoleLog(log: { content: string; type: 'stdout' | 'stderr'; taskId?: string }): void {
    if (log.type !== 'stdout' || !log.taskId) return;
    const lines = this.stdoutByTest.get(log.taskId) ?? [];
    for (const l of log.content.split('\n')) if (l.trim()) lines.push(l.length > LINE_CHARS ? `${l.slice(0, LINE_CHARS)}…` : l);
    this.stdoutByTest.set(log.taskId, lines.slice(-FAILED_TEST_LINES));
  }

  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    let passed = 0;
    let failed = 0;
    let skipped = 0;
    const repeat: string[] = [];
    for (const mod of testModules) {
      for (const test of mod.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') passed++;
        else if (state === 'failed') {
          failed++;
          const lines = this.stdoutByTest.get(test.id);
          if (lines?.length) repeat.push(`--- what "${test.fullName}" printed last ---`, ...lines);
        } else skipped++;
      }
    }
    if (repeat.length) process.stdout.write(`\n${repeat.slice(0, ALL_FAILED_LINES).join('\n')}\n`);
    process.stdout.write(`\nvitest: ${passed} passed, ${failed} failed, ${skipped} skipped\n`);
  }
}
