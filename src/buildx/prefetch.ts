// Pulls and unpacks the build's base images in the builder while the cache mounts are restored:
// the restore waits on the cache service and the host, the pull on the registry, so on a fresh
// runner the two waits overlap instead of adding up. Best effort: the build pulls whatever this did
// not, so a failure here only costs the overlap. The build does not wait for it either: BuildKit
// shares a pull in flight with the build that needs the same image, and a build that needs no base
// at all (every step cached) ends without it; the pull is then stopped.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { getErrorMessage } from '../errors.ts';
import type { Dockerfile } from '../dockerfile/parse.ts';
import {
  basesToPrefetch,
  prefetchDockerfile,
  type BaseToPrefetch,
} from '../dockerfile/prefetch.ts';
import type { Host } from '../host.ts';
import type { Inputs } from '../inputs.ts';
import type { BuilderSetup } from './setup.ts';
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

/** A prefetch under way; `finish` reports it, stopping it first if it is still running. */
export interface BasePrefetch {
  finish(): Promise<void>;
}

/** Starts pulling the build's base images, when the Dockerfile names a base the build unpacks. */
export function startBasePrefetch(
  host: Pick<Host, 'log' | 'env'>,
  opts: {
    inputs: Inputs;
    builder: BuilderSetup;
    dockerfile: Dockerfile;
    buildArgs: ReadonlyMap<string, string>;
    workDir: string;
  },
): BasePrefetch | undefined {
  const { log } = host;
  const bases = basesToPrefetch(opts.dockerfile, opts.buildArgs, opts.inputs.target || undefined);
  if (bases.length === 0) return undefined;
  log.info(
    `pulling the base image${bases.length > 1 ? 's' : ''} ${bases.map((b) => b.image).join(', ')} into the builder while the cache mounts are restored`,
  );
  const stop = new AbortController();
  let outcome: PrefetchOutcome | undefined;
  const running = prefetchBases({
    bases,
    builder: opts.builder.name,
    platforms: opts.inputs.platforms,
    workDir: opts.workDir,
    pull: opts.inputs.pull,
    env: host.env,
    signal: stop.signal,
  }).then((o) => (outcome = o));
  return {
    async finish() {
      if (!outcome) {
        stop.abort();
        await running;
        log.info('the build ended before the base images were pulled ahead: that pull was stopped');
      } else if (outcome.ok)
        log.info(`base images ready (${outcome.seconds.toFixed(1)} s after the pull started)`);
      else
        log.info(
          `the base images were not pulled ahead (${lastLine(outcome.error)}); the build pulled them itself`,
        );
    },
  };
}

function lastLine(text = ''): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .at(-1) ?? 'no reason given'
  );
}
