// The layer cache the action keeps by itself when the user names none: BuildKit's `gha` cache
// backend against the repository's Actions cache, so that the next fresh runner finds the build's
// steps already done. What to pass and why is decided by a pure function (planLayerCache) from
// facts gathered once (layerCacheStep).
//
// - mode=min: the cache keys of every step, but layers only for the final image (the compiled
//   program on top of scratch or a small base). A run whose sources did not change is then a full
//   cache hit that needs no base-image pull; the build stage's layers (golang plus module
//   downloads, hundreds of MB) are never stored, they are cheaper to pull from their registry.
// - Scoped per image and platform set: `build-go-image-<image>-<platforms>`, made of letters,
//   digits and `.`, `_`, `-` only (buildx reads the option as CSV; a cache key holds no comma).
// - ignore-error=true: a cache service that fails never fails the build (an import that fails is
//   a miss in any case); timeout= the cache-timeout input, so a service that hangs is bounded.
// - Written only where the action writes caches at all (not on untrusted events by default).
// - The token and service URLs are never put on the command line: buildx reads
//   ACTIONS_RUNTIME_TOKEN, ACTIONS_CACHE_URL and ACTIONS_RESULTS_URL from its environment.
import { createHash } from 'node:crypto';
import path from 'node:path';
import semver from 'semver';
import type { Inputs } from '../inputs.ts';
import type { Logger } from '../log.ts';
import { repositoryOf } from '../merge/parts.ts';
import { dockerUsesContainerdStore, type BuilderInfo } from './builder.ts';
import type { EngineVersions } from './versions.ts';

/** buildx and BuildKit from which the `gha` backend speaks the cache service's v2 protocol. */
export const GHA_V2_MINIMUM = { buildx: '0.21.0', buildkit: '0.20.0', dockerEmbedding: '28.0.0' };

export interface LayerCacheFacts {
  /** The `layer-cache` input. */
  mode: 'auto' | 'off';
  cacheFrom: string[];
  cacheTo: string[];
  noCache: boolean;
  tags: string[];
  /** The Dockerfile's path as given (names the image when there are no tags). */
  dockerfile: string;
  target: string;
  platforms: string[];
  /** The cache-key input: keeps layer caches of builds that are otherwise alike apart too. */
  cacheKey: string;
  /** The cache-timeout input: how long BuildKit may spend on the import, and on the export. */
  timeoutSeconds: number;
  /** Whether this run may write caches (the cache-mount save's decision: event and input). */
  saveAllowed: boolean;
  /** The runner's environment (only the ACTIONS_* cache variables are read). */
  env: Record<string, string | undefined>;
  buildx: string;
  docker: string;
  driver: string;
  /** Whether a docker driver runs on the containerd image store (it can then export caches). */
  containerdStore: boolean;
  /** Each builder node's BuildKit version as reported (undefined when it reports none). */
  buildkit: (string | undefined)[];
}

export interface LayerCache {
  /** `--cache-from` and `--cache-to` values the action adds (empty when it keeps no layer cache). */
  from: string[];
  to: string[];
  scope?: string;
  /** One line for the log: what is kept where, or why not. */
  reason: string;
  /** True when the reason deserves a notice (a setting or an engine the user may want to change). */
  notice?: boolean;
}

const off = (reason: string, notice = false): LayerCache => ({ from: [], to: [], reason, notice });

/** Letters, digits, `.`, `_`, `-`; anything else becomes `-`, and runs of `-` one. */
function safe(text: string): string {
  return text
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '');
}

/**
 * The cache scope of an image and platform set: the first tag's repository (else the Dockerfile's
 * path), the target, the cache-key input, then the platforms, in safe characters and cut to 100,
 * then a hash of the exact parts: two names never share a scope by reading alike or being cut.
 */
export function layerCacheScope(
  facts: Pick<LayerCacheFacts, 'tags' | 'dockerfile' | 'target' | 'platforms' | 'cacheKey'>,
): string {
  const image = facts.tags[0] ? repositoryOf(facts.tags[0]) : `dockerfile-${facts.dockerfile}`;
  const name = [image, facts.target, facts.cacheKey].filter(Boolean).join('-');
  const platforms = facts.platforms.map((p) => safe(p.replace(/\//g, '-'))).join('_');
  const whole = `build-go-image-${safe(name)}-${platforms}`;
  // The readable name is lossy ('a b', 'a/b' and 'a-b' read alike; 'ghcr.io/o-a/b' reads as
  // 'ghcr.io/o/a-b'; target 'x' of image r as image 'r-x'; a cache-key of symbols as none), so a
  // hash of the exact parts follows it: two images never share, and overwrite, one scope.
  const hash = createHash('sha256')
    .update(JSON.stringify([image, facts.target, facts.cacheKey, facts.platforms]))
    .digest('hex')
    .slice(0, 12);
  return `${whole.slice(0, 100).replace(/[-.]+$/, '')}-${hash}`;
}

const truthy = (v: string | undefined) => /^(1|t|true)$/i.test((v ?? '').trim());

/** Whether the engine's `gha` backend speaks v2 (the protocol hosted runners now offer). */
function speaksV2(facts: LayerCacheFacts): string | undefined {
  if (semver.lt(facts.buildx, GHA_V2_MINIMUM.buildx)) return `buildx ${facts.buildx}`;
  // dockerd's own BuildKit reports no version (v0.0.0+unknown): Docker 28.0 embeds BuildKit 0.20.
  const versions =
    facts.driver === 'docker' && facts.buildkit.every((b) => !b)
      ? semver.lt(facts.docker, GHA_V2_MINIMUM.dockerEmbedding)
        ? [`the BuildKit of Docker ${facts.docker}`]
        : []
      : facts.buildkit
          .filter((b): b is string => Boolean(b) && semver.lt(b!, GHA_V2_MINIMUM.buildkit))
          .map((b) => `BuildKit ${b}`);
  return versions[0];
}

/** What the action adds to the build's layer cache options, and why. */
export function planLayerCache(facts: LayerCacheFacts): LayerCache {
  if (facts.mode === 'off') return off('layer cache: off (layer-cache: off)');
  if (facts.cacheFrom.length > 0 || facts.cacheTo.length > 0)
    return off('layer cache: the cache-from/cache-to given are used instead of the action’s own');
  if (facts.noCache) return off('layer cache: off (no-cache)');
  const env = facts.env;
  const token = env['ACTIONS_RUNTIME_TOKEN'];
  const v2 = truthy(env['ACTIONS_CACHE_SERVICE_V2']);
  const url = v2 ? env['ACTIONS_RESULTS_URL'] : env['ACTIONS_CACHE_URL'];
  if (!token || !url) return off('layer cache: off (no Actions cache service in this environment)');
  if (v2) {
    const old = speaksV2(facts);
    if (old)
      return off(
        `layer cache: off: ${old} cannot use the Actions cache service this runner offers (v2 needs buildx ${GHA_V2_MINIMUM.buildx} and BuildKit ${GHA_V2_MINIMUM.buildkit} or newer: docker/setup-buildx-action)`,
        true,
      );
  }
  if (facts.driver === 'docker' && !facts.containerdStore)
    return off(
      'layer cache: off: the docker driver on the classic image store cannot export a cache (a docker-container builder or the containerd image store can)',
      true,
    );
  const scope = layerCacheScope(facts);
  // A service that hangs costs at most the timeout (BuildKit's default is 10 minutes); a failed
  // import is a miss and, with ignore-error, a failed export a warning line in the build log.
  const common = `type=gha,scope=${scope},timeout=${facts.timeoutSeconds}s`;
  const from = [common];
  const to = facts.saveAllowed ? [`${common},mode=min,ignore-error=true`] : [];
  return {
    from,
    to,
    scope,
    reason: `layer cache: Actions cache (gha, v${v2 ? 2 : 1}), scope ${scope}, ${facts.saveAllowed ? 'read and written (mode=min: the final image’s layers only)' : 'read only (caches are not written on this event)'}`,
  };
}

/**
 * The layer cache of this run, logged: the facts the decision needs that the caller does not hold
 * (whether a docker driver runs on the containerd store) are read here.
 */
export async function layerCacheStep(opts: {
  inputs: Inputs;
  env: NodeJS.ProcessEnv;
  versions: EngineVersions;
  builder: { info: BuilderInfo };
  saveAllowed: boolean;
  log: Logger;
}): Promise<LayerCache> {
  const { inputs } = opts;
  const info = opts.builder.info;
  const lc = planLayerCache({
    mode: inputs.layerCache,
    cacheFrom: inputs.cacheFrom,
    cacheTo: inputs.cacheTo,
    noCache: inputs.noCache,
    tags: inputs.tags,
    dockerfile: inputs.file || path.join(inputs.context, 'Dockerfile'),
    target: inputs.target,
    platforms: inputs.platforms,
    cacheKey: inputs.cacheKey,
    timeoutSeconds: inputs.cacheTimeoutSeconds,
    saveAllowed: opts.saveAllowed,
    env: opts.env,
    buildx: opts.versions.buildx,
    docker: opts.versions.docker,
    driver: info.driver,
    containerdStore: info.driver === 'docker' && (await dockerUsesContainerdStore()),
    buildkit: info.nodes.map((n) => n.buildkit),
  });
  if (lc.notice) opts.log.notice(lc.reason);
  else opts.log.info(lc.reason);
  return lc;
}
