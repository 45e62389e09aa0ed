// The build phase: the user's build on the chosen builder, with what the action adds (the Go
// version build-arg, its secrets, proxy args), its output streamed to the host, pushes retried on
// passing registry errors and a failed push explained. Sets the digest, imageid and metadata outputs.
import path from 'node:path';
import type { Dockerfile } from '../dockerfile/parse.ts';
import type { BuildExtras } from '../go/private.ts';
import type { Host } from '../host.ts';
import type { Inputs } from '../inputs.ts';
import { partTagFor } from '../merge/parts.ts';
import type { RegistryClient } from '../registry/client.ts';
import { buildxArgs, secretEnv, type BuildPlan } from './args.ts';
import type { LayerCache } from './layer-cache.ts';
import { runBuild, type BuildResult } from './build.ts';
import { cachedStepCount, cacheMountStepsRan } from './cache-steps.ts';
import type { BasePrefetch } from './prefetch.ts';
import { withPushExplanation } from './push-failure.ts';
import type { BuilderSetup } from './setup.ts';

/** A build as it ran: enough to run the same build again with other outputs (it is all cached). */
export interface BuildRecipe {
  /** The inputs, with the builder that ran them. */
  inputs: Inputs;
  plan: Omit<BuildPlan, 'metadataFile'>;
  env: NodeJS.ProcessEnv;
  /** The builder's driver (what a second build can export depends on it). */
  driver: string;
}

export interface Built extends BuildRecipe {
  result: BuildResult;
  /** Whether a step with a cache mount ran (src/buildx/cache-steps.ts); undefined: not known. */
  cacheStepsRan?: boolean;
  /** Dockerfile steps taken from a cache, of all (src/buildx/cache-steps.ts); undefined: not known. */
  cachedSteps?: { cached: number; steps: number };
  /** The run it belongs to: its id and scratch directory. */
  runId: string;
  workDir: string;
}

/** Runs `docker buildx build` of `recipe`, its output streamed to the host. */
export function runRecipe(
  host: Pick<Host, 'buildOutput' | 'buildProgress'>,
  recipe: Pick<BuildRecipe, 'inputs' | 'plan' | 'env'>,
  metadataFile: string,
  opts: Pick<Parameters<typeof runBuild>[0], 'attempts' | 'onRetry'> = {},
): Promise<BuildResult> {
  return runBuild({
    args: buildxArgs(recipe.inputs, { ...recipe.plan, metadataFile }),
    env: recipe.env,
    metadataFile,
    onOutput: (c) => host.buildOutput(c),
    terminal: host.buildProgress === 'tty',
    ...opts,
  });
}

export async function buildPhase(
  host: Host,
  opts: {
    inputs: Inputs;
    builder: BuilderSetup;
    dockerfile: Dockerfile;
    buildArgs: Map<string, string>;
    extras: BuildExtras;
    runId: string;
    workDir: string;
    registry: RegistryClient;
    layerCache?: LayerCache;
    /** The base images' pull started during the restore: reported (or stopped) once the build ends. */
    prefetch?: BasePrefetch;
  },
): Promise<Built> {
  const { inputs, builder, extras } = opts;
  const { log, env } = host;
  const plan = {
    dockerfile: opts.dockerfile.file,
    buildArgs: opts.buildArgs,
    extraSecrets: extras.secrets,
    envBuildArgs: extras.envBuildArgs,
    partTag:
      inputs.pushByDigest && builder.info.driver === 'docker'
        ? partTagFor(opts.runId, inputs.platforms)
        : undefined,
    progress: host.buildProgress ?? 'plain',
    layerCache: opts.layerCache,
  };
  if (plan.partTag)
    log.info(
      `the docker driver cannot push by digest alone: pushing under the per-run tag ${plan.partTag} (a docker-container or remote builder pushes untagged)`,
    );
  const recipe: BuildRecipe = {
    inputs: { ...inputs, builder: builder.name ?? '' },
    plan,
    env: { ...env, ...secretEnv(inputs), ...extras.env },
    driver: builder.info.driver,
  };
  const result = await log
    .group(`Build ${inputs.platforms.join(', ')}`, () =>
      runRecipe(host, recipe, path.join(opts.workDir, 'metadata.json'), {
        onRetry: (next, attempts, why) =>
          log.warning(
            `the push failed with what looks like a passing registry error (${why}); building and pushing again, attempt ${next} of ${attempts} (every step is cached)`,
          ),
      }).catch(async (e: unknown) => {
        throw await withPushExplanation(e, opts.registry);
      }),
    )
    .finally(() => opts.prefetch?.finish());
  host.setOutput('digest', result.digest);
  host.setOutput('imageid', result.imageId);
  host.setOutput('metadata', JSON.stringify(result.metadata));
  const cacheStepsRan = result.logComplete ? cacheMountStepsRan(result.log) : undefined;
  const cachedSteps = cachedStepCount(result.log);
  return {
    ...recipe,
    result,
    cacheStepsRan,
    cachedSteps,
    runId: opts.runId,
    workDir: opts.workDir,
  };
}
