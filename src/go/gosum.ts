// What the module graph is, for the cache-mount keys: a hash of every go.sum and go.work.sum under
// the context (their paths and contents), so a dependency change starts a new key. The context is
// outside input (a pull request's checkout): a go.sum that is a link to /dev/zero, a directory or
// a FIFO, or a huge one, must not hang or exhaust the step, and an unreadable folder must not fail
// it. Such an entry is hashed by what it is, not read.
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { readRegularFile } from '../io/files.ts';

/** Largest go.sum read; a larger one counts by its size (a real one is a few MiB at most). */
export const MAX_GO_SUM_BYTES = 64 * 1024 * 1024;

/** 16 hex digits of the sums under `context` (6 levels deep, not .git, node_modules or vendor), or `nosum`. */
export function goSumHash(context: string): string {
  const h = createHash('sha256');
  let found = false;
  const walk = (dir: string, depth: number) => {
    if (depth > 6) return;
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return; // Unreadable: Go could not read its sums either; the key goes on without them.
    }
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name === '.git' || e.name === 'node_modules' || e.name === 'vendor') continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p, depth + 1);
      else if (e.name === 'go.sum' || e.name === 'go.work.sum') {
        found = true;
        const sum = readRegularFile(p, MAX_GO_SUM_BYTES);
        h.update(p.slice(context.length)).update('bytes' in sum ? sum.bytes : `\0${sum.not}`);
      }
    }
  };
  walk(context, 0);
  return found ? h.digest('hex').slice(0, 16) : 'nosum';
}
