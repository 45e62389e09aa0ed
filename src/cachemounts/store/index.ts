// Cache-mount state in the Actions cache: one mount's full entry and its newest delta in, a full
// entry or a delta out. Keys in keys.ts, what a delta holds in delta.ts; docs/cache-store.md
// describes the scheme, races, eviction and cancellation.
import * as cache from '@actions/cache';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { tmpdir } from 'node:os';
import { getErrorMessage } from '../../errors.ts';
import { DeadlineError, withDeadline } from '../../io/deadline.ts';
import { withLock } from '../../io/lock.ts';
import { onCancel } from '../../io/cancel.ts';
import type { Logger } from '../../log.ts';
import { scanArchive } from '../archive/reader.ts';
import {
  DELTA_SHARE_MAX,
  applyDelta,
  planDelta,
  readDeltaMeta,
  writeDeltaArchive,
  writeDeltaMeta,
} from './delta.ts';
import { deltaKey, deltaPrefix } from './keys.ts';
import { manifestOf, readManifest, writeManifest, type Manifest } from './manifest.ts';
import { indexArchive } from '../archive/positions.ts';

/**
 * The paths handed to @actions/cache. They are part of an entry's version, so they must be the
 * same strings in every run on every runner: a per-run temp directory would make every restore
 * miss. A delta is saved with other paths than a full entry, so it is another version too: one
 * kind can never be restored as the other. Mounts are moved through them one at a time.
 */
const TRANSFER_DIR = path.join(tmpdir(), 'build-go-image-cache-mount');
const TRANSFER_TAR = path.join(TRANSFER_DIR, 'content.tar');
const DELTA_TAR = path.join(TRANSFER_DIR, 'delta.tar');
const DELTA_META = path.join(TRANSFER_DIR, 'delta.json');
const TRANSFER_LOCK = path.join(tmpdir(), 'build-go-image-cache-mount.lock');

/** The Actions cache service is there to restore from and save to (else nothing is stored). */
export function storeAvailable(): boolean {
  return cache.isFeatureAvailable();
}

/** Holds the transfer path for `fn`; a cancelled step leaves no archive there for the next job. */
export function withTransferPath<T>(waitMs: number, fn: () => Promise<T>): Promise<T> {
  return withLock(TRANSFER_LOCK, waitMs, async () => {
    const forget = onCancel(() => rmSync(TRANSFER_DIR, { recursive: true, force: true }));
    try {
      return await fn();
    } finally {
      forget();
    }
  });
}

function freshTransferDir(): void {
  rmSync(TRANSFER_DIR, { recursive: true, force: true });
  mkdirSync(TRANSFER_DIR, { recursive: true });
}

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
const seconds = (since: number) => ((Date.now() - since) / 1000).toFixed(2);

export interface RestoredState {
  hit: 'exact' | 'partial' | 'miss' | 'rejected';
  /** The full entry restored. */
  matchedKey?: string;
  /** The delta applied on top of it. */
  deltaKey?: string;
  /** The state to put into the builder (full entry with the delta applied). */
  tarFile?: string;
  files: number;
  bytes: number;
}

/**
 * Restores one mount's newest full entry and that entry's newest delta into `dir/content.tar`,
 * and writes the full entry's manifest to `manifestFile` for the save. A delta that cannot be used
 * (damaged, another base, failed download) leaves the full entry alone, with a warning. Throws on
 * failures of the full entry (a DeadlineError means the transfer path may still be written to).
 */
export async function restoreState(opts: {
  key: string;
  restoreKeys: string[];
  dir: string;
  manifestFile: string;
  deadline: number;
  label: string;
  log: Logger;
}): Promise<RestoredState> {
  const { dir, log, label } = opts;
  rmSync(opts.manifestFile, { force: true });
  rmSync(TRANSFER_DIR, { recursive: true, force: true });
  const downloadStarted = Date.now();
  const matched = await withDeadline(
    cache.restoreCache([TRANSFER_TAR], opts.key, opts.restoreKeys),
    opts.deadline - Date.now(),
    'the cache service',
  );
  if (!matched) {
    log.info(`cache mount ${label}: no saved state (key prefix ${opts.restoreKeys[0]})`);
    return { hit: 'miss', files: 0, bytes: 0 };
  }
  if (!existsSync(TRANSFER_TAR)) throw new Error('the restored entry holds no content.tar');
  const tar = path.join(dir, 'content.tar');
  renameSync(TRANSFER_TAR, tar);
  // Read whole and strictly here; the builder gets the archive restore.ts writes from it.
  const check = await scanArchive(tar).then(
    (s) => ({ ok: true as const, files: s.files }),
    (e: unknown) => ({ ok: false as const, reason: getErrorMessage(e), files: 0 }),
  );
  if (!check.ok) {
    log.warning(
      `cache mount ${label}: restored archive ${matched} discarded (${check.reason}); building with an empty cache mount`,
    );
    return { hit: 'rejected', matchedKey: matched, files: 0, bytes: 0 };
  }
  const fullBytes = statSync(tar).size;
  log.info(
    `cache mount ${label}: downloaded ${matched} (${mib(fullBytes)}) in ${seconds(downloadStarted)} s`,
  );
  const index = indexArchive(tar);
  const manifest = manifestOf(tar, matched, fullBytes, index);
  const state: RestoredState = {
    hit: matched === opts.key ? 'exact' : 'partial',
    matchedKey: matched,
    tarFile: tar,
    files: check.files,
    bytes: fullBytes,
  };
  const delta = await restoreDelta(matched, dir, opts.deadline, label, log);
  if (delta) {
    const applied = applyDelta(tar, index, delta.tar, delta.meta);
    manifest.delta = { key: delta.key, digest: delta.meta.digest };
    state.deltaKey = delta.key;
    state.files += applied.entries;
    state.bytes = statSync(tar).size;
    log.info(
      `cache mount ${label}: delta ${delta.key} applied (${applied.entries} entries, ${applied.refreshed} refreshed, ${mib(delta.bytes)})`,
    );
    rmSync(delta.tar, { force: true });
  }
  writeManifest(opts.manifestFile, manifest);
  return state;
}

async function restoreDelta(
  fullKey: string,
  dir: string,
  deadline: number,
  label: string,
  log: Logger,
) {
  rmSync(TRANSFER_DIR, { recursive: true, force: true });
  const prefix = deltaPrefix(fullKey);
  const started = Date.now();
  try {
    const key = await withDeadline(
      cache.restoreCache([DELTA_TAR, DELTA_META], prefix, [prefix]),
      deadline - Date.now(),
      'the cache service',
    );
    if (!key) return undefined;
    if (!existsSync(DELTA_TAR) || !existsSync(DELTA_META))
      throw new Error('the entry holds no delta.tar and delta.json');
    const tar = path.join(dir, 'delta.tar');
    renameSync(DELTA_TAR, tar);
    const check = await scanArchive(tar).then(
      (s) => ({ ok: true as const, files: s.files }),
      (e: unknown) => ({ ok: false as const, reason: getErrorMessage(e), files: 0 }),
    );
    if (!check.ok) throw new Error(`its archive is not accepted (${check.reason})`);
    const meta = readDeltaMeta(DELTA_META, fullKey);
    log.info(
      `cache mount ${label}: downloaded delta ${key} (${mib(statSync(tar).size)}) in ${seconds(started)} s`,
    );
    return { key, tar, meta, bytes: statSync(tar).size };
  } catch (e) {
    if (e instanceof DeadlineError) throw e;
    log.warning(
      `cache mount ${label}: the delta of ${fullKey} is not used, restoring the full entry alone: ${getErrorMessage(e)}`,
    );
    return undefined;
  } finally {
    rmSync(TRANSFER_DIR, { recursive: true, force: true });
  }
}

export interface SavedState {
  saved: boolean;
  kind?: 'full' | 'delta';
  key?: string;
  reason: string;
  /** Bytes of the archive uploaded (before the cache client's compression). */
  bytes: number;
}

/**
 * Saves the mount's state, `tarFile` (taken out of the builder, pruned and capped), as a delta of
 * the full entry in `manifestFile` when there is one and the delta stays under DELTA_SHARE_MAX of
 * it, else as a full entry under `fullKey`. Nothing is saved when nothing changed since the state
 * restored. `tarFile` may be moved. Throws on failures (a DeadlineError as in restoreState).
 */
export async function saveState(opts: {
  tarFile: string;
  fullKey: string;
  /** Appended to a delta's prefix: this run's id and attempt. */
  runSuffix: string;
  manifestFile?: string;
  /** cache-size-limit: a state over it is not saved (only a Go build cache was cut to fit). */
  sizeLimitBytes: number;
  deadline: number;
  label: string;
  log: Logger;
}): Promise<SavedState> {
  const { log, label } = opts;
  const stateBytes = statSync(opts.tarFile).size;
  if (stateBytes > opts.sizeLimitBytes) {
    const reason = `${(stateBytes / 1048576).toFixed(0)} MiB is over cache-size-limit (${(opts.sizeLimitBytes / 1048576).toFixed(0)} MiB), and only a Go build cache can be cut to fit`;
    log.warning(`cache mount ${label}: not saved: ${reason}`);
    return { saved: false, reason, bytes: stateBytes };
  }
  let base: Manifest | undefined;
  if (opts.manifestFile && existsSync(opts.manifestFile))
    try {
      base = readManifest(opts.manifestFile);
    } catch (e) {
      log.warning(`cache mount ${label}: saving a full entry: ${getErrorMessage(e)}`);
    }
  let why = 'no full entry was restored';
  if (base) {
    const plan = planDelta(opts.tarFile, base);
    if ((plan.entries === 0 && plan.touched.length === 0) || plan.digest === base.delta?.digest)
      return {
        saved: false,
        reason: `unchanged since ${base.delta?.key ?? base.fullKey}`,
        bytes: 0,
      };
    if (plan.bytes <= DELTA_SHARE_MAX * base.archiveBytes) {
      freshTransferDir();
      writeDeltaArchive(opts.tarFile, plan, DELTA_TAR);
      writeDeltaMeta(DELTA_META, {
        v: 1,
        base: base.fullKey,
        digest: plan.digest,
        touched: plan.touched,
      });
      const key = deltaKey(base.fullKey, opts.runSuffix);
      const started = Date.now();
      const saved = await upload([DELTA_TAR, DELTA_META], key, opts.deadline);
      if (saved)
        log.info(
          `cache mount ${label}: delta of ${base.fullKey} (${plan.entries} entries, ${plan.touched.length} refreshed, ${mib(plan.bytes)}) uploaded in ${seconds(started)} s`,
        );
      return {
        saved,
        kind: 'delta',
        key,
        bytes: plan.bytes,
        reason: saved ? `saved as ${key}` : NOT_TAKEN,
      };
    }
    why = `the delta (${mib(plan.bytes)}) is over ${DELTA_SHARE_MAX * 100}% of ${base.fullKey} (${mib(base.archiveBytes)})`;
  }
  const bytes = stateBytes;
  freshTransferDir();
  renameSync(opts.tarFile, TRANSFER_TAR);
  const started = Date.now();
  const saved = await upload([TRANSFER_TAR], opts.fullKey, opts.deadline);
  if (saved)
    log.info(
      `cache mount ${label}: full entry (${why}, ${mib(bytes)}) uploaded in ${seconds(started)} s`,
    );
  return {
    saved,
    kind: 'full',
    key: opts.fullKey,
    bytes,
    // The key alone: the job's log says "saved (saved as <key>)", which tests and users read.
    reason: saved ? `saved as ${opts.fullKey}` : NOT_TAKEN,
  };
}

const NOT_TAKEN =
  'the cache service did not take the entry (see the warning above: another job may have saved this key, or the service failed)';

async function upload(paths: string[], key: string, deadline: number): Promise<boolean> {
  try {
    const id = await withDeadline(
      cache.saveCache(paths, key),
      deadline - Date.now(),
      'the cache service',
    );
    return id !== -1;
  } finally {
    rmSync(TRANSFER_DIR, { recursive: true, force: true });
  }
}
