// Cache-mount state across runners: restore (main step, before the build) and save (post step).
import * as cache from '@actions/cache';
import { createHash } from 'node:crypto';
import {
  createReadStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import path from 'node:path';
import { tmpdir } from 'node:os';
import { getErrorMessage } from '../errors.ts';
import { DeadlineError, withDeadline } from '../io/deadline.ts';
import { withLock } from '../io/lock.ts';
import { onCancel } from '../io/cancel.ts';
import type { Logger } from '../log.ts';
import type { CacheMount } from './discover.ts';
import { cacheKeys, type KeyParts } from './keys.ts';
import { checkTar } from './tar-check.ts';
import { extractMounts, injectMounts, type HelperRoot } from './transfer.ts';
import type { NodeGroup } from '../buildx/nodes.ts';

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
  restoredDigest?: string;
  restoredBytes: number;
  seconds: number;
}

export interface CacheRestoreState {
  builder?: string;
  /** The builder's BuildKit runs on this machine with its network: try the loopback path. */
  direct?: boolean;
  helperImage: string;
  /** What the helper ran on in the restore, for the save to start from (transfer.ts). */
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

async function fileDigest(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * The one path handed to @actions/cache. It is part of the entry's version, so it must be the same
 * string in every run on every runner: a per-run temp directory would make every restore miss.
 * Mounts are moved through it one at a time.
 */
const TRANSFER_DIR = path.join(tmpdir(), 'build-go-image-cache-mount');
const TRANSFER_TAR = path.join(TRANSFER_DIR, 'content.tar');
const TRANSFER_LOCK = path.join(tmpdir(), 'build-go-image-cache-mount.lock');
export const DEFAULT_CACHE_TIMEOUT_MS = 600_000;

/** Holds the transfer path for `fn`; a cancelled step leaves no archive there for the next job. */
function withTransferPath<T>(waitMs: number, fn: () => Promise<T>): Promise<T> {
  return withLock(TRANSFER_LOCK, waitMs, async () => {
    const forget = onCancel(() => rmSync(TRANSFER_DIR, { recursive: true, force: true }));
    try {
      return await fn();
    } finally {
      forget();
    }
  });
}

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
    rmSync(TRANSFER_DIR, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    try {
      const matched = await withDeadline(
        cache.restoreCache([TRANSFER_TAR], key, restoreKeys),
        deadline - Date.now(),
        'the cache service',
      );
      if (!matched) {
        opts.log.info(`cache mount ${ms.label}: no saved state (key prefix ${restoreKeys[0]})`);
        continue;
      }
      if (!existsSync(TRANSFER_TAR)) throw new Error('the restored entry holds no content.tar');
      const tar = path.join(dir, 'content.tar');
      renameSync(TRANSFER_TAR, tar);
      const check = checkTar(tar);
      if (!check.ok) {
        ms.hit = 'rejected';
        opts.log.warning(
          `cache mount ${ms.label}: restored archive ${matched} discarded (${check.reason}); building with an empty cache mount`,
        );
        continue;
      }
      ms.restoredDigest = await fileDigest(tar);
      ms.restoredBytes = statSync(tar).size;
      ms.hit = matched === key ? 'exact' : 'partial';
      ms.matchedKey = matched;
      ready.push({ ms, tarFile: tar, files: check.files });
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
 * The helper root the state knows (transfer.ts HelperRoot), and where a transfer that finds
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
        `cache mount ${r.ms.label}: restored ${r.files} files (${(r.ms.restoredBytes / 1048576).toFixed(1)} MiB) from ${r.ms.matchedKey}`,
      );
  } catch (e) {
    for (const r of ready) {
      r.ms.hit = 'error';
      r.ms.restoredDigest = undefined;
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
      r.bytes = statSync(tar).size;
      if (r.bytes > opts.sizeLimitBytes) {
        r.reason = `${(r.bytes / 1048576).toFixed(0)} MiB is over cache-size-limit (${(opts.sizeLimitBytes / 1048576).toFixed(0)} MiB), and only a Go build cache can be cut to fit`;
        opts.log.warning(`cache mount ${ms.label}: not saved: ${r.reason}`);
        continue;
      }
      if (ms.restoredDigest && ms.restoredDigest === (await fileDigest(tar))) {
        r.reason = `unchanged since ${ms.matchedKey}`;
        continue;
      }
      rmSync(TRANSFER_DIR, { recursive: true, force: true });
      mkdirSync(TRANSFER_DIR, { recursive: true });
      renameSync(tar, TRANSFER_TAR);
      const id = await withDeadline(
        cache.saveCache([TRANSFER_TAR], ms.key),
        deadline - Date.now(),
        'the cache service',
      );
      if (id === -1)
        r.reason =
          'the cache service did not take the entry (see the warning above: another job may have saved this key, or the service failed)';
      else {
        r.saved = true;
        r.reason = `saved as ${ms.key}`;
      }
    } catch (e) {
      r.reason = getErrorMessage(e);
      opts.log.warning(`cache mount ${ms.label}: not saved: ${r.reason}`);
      if (e instanceof DeadlineError) deadline = 0;
    } finally {
      r.seconds = (Date.now() - started) / 1000 + extractSeconds;
      rmSync(dir, { recursive: true, force: true });
      rmSync(TRANSFER_DIR, { recursive: true, force: true });
      opts.log.info(`cache mount ${ms.label}: ${r.saved ? 'saved' : 'not saved'} (${r.reason})`);
    }
  }
}
