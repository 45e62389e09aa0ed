// Starts writing the machine's dirty pages back to disk, without waiting for it.
//
// Data a helper build has just unpacked into a cache mount sit in memory until the kernel writes
// them back. The next build step that runs on an overlay root (the user's first RUN) syncs the
// whole filesystem when its root is unmounted, and would wait for all of it there. Started right
// after the helper build, the writeback overlaps the next build's start (the client, the
// frontend, the layer-cache lookups) instead of adding to its first step.
import { startDetached } from './exec.ts';

/** Runs `program` (sync(1)) detached; a machine without it writes the data back later anyway. */
export function startWriteback(program = 'sync'): void {
  startDetached(program);
}
