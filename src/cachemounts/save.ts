// Save (post step, after the build): each builder node's mounts are taken out of the builder by
// the transport (transport/), pruned and capped there by the store's rule (store/prune.ts), one
// helper build per node; then the store saves each mount's archive as a delta or a full entry
// (store/). Never throws: a cache must not fail the job.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { getErrorMessage } from '../errors.ts';
import { DeadlineError } from '../io/deadline.ts';
import type { Logger } from '../log.ts';
import {
  byNode,
  DEFAULT_CACHE_TIMEOUT_MS,
  transferTarget,
  type CacheRestoreState,
  type MountState,
} from './mount-state.ts';
import { saveState, withTransferPath } from './store/index.ts';
import { pruneRule } from './store/prune.ts';
import { extractedMount, extractMounts } from './transport/index.ts';

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
  const rule = pruneRule(opts);
  const extracted: {
    ms: MountState;
    i: number;
    mount: ReturnType<typeof extractedMount>;
    extractSeconds: number;
  }[] = [];
  for (const [g, batch] of byNode(wanted, (w) => w.ms).entries()) {
    const out = path.join(state.workDir, `extract-${g}`);
    rmSync(out, { recursive: true, force: true });
    const extractStarted = Date.now();
    try {
      const how = await extractMounts({
        ...transferTarget(
          state,
          batch.map(({ ms }) => ms),
          'build export',
          opts.log,
        ),
        outDir: out,
        items: batch.map(({ ms }) => ({ mount: ms.mount, ...rule })),
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
      extracted.push({ ms, i, mount: extractedMount(out, n), extractSeconds });
  }
  for (const { ms, i, mount, extractSeconds } of extracted) {
    const started = Date.now();
    const r = results[i]!;
    try {
      if (Date.now() >= deadline) {
        r.reason = 'cache-timeout reached before this mount';
        continue;
      }
      if (mount.files() === 0) {
        r.reason = 'the cache mount is empty after the build';
        continue;
      }
      const saved = await saveState({
        tarFile: mount.tarFile,
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
      rmSync(mount.dir, { recursive: true, force: true });
      opts.log.info(`cache mount ${ms.label}: ${r.saved ? 'saved' : 'not saved'} (${r.reason})`);
    }
  }
}
