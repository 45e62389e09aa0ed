// Actions cache keys for cache-mount state. Entries are immutable, so each run saves under a key of
// its own and restores by prefix: newest entry with the same Go patch and go.sum first, then any
// go.sum for that Go patch, then any patch of the minor.
import { createHash } from 'node:crypto';
import type { CacheMount } from './discover.ts';

export interface KeyParts {
  mount: CacheMount;
  goVersion: string;
  goSumHash: string;
  platforms: string[];
  userKey: string;
  runId: string;
  runAttempt: string;
}

const short = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 12);

export function cacheKeys(p: KeyParts): { key: string; restoreKeys: string[] } {
  const m = p.mount;
  const mountHash = short(
    [m.id, m.target, m.sharing, m.uid ?? '', m.gid ?? '', m.mode ?? ''].join('\0'),
  );
  const scope = short([...p.platforms].sort().join(',') + '\0' + p.userKey);
  const minor = p.goVersion.split('.').slice(0, 2).join('.');
  const base = `build-go-image-cm-v1-${mountHash}-${scope}-go${minor}`;
  const patch = `${base}-${p.goVersion}`;
  const withSum = `${patch}-${p.goSumHash}`;
  return {
    key: `${withSum}-${p.runId}-${p.runAttempt}`,
    restoreKeys: [`${withSum}-`, `${patch}-`, `${base}-`],
  };
}
