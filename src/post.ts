// The post step: save cache-mount state and remove what main created. Never fails the job.
import { saveCacheMounts } from './cachemounts/index.ts';
import { removeBuilder } from './buildx/builder.ts';
import { getErrorMessage } from './errors.ts';
import type { Logger } from './log.ts';
import { phaseReached, type MainState } from './state.ts';

export async function runPost(
  state: MainState | undefined,
  log: Logger,
  setOutput: (k: string, v: string) => void,
): Promise<void> {
  if (!state) {
    log.info('post: main did not get far enough to leave anything to save or clean up');
    return;
  }
  if (state.cancelled) log.info(`post: main was cancelled during phase "${state.phase}"`);
  if (state.cacheDropped)
    log.warning(
      'post: cache mounts not saved: the cache state main handed over is not valid (a field does not match what main writes), so nothing is saved or deleted from it',
    );
  try {
    if (state.cache && state.cache.mounts.length > 0) {
      if (!phaseReached(state, 'built'))
        log.info(
          `post: cache mounts not saved: main stopped at "${state.phase}" before the build finished`,
        );
      else if (!state.cacheSaveAllowed)
        log.info(
          'post: cache mounts not saved: untrusted event (set cache-on-untrusted-events to opt in)',
        );
      else if (state.cacheStepsRan === false) {
        // Taking the mounts out would only find what was restored: an unchanged rerun saves ~2 s.
        log.info(
          'post: cache mounts not saved: every build step that mounts them was cached, so they hold what was restored',
        );
        setOutput(
          'cache-saved',
          JSON.stringify(Object.fromEntries(state.cache.mounts.map((m) => [m.label, false]))),
        );
      } else {
        const results = await saveCacheMounts(state.cache, {
          buildStartedAt: state.buildStartedAt ?? Date.now(),
          sizeLimitBytes: state.sizeLimitBytes,
          timeoutMs: state.cacheTimeoutMs,
          log,
        });
        setOutput(
          'cache-saved',
          JSON.stringify(Object.fromEntries(results.map((r) => [r.id, r.saved]))),
        );
      }
    }
  } catch (e) {
    log.warning(`post: cache mounts not saved: ${getErrorMessage(e)}`);
  } finally {
    if (state.createdBuilder) {
      await removeBuilder(state.createdBuilder).then(
        () => log.info(`post: removed builder ${state.createdBuilder}`),
        (e: unknown) =>
          log.warning(`post: builder ${state.createdBuilder} not removed: ${getErrorMessage(e)}`),
      );
    }
  }
}
