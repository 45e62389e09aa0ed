// Cache-mount state across runners: restore (main step, before the build) and save (post step).
import * as cache from '@actions/cache';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { getErrorMessage } from '../errors.ts';
import { DeadlineError } from '../io/deadline.ts';
import type { Logger } from '../log.ts';
import type { CacheMount } from './discover.ts';
import { cacheKeys, type KeyParts } from './store/keys.ts';
import { restoreState, saveState, withTransferPath } from './store/index.ts';
import { extractMounts, injectMounts, type HelperRoot } from './transport/index.ts';
import type { NodeGroup } from '../buildx/nodes.ts';
import { ArchiveRejected, mountOwnership, normaliseArchive } from './archive/normalise.ts';

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

export async function restoreCacheMounts(
  mounts: CacheMount[],
  keyParts: Omit<KeyParts, 'mount'>,
  opts: TransferOptions,
): Promise<CacheRestoreState> {
  const state: CacheRestoreState = {
    builder: opts.builder,
    direct: opts.direct,
    helperImage: opts.helperImage,
    workDir: opts.workDir,
    mounts: [],
  };
  const available = cache.isFeatureAvailable();
  // Keys are scoped by the group's platforms: with one node that is every requested platform (as
  // it always was); with one node per platform each node restores and saves its own state.
  for (const group of opts.groups)
    for (const mount of mounts) {
      const { key, restoreKeys } = cacheKeys({ ...keyParts, platforms: group.platforms, mount });
      state.mounts.push({
        mount,
        label: opts.groups.length > 1 ? `${mount.id}@${group.platforms.join(',')}` : mount.id,
        node: group.node,
        platforms: group.platforms,
        helperPlatform: group.helperPlatform,
        key,
        restoreKeys,
        runSuffix: `${keyParts.runId}-${keyParts.runAttempt}`,
        hit: 'miss',
        restoredBytes: 0,
        seconds: 0,
      });
    }
  if (!available) {
    for (const ms of state.mounts) ms.hit = 'unavailable';
    return state;
  }
  const timeoutMs = opts.timeoutMs ?? DEFAULT_CACHE_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  try {
    await withTransferPath(timeoutMs, () => restoreEach(state, opts, deadline));
  } catch (e) {
    // Only the lock wait ends up here; each mount's own failure is handled in restoreEach.
    for (const ms of state.mounts) if (ms.hit === 'miss') ms.hit = 'error';
    opts.log.warning(`cache mounts not restored, building cold: ${getErrorMessage(e)}`);
  }
  return state;
}

/**
 * Downloads and checks each mount's archive in turn (they share the one transfer path), then
 * injects all that passed in one helper build.
 */
async function restoreEach(
  state: CacheRestoreState,
  opts: TransferOptions,
  deadline: number,
): Promise<void> {
  const ready: { ms: MountState; tarFile: string; files: number }[] = [];
  for (const [i, ms] of state.mounts.entries()) {
    const { key, restoreKeys } = ms;
    if (Date.now() >= deadline) {
      ms.hit = 'skipped';
      continue;
    }
    const started = Date.now();
    const dir = path.join(opts.workDir, `mount-${i}`, 'restore');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    try {
      const manifestFile = path.join(opts.workDir, `mount-${i}`, 'manifest.json');
      const restored = await restoreState({
        key,
        restoreKeys,
        dir,
        manifestFile,
        deadline,
        label: ms.label,
        log: opts.log,
      });
      ms.hit = restored.hit;
      ms.matchedKey = restored.matchedKey;
      if (!restored.tarFile) continue;
      const from = [restored.matchedKey, restored.deltaKey].filter(Boolean).join(' + ');
      const normalised = await normaliseRestored(ms, restored.tarFile, from, opts.log);
      if (!normalised) continue;
      ms.deltaKey = restored.deltaKey;
      ms.manifestFile = manifestFile;
      ms.restoredBytes = restored.bytes;
      ready.push({ ms, tarFile: normalised.tarFile, files: normalised.files });
    } catch (e) {
      ms.hit = 'error';
      opts.log.warning(
        `cache mount ${ms.label}: restore failed, building with an empty cache mount: ${getErrorMessage(e)}`,
      );
      // An abandoned download may still write to the transfer path: stop using it this run.
      if (e instanceof DeadlineError) deadline = 0;
    } finally {
      ms.seconds = (Date.now() - started) / 1000;
    }
  }
  for (const batch of byNode(ready, (r) => r.ms)) await injectBatch(batch, state, opts);
}

/**
 * Replaces a restored archive by the archive the action writes from it (archive/normalise.ts): the
 * only form a helper build ever gets. Undefined when it is refused, with a warning naming the
 * entry and why; no manifest is kept then, so the save writes a full entry, not a delta of it.
 */
async function normaliseRestored(
  ms: MountState,
  tarFile: string,
  from: string,
  log: Logger,
): Promise<{ tarFile: string; files: number } | undefined> {
  const normalised = path.join(path.dirname(tarFile), 'normalised.tar');
  rmSync(normalised, { force: true });
  try {
    const r = await normaliseArchive(tarFile, normalised, mountOwnership(ms.mount));
    if (r.dropped > 0)
      log.warning(
        `cache mount ${ms.label}: ${r.dropped} entries of ${from} left out of the Go build cache (${r.firstDropped})`,
      );
    return { tarFile: normalised, files: r.files };
  } catch (e) {
    if (!(e instanceof ArchiveRejected)) throw e;
    ms.hit = 'rejected';
    log.warning(
      `cache mount ${ms.label}: restored archive ${from} discarded (${e.message}); building with an empty cache mount`,
    );
    return undefined;
  } finally {
    rmSync(tarFile, { force: true });
  }
}

/**
 * The helper root the state knows (transport/ HelperRoot), and where a transfer that finds
 * another one records it: the restore's finding carries over to the save.
 */
function helperRootOf(state: CacheRestoreState, log: Logger) {
  return {
    helperRoot: state.helperRoot,
    onHelperRoot: (root: HelperRoot, why: string) => {
      state.helperRoot = root;
      log.info(
        `cache mounts: the helper image ${state.helperImage} does not run from an empty root (${why}); it runs as its own root, which makes each transfer wait for the disk (a statically linked helper such as busybox does not)`,
      );
    },
  };
}

/** Groups items by the builder node their state lives on, in first-seen order. */
function byNode<T>(items: T[], stateOf: (item: T) => MountState): T[][] {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const ms = stateOf(item);
    const k = `${ms.node}\0${ms.helperPlatform}`;
    groups.set(k, [...(groups.get(k) ?? []), item]);
  }
  return [...groups.values()];
}

/** Puts the archives of one node's mounts into that node in one helper build. */
async function injectBatch(
  ready: { ms: MountState; tarFile: string; files: number }[],
  state: CacheRestoreState,
  opts: TransferOptions,
): Promise<void> {
  const started = Date.now();
  try {
    const how = await injectMounts({
      builder: opts.builder,
      direct: opts.direct,
      onLoopbackFailure: (why) =>
        opts.log.info(
          `cache mounts: loopback transfer not usable (${why}); using the build context`,
        ),
      ...helperRootOf(state, opts.log),
      platform: ready[0]!.ms.helperPlatform,
      helperImage: opts.helperImage,
      workDir: opts.workDir,
      runTag: `${ready.map((r) => r.ms.key).join('+')}-${Date.now()}`,
      items: ready.map((r) => ({ mount: r.ms.mount, tarFile: r.tarFile })),
      consumeArchives: true,
    });
    opts.log.info(
      `cache mounts put into the builder through the ${how === 'loopback' ? 'loopback channel' : 'build context'} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    for (const r of ready)
      opts.log.info(
        `cache mount ${r.ms.label}: restored ${r.files} files (${(r.ms.restoredBytes / 1048576).toFixed(1)} MiB) from ${r.ms.matchedKey}${r.ms.deltaKey ? ` and ${r.ms.deltaKey}` : ''}`,
      );
  } catch (e) {
    for (const r of ready) {
      r.ms.hit = 'error';
      r.ms.manifestFile = undefined;
      r.ms.restoredBytes = 0;
    }
    opts.log.warning(
      `cache mounts ${ready.map((r) => r.ms.label).join(', ')}: could not be put into the builder, building with empty cache mounts: ${getErrorMessage(e)}`,
    );
  } finally {
    const injectSeconds = (Date.now() - started) / 1000;
    for (const r of ready) {
      r.ms.seconds += injectSeconds;
      rmSync(path.dirname(r.tarFile), { recursive: true, force: true });
    }
  }
}

export interface MountSaveResult {
  id: string;
  saved: boolean;
  /** What was saved: the whole state, or what changed since the full entry restored. */
  kind?: 'full' | 'delta';
  reason: string;
  bytes: number;
  seconds: number;
}

/** Never throws: every failure becomes a warning, because a cache must not fail the job. */
export async function saveCacheMounts(
  state: CacheRestoreState,
  opts: { buildStartedAt: number; sizeLimitBytes: number; log: Logger; timeoutMs?: number },
): Promise<MountSaveResult[]> {
  const results: MountSaveResult[] = state.mounts.map((ms) => ({
    id: ms.label,
    saved: false,
    reason: '',
    bytes: 0,
    seconds: 0,
  }));
  const timeoutMs = opts.timeoutMs ?? DEFAULT_CACHE_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  try {
    await withTransferPath(timeoutMs, () => saveEach(state, results, opts, deadline));
  } catch (e) {
    for (const r of results) if (!r.reason) r.reason = getErrorMessage(e);
    opts.log.warning(`cache mounts not saved: ${getErrorMessage(e)}`);
  }
  return results;
}

/** Extracts each node's mounts in one helper build per node, then saves each archive in turn. */
async function saveEach(
  state: CacheRestoreState,
  results: MountSaveResult[],
  opts: { buildStartedAt: number; sizeLimitBytes: number; log: Logger },
  deadline: number,
): Promise<void> {
  const wanted = state.mounts
    .map((ms, i) => ({ ms, i }))
    .filter(({ ms, i }) => {
      if (ms.hit !== 'unavailable') return true;
      results[i]!.reason = 'the Actions cache service is not available';
      return false;
    });
  if (wanted.length === 0) return;
  const minutesSinceStart = (Date.now() - opts.buildStartedAt) / 60000;
  const extracted: { ms: MountState; i: number; dir: string; extractSeconds: number }[] = [];
  for (const [g, batch] of byNode(wanted, (w) => w.ms).entries()) {
    const out = path.join(state.workDir, `extract-${g}`);
    rmSync(out, { recursive: true, force: true });
    const extractStarted = Date.now();
    try {
      const how = await extractMounts({
        builder: state.builder,
        direct: state.direct,
        onLoopbackFailure: (why) =>
          opts.log.info(
            `cache mounts: loopback transfer not usable (${why}); using the build export`,
          ),
        ...helperRootOf(state, opts.log),
        platform: batch[0]!.ms.helperPlatform,
        helperImage: state.helperImage,
        workDir: state.workDir,
        outDir: out,
        runTag: `${batch.map(({ ms }) => ms.key).join('+')}-${Date.now()}`,
        items: batch.map(({ ms }) => ({
          mount: ms.mount,
          pruneOlderThanMinutes: minutesSinceStart + 65,
          // tar adds a header per entry: leave room for it under the limit.
          capBytes: Math.floor(opts.sizeLimitBytes * 0.95),
        })),
      });
      opts.log.info(
        `cache mounts taken out of the builder through the ${how === 'loopback' ? 'loopback channel' : 'build export'} in ${((Date.now() - extractStarted) / 1000).toFixed(1)} s`,
      );
    } catch (e) {
      for (const { ms, i } of batch) {
        results[i]!.reason = `could not be taken out of the builder: ${getErrorMessage(e)}`;
        opts.log.warning(`cache mount ${ms.label}: not saved: ${results[i]!.reason}`);
      }
      continue;
    }
    const extractSeconds = (Date.now() - extractStarted) / 1000 / batch.length;
    for (const [n, { ms, i }] of batch.entries())
      extracted.push({ ms, i, dir: path.join(out, `mount-${n}`), extractSeconds });
  }
  for (const { ms, i, dir, extractSeconds } of extracted) {
    const started = Date.now();
    const r = results[i]!;
    try {
      if (Date.now() >= deadline) {
        r.reason = 'cache-timeout reached before this mount';
        continue;
      }
      const files = Number(readFileSync(path.join(dir, 'files'), 'utf8').trim() || '0');
      if (files === 0) {
        r.reason = 'the cache mount is empty after the build';
        continue;
      }
      const tar = path.join(dir, 'content.tar');
      const saved = await saveState({
        tarFile: tar,
        fullKey: ms.key,
        runSuffix: ms.runSuffix ?? String(Date.now()),
        // Only a manifest this run's main wrote into its own scratch folder.
        manifestFile:
          ms.manifestFile && path.dirname(path.dirname(ms.manifestFile)) === state.workDir
            ? ms.manifestFile
            : undefined,
        sizeLimitBytes: opts.sizeLimitBytes,
        deadline,
        label: ms.label,
        log: opts.log,
      });
      r.saved = saved.saved;
      r.reason = saved.reason;
      r.bytes = saved.bytes;
      r.kind = saved.kind;
    } catch (e) {
      r.reason = getErrorMessage(e);
      opts.log.warning(`cache mount ${ms.label}: not saved: ${r.reason}`);
      if (e instanceof DeadlineError) deadline = 0;
    } finally {
      r.seconds = (Date.now() - started) / 1000 + extractSeconds;
      rmSync(dir, { recursive: true, force: true });
      opts.log.info(`cache mount ${ms.label}: ${r.saved ? 'saved' : 'not saved'} (${r.reason})`);
    }
  }
}
