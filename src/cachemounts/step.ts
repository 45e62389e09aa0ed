// The restore phase of the main step: which cache mounts the build gets, and their state put back
// into the builder before it runs. The state itself, its keys and transport, is restore.ts's and its
// layers'; this only chooses the mounts and calls restoreCacheMounts with the run's facts.
// Meanwhile the builder pulls and unpacks the build's base images (src/buildx/prefetch.ts): the
// restore waits on the cache service and the host, the pull on the registry, so on a fresh runner
// the two waits overlap instead of adding up.
import { sharesHostNetwork } from '../buildx/builder.ts';
import { prefetchBases, type PrefetchOutcome } from '../buildx/prefetch.ts';
import type { BuilderSetup } from '../buildx/setup.ts';
import { cacheMountsFromInput, discoverCacheMounts, type CacheMount } from './discover.ts';
import { restoreCacheMounts, type CacheRestoreState } from './index.ts';
import type { Dockerfile } from '../dockerfile/parse.ts';
import { basesToPrefetch } from '../dockerfile/prefetch.ts';
import { goSumHash } from '../go/gosum.ts';
import type { Host } from '../host.ts';
import type { Inputs } from '../inputs.ts';

/** The mounts to restore: none, the Dockerfile's (`auto`), or the ones the input lists. */
export function cacheMountsToRestore(inputs: Inputs, dockerfile: Dockerfile): CacheMount[] {
  if (inputs.cacheMounts === 'false' || inputs.noCache) return [];
  return inputs.cacheMounts === 'auto'
    ? discoverCacheMounts(dockerfile, inputs.buildArgs)
    : cacheMountsFromInput(inputs.cacheMounts);
}

/** Restores `mounts` (none: nothing to do) and sets the `cache-hit` output. */
export async function restorePhase(
  host: Host,
  opts: {
    mounts: CacheMount[];
    inputs: Inputs;
    goVersion: string;
    runId: string;
    builder: BuilderSetup;
    workDir: string;
    /** The build's Dockerfile and build-args: their base images are pulled during the restore. */
    dockerfile: Dockerfile;
    buildArgs: ReadonlyMap<string, string>;
  },
): Promise<CacheRestoreState | undefined> {
  const { mounts, inputs, builder } = opts;
  const { log, env } = host;
  if (mounts.length === 0) return undefined;
  const bases = basesToPrefetch(opts.dockerfile, opts.buildArgs, inputs.target || undefined);
  let prefetch: Promise<PrefetchOutcome> | undefined;
  if (bases.length > 0) {
    log.info(
      `pulling the base image${bases.length > 1 ? 's' : ''} ${bases.map((b) => b.image).join(', ')} into the builder while the cache mounts are restored`,
    );
    prefetch = prefetchBases({
      bases,
      builder: builder.name,
      platforms: inputs.platforms,
      workDir: opts.workDir,
      pull: inputs.pull,
      env,
    });
  }
  // Whether the helper builds can use the loopback channel (the faster path, builder.ts).
  const direct = await sharesHostNetwork(builder.info, env['DOCKER_HOST']);
  const state = await log.group('Restore cache mounts', () =>
    restoreCacheMounts(
      mounts,
      {
        goVersion: opts.goVersion,
        goSumHash: goSumHash(inputs.context),
        platforms: inputs.platforms,
        userKey: inputs.cacheKey,
        runId: opts.runId,
        runAttempt: env['GITHUB_RUN_ATTEMPT'] ?? '1',
      },
      {
        builder: builder.name,
        groups: builder.groups,
        direct,
        helperImage: inputs.cacheHelperImage,
        workDir: opts.workDir,
        log,
        timeoutMs: inputs.cacheTimeoutSeconds * 1000,
      },
    ),
  );
  if (prefetch) {
    const done = await prefetch;
    if (done.ok)
      log.info(`base images ready (${done.seconds.toFixed(1)} s after the pull started)`);
    else
      log.info(
        `the base images were not pulled ahead (${lastLine(done.error)}); the build pulls them itself`,
      );
  }
  host.setOutput(
    'cache-hit',
    JSON.stringify(Object.fromEntries(state.mounts.map((m) => [m.label, m.hit]))),
  );
  return state;
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
