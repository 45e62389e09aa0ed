// The restore phase of the main step: which cache mounts the build gets, and their state put back
// into the builder before it runs. The state itself, its keys and transport, is restore.ts's and its
// layers'; this only chooses the mounts and calls restoreCacheMounts with the run's facts.
import { sharesHostNetwork } from '../buildx/builder.ts';
import { startBasePrefetch, type BasePrefetch } from '../buildx/prefetch.ts';
import type { BuilderSetup } from '../buildx/setup.ts';
import { cacheMountsFromInput, discoverCacheMounts, type CacheMount } from './discover.ts';
import { restoreCacheMounts, type CacheRestoreState } from './index.ts';
import type { Dockerfile } from '../dockerfile/parse.ts';
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

/**
 * Restores `mounts` (none: nothing to do) and sets the `cache-hit` output. The builder pulls the
 * build's base images meanwhile (src/buildx/prefetch.ts); the build phase reports or stops that.
 */
export async function restorePhase(
  host: Host,
  opts: {
    mounts: CacheMount[];
    inputs: Inputs;
    goVersion: string;
    runId: string;
    builder: BuilderSetup;
    workDir: string;
    dockerfile: Dockerfile;
    buildArgs: ReadonlyMap<string, string>;
  },
): Promise<{ cache?: CacheRestoreState; prefetch?: BasePrefetch }> {
  const { mounts, inputs, builder } = opts;
  const { log, env } = host;
  if (mounts.length === 0) return {};
  const prefetch = startBasePrefetch(host, opts);
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
  host.setOutput(
    'cache-hit',
    JSON.stringify(Object.fromEntries(state.mounts.map((m) => [m.label, m.hit]))),
  );
  return { cache: state, prefetch };
}
