/**
 * What a test process must undo if it ends without its tests cleaning up (a crash, a timeout, a
 * worker killed): child processes to SIGKILL, port locks to remove. One 'exit' hook per process,
 * kept on globalThis: vitest evaluates support modules afresh for every test file of a worker, and
 * a hook per module instance (or per child) piled up past Node's listener warning.
 */
type Undo = () => void;

const undos: Set<Undo> = ((globalThis as Record<symbol, unknown>)[Symbol.for('watrunk.test.exitGuard')] ??= (() => {
  const set = new Set<Undo>();
  process.once('exit', () => {
    for (const undo of set) {
      try { undo(); } catch { /* already gone */ }
    }
  });
  return set;
})()) as Set<Undo>;

/** Runs `undo` if the process exits while it is registered; the returned function unregisters it. */
export function onProcessExit(undo: Undo): () => void {
  undos.add(undo);
  return () => { undos.delete(undo); };
}
