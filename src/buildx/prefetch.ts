// Pulls and unpacks the build's base images in the builder while the cache mounts are restored.
// Best effort: the build pulls whatever this did not, so a failure here only costs the overlap.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { getErrorMessage } from '../errors.ts';
import { prefetchDockerfile, type BaseToPrefetch } from '../dockerfile/prefetch.ts';
import { docker } from './command.ts';

export interface PrefetchOutcome {
  ok: boolean;
  seconds: number;
  error?: string;
}

export function prefetchArgs(opts: {
  builder?: string;
  platforms: readonly string[];
  dir: string;
  pull: boolean;
}): string[] {
  const a = ['buildx', 'build'];
  if (opts.builder) a.push('--builder', opts.builder);
  a.push('--file', path.join(opts.dir, 'Dockerfile'), '--platform', opts.platforms.join(','));
  if (opts.pull) a.push('--pull');
  a.push('--output', 'type=cacheonly', '--progress', 'plain', '--', opts.dir);
  return a;
}

/** Starts the prefetch; the promise never rejects (see PrefetchOutcome). */
export async function prefetchBases(opts: {
  bases: readonly BaseToPrefetch[];
  builder?: string;
  platforms: readonly string[];
  workDir: string;
  pull: boolean;
  env: NodeJS.ProcessEnv;
  signal?: AbortSignal;
}): Promise<PrefetchOutcome> {
  const started = Date.now();
  try {
    // An empty context of its own: nothing of the user's is sent for this build.
    const dir = path.join(opts.workDir, 'prefetch');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'Dockerfile'), prefetchDockerfile(opts.bases));
    await docker(prefetchArgs({ ...opts, dir }), {
      env: opts.env,
      signal: opts.signal,
      maxCapture: 64 * 1024,
    });
    return { ok: true, seconds: (Date.now() - started) / 1000 };
  } catch (e) {
    return { ok: false, seconds: (Date.now() - started) / 1000, error: getErrorMessage(e) };
  }
}
