// What the restore (main step) hands to the save (post step) about each mount, and what both need
// to drive the transport for one builder node's mounts.
import type { NodeGroup } from '../buildx/nodes.ts';
import path from 'node:path';
import { image } from '../input-grammar.ts';
import type { Logger } from '../log.ts';
import { parseCacheMountSpec, type CacheMount } from './discover.ts';
import type { HelperRoot } from './transport/index.ts';

export interface MountState {
  mount: CacheMount;
  /** The mount id, or `id@platforms` when the builder's nodes each keep their own mounts. */
  label: string;
  /** The builder node this state lives on (empty for a builder with one node), its platforms. */
  node: string;
  platforms: string[];
  /** Helper builds ask for this platform so that buildx sends them to `node`. */
  helperPlatform: string;
  key: string;
  restoreKeys: string[];
  /** exact | partial | miss | error */
  hit: string;
  matchedKey?: string;
  /** The delta of matchedKey applied on restore. */
  deltaKey?: string;
  /** What the restored full entry held (store/manifest.ts), for the save to find what changed. */
  manifestFile?: string;
  /** This run's id and attempt: a delta this run saves is named with them (else the time). */
  runSuffix?: string;
  restoredBytes: number;
  seconds: number;
}

export interface CacheRestoreState {
  builder?: string;
  /** The builder's BuildKit runs on this machine with its network: try the loopback path. */
  direct?: boolean;
  helperImage: string;
  /** What the helper ran on in the restore, for the save to start from (transport/). */
  helperRoot?: HelperRoot;
  workDir: string;
  mounts: MountState[];
}

export interface TransferOptions {
  builder?: string;
  /** Where the requested platforms build: one group per builder node (nodeGroups). */
  groups: NodeGroup[];
  /** The builder's BuildKit runs on this machine with its network: try the loopback path. */
  direct?: boolean;
  helperImage: string;
  workDir: string;
  log: Logger;
  /** Bound on the whole restore (lock wait, download, inject); default 10 minutes. */
  timeoutMs?: number;
}

export const DEFAULT_CACHE_TIMEOUT_MS = 600_000;

/** Groups items by the builder node their state lives on, in first-seen order. */
export function byNode<T>(items: T[], stateOf: (item: T) => MountState): T[][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const ms = stateOf(item);
    const k = `${ms.node}\0${ms.helperPlatform}`;
    groups.set(k, [...(groups.get(k) ?? []), item]);
  }
  return [...groups.values()];
}

/**
 * What a transfer of one node's mounts (`batch`) is told: the builder and its node, the helper,
 * a tag for its log, and where its findings go. `fallback` names the path taken when the loopback
 * channel is not usable. A helper root found to work is kept in the state: the restore's finding
 * carries over to the save.
 */
export function transferTarget(
  state: CacheRestoreState,
  batch: MountState[],
  fallback: 'build context' | 'build export',
  log: Logger,
) {
  return {
    builder: state.builder,
    direct: state.direct,
    onLoopbackFailure: (why: string) =>
      log.info(`cache mounts: loopback transfer not usable (${why}); using the ${fallback}`),
    helperRoot: state.helperRoot,
    onHelperRoot: (root: HelperRoot, why: string) => {
      state.helperRoot = root;
      log.info(
        `cache mounts: the helper image ${state.helperImage} does not run from an empty root (${why}); it runs as its own root, which makes each transfer wait for the disk (a statically linked helper such as busybox does not)`,
      );
    },
    platform: batch[0]!.helperPlatform,
    helperImage: state.helperImage,
    workDir: state.workDir,
    runTag: `${batch.map((ms) => ms.key).join('+')}-${Date.now()}`,
  };
}

const isObject = (x: unknown): x is Record<string, unknown> =>
  typeof x === 'object' && x !== null && !Array.isArray(x);
const optional = (x: unknown, ok: (v: unknown) => boolean) => x === undefined || ok(x);
const matches = (re: RegExp) => (x: unknown) => typeof x === 'string' && re.test(x);
const count = (x: unknown) => typeof x === 'number' && Number.isFinite(x) && x >= 0;

const PLATFORM = matches(/^[a-z0-9]{1,16}\/[a-z0-9]{1,16}(\/v\d)?$/);
/** Keys as store/keys.ts writes them: full entries (`-cm-v1-`) and deltas (`-cm-d1-`). */
const KEY = matches(/^build-go-image-cm-(v1|d1)-[A-Za-z0-9._-]{1,300}$/);
const NAME = matches(/^[A-Za-z0-9_.-]{0,128}$/);
const isImage = (x: unknown) => {
  try {
    image(String(x), 'cache-helper-image');
    return typeof x === 'string';
  } catch {
    return false;
  }
};
const HITS = new Set(['exact', 'partial', 'miss', 'rejected', 'error', 'skipped', 'unavailable']);

/** The mount as parseCacheMountSpec would give it: the one grammar of a cache mount. */
function checkMount(x: unknown): x is CacheMount {
  if (!isObject(x) || typeof x['id'] !== 'string' || typeof x['target'] !== 'string') return false;
  const spec = [
    `type=cache`,
    `id=${x['id']}`,
    `target=${x['target']}`,
    `sharing=${String(x['sharing'])}`,
  ];
  for (const k of ['uid', 'gid', 'mode']) if (x[k] !== undefined) spec.push(`${k}=${String(x[k])}`);
  try {
    const m = parseCacheMountSpec(spec.join(','), '', (msg) => new Error(msg));
    return (
      m !== undefined &&
      m.id === x['id'] &&
      m.target === x['target'] &&
      m.uid === x['uid'] &&
      m.gid === x['gid'] &&
      m.mode === x['mode'] &&
      typeof x['where'] === 'string'
    );
  } catch {
    return false;
  }
}

function checkMountState(x: unknown): x is MountState {
  return (
    isObject(x) &&
    checkMount(x['mount']) &&
    matches(/^[A-Za-z0-9_./@+,-]{1,600}$/)(x['label']) &&
    NAME(x['node']) &&
    Array.isArray(x['platforms']) &&
    x['platforms'].length <= 32 &&
    x['platforms'].every(PLATFORM) &&
    PLATFORM(x['helperPlatform']) &&
    KEY(x['key']) &&
    Array.isArray(x['restoreKeys']) &&
    x['restoreKeys'].length <= 8 &&
    x['restoreKeys'].every(KEY) &&
    typeof x['hit'] === 'string' &&
    HITS.has(x['hit']) &&
    optional(x['matchedKey'], KEY) &&
    optional(x['deltaKey'], KEY) &&
    optional(x['manifestFile'], (v) => typeof v === 'string') &&
    optional(x['runSuffix'], matches(/^[A-Za-z0-9._-]{1,100}$/)) &&
    count(x['restoredBytes']) &&
    count(x['seconds'])
  );
}

/**
 * The cache part of the main -> post hand-over, checked field by field against what main writes,
 * or undefined. Post deletes only under `workDir` and saves only under these keys, so a value it
 * cannot trust must not name another directory (only a `build-go-image-<pid>` scratch folder, as
 * io/workdir.ts makes it), another cache's key, or a mount the Dockerfile grammar would refuse.
 */
export function checkCacheRestoreState(x: unknown): CacheRestoreState | undefined {
  if (!isObject(x)) return undefined;
  const workDir = x['workDir'];
  if (
    typeof workDir !== 'string' ||
    !path.isAbsolute(workDir) ||
    path.resolve(workDir) !== workDir ||
    !/^build-go-image-\d{1,10}$/.test(path.basename(workDir))
  )
    return undefined;
  if (
    !optional(x['builder'], matches(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/)) ||
    !optional(x['direct'], (v) => typeof v === 'boolean') ||
    !optional(x['helperRoot'], (v) => v === 'scratch' || v === 'image') ||
    !isImage(x['helperImage']) ||
    !Array.isArray(x['mounts']) ||
    x['mounts'].length > 256 ||
    !x['mounts'].every(checkMountState)
  )
    return undefined;
  return x as unknown as CacheRestoreState;
}
