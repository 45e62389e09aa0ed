// What the restore (main step) hands to the save (post step) about each mount, and what both need
// to drive the transport for one builder node's mounts.
import type { NodeGroup } from '../buildx/nodes.ts';
import type { Logger } from '../log.ts';
import type { CacheMount } from './discover.ts';
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
