// A lock across processes on one machine, for the one fixed path the cache client must use: two
// jobs on a shared self-hosted machine would otherwise overwrite each other's archive.
// mkdir is atomic; the owner's pid lets a later process break the lock of one that was killed.
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { onCancel } from './cancel.ts';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function olderThan(dir: string, ms: number): boolean {
  try {
    return Date.now() - statSync(dir).mtimeMs > ms;
  } catch {
    return false;
  }
}

function tryTake(dir: string): boolean {
  try {
    mkdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    let owner = NaN;
    try {
      owner = Number(readFileSync(path.join(dir, 'pid'), 'utf8'));
    } catch {
      /* the owner has not written its pid yet, or the lock was just released */
    }
    const ownerless = !Number.isInteger(owner) || owner <= 0;
    if (ownerless ? olderThan(dir, 60_000) : !alive(owner)) {
      rmSync(dir, { recursive: true, force: true });
      return tryTake(dir);
    }
    return false;
  }
  writeFileSync(path.join(dir, 'pid'), String(process.pid));
  return true;
}

/** Runs `fn` holding the lock; throws if the lock is not free within `waitMs`. */
export async function withLock<T>(dir: string, waitMs: number, fn: () => Promise<T>): Promise<T> {
  mkdirSync(path.dirname(dir), { recursive: true });
  const until = Date.now() + waitMs;
  while (!tryTake(dir)) {
    if (Date.now() > until)
      throw new Error(`${dir} is held by another process for more than ${waitMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const release = () => rmSync(dir, { recursive: true, force: true });
  const forget = onCancel(release);
  try {
    return await fn();
  } finally {
    forget();
    release();
  }
}
