// What the module graph is, for the cache-mount keys: a hash of every go.sum and go.work.sum under
// the context (their paths and contents), so a dependency change starts a new key.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** 16 hex digits of the sums under `context` (6 levels deep, not .git, node_modules or vendor), or `nosum`. */
export function goSumHash(context: string): string {
  const h = createHash('sha256');
  let found = false;
  const walk = (dir: string, depth: number) => {
    if (depth > 6) return;
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      if (e.name === '.git' || e.name === 'node_modules' || e.name === 'vendor') continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p, depth + 1);
      else if (e.name === 'go.sum' || e.name === 'go.work.sum') {
        found = true;
        h.update(p.slice(context.length)).update(readFileSync(p));
      }
    }
  };
  walk(context, 0);
  return found ? h.digest('hex').slice(0, 16) : 'nosum';
}
