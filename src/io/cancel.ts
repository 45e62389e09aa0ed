// Cancellation: the runner sends SIGINT (then SIGTERM) to a cancelled step. Node's default would
// exit at once and orphan running docker commands, which keep building or pushing; and `finally`
// blocks would not run, leaving locks and half-written files behind.
import { terminateChildren } from './exec.ts';

const cleanups = new Set<() => void>();

/** Registers a synchronous cleanup to run if the process is cancelled; returns its remover. */
export function onCancel(cleanup: () => void): () => void {
  cleanups.add(cleanup);
  return () => cleanups.delete(cleanup);
}

export function installCancelHandlers(opts: {
  /** Called first (synchronously): record state, print what was interrupted. */
  report: (signal: NodeJS.Signals) => void;
  exitCode: number;
}): void {
  let cancelling = false;
  const handle = (signal: NodeJS.Signals) => {
    if (cancelling) return;
    cancelling = true;
    opts.report(signal);
    void terminateChildren(signal).finally(() => {
      // Last registered first, like nested finally blocks (files before the lock guarding them).
      for (const c of [...cleanups].reverse()) {
        try {
          c();
        } catch {
          /* best effort: the process is ending */
        }
      }
      process.exit(opts.exitCode);
    });
  };
  process.on('SIGINT', handle);
  process.on('SIGTERM', handle);
}
