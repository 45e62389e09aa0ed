// Restore (main step, before the build): for each mount on each builder node, the store's newest
// state is downloaded and checked (store/), written anew by the archive layer (archive/normalise.ts),
// and put into the builder by the transport (transport/), one helper build per node. Any failure
// builds that mount cold, with a warning: a cache never fails the build.
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { getErrorMessage } from '../errors.ts';
import { DeadlineError } from '../io/deadline.ts';
import type { Logger } from '../log.ts';
import { ArchiveRejected, mountOwnership, normaliseArchive } from './archive/normalise.ts';
import type { CacheMount } from './discover.ts';
import {
  byNode,
  DEFAULT_CACHE_TIMEOUT_MS,
  transferTarget,
  type CacheRestoreState,
  type MountState,
  type TransferOptions,
} from './mount-state.ts';
import { restoreState, storeAvailable, withTransferPath } from './store/index.ts';
import { cacheKeys, type KeyParts } from './store/keys.ts';
import { injectMounts } from './transport/index.ts';

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
  const available = storeAvailable();
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

/** Puts the archives of one node's mounts into that node in one helper build. */
async function injectBatch(
  ready: { ms: MountState; tarFile: string; files: number }[],
  state: CacheRestoreState,
  opts: TransferOptions,
): Promise<void> {
  const started = Date.now();
  try {
    const how = await injectMounts({
      ...transferTarget(
        state,
        ready.map((r) => r.ms),
        'build context',
        opts.log,
      ),
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
