// Actions cache keys for cache-mount state. Entries are immutable, so each run saves under a key of
// its own and restores by prefix.
//
// A full entry holds a mount's whole state: newest entry with the same Go patch and go.sum first,
// then any go.sum for that Go patch, then any patch of the minor. A delta entry holds what runs
// after it changed since one full entry; its key starts with a prefix made of that full entry's key
// (deltaPrefix), so a delta is found only through the full entry it extends, never by the full
// entries' prefixes (`-cm-d1-` is not `-cm-v1-`), and a delta of an evicted full entry is never
// read again.
import { createHash } from 'node:crypto';
import type { CacheMount } from '../discover.ts';

export interface KeyParts {
  mount: CacheMount;
  goVersion: string;
  goSumHash: string;
  platforms: string[];
  userKey: string;
  runId: string;
  runAttempt: string;
}

const short = (s: string, n = 12) => createHash('sha256').update(s).digest('hex').slice(0, n);

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

/** Every delta of the full entry saved as `fullKey` starts with this (the newest one wins). */
export function deltaPrefix(fullKey: string): string {
  return `build-go-image-cm-d1-${short(fullKey, 24)}-`;
}

/** The key a run saves a delta of `fullKey` under; `runSuffix` (run id and attempt) makes it unique. */
export function deltaKey(fullKey: string, runSuffix: string): string {
  return `${deltaPrefix(fullKey)}${runSuffix}`;
}
