// The main -> post hand-over: what main reached and what post must finish or undo. Validated when
// read back; it never holds a token or secret.
import type { CacheRestoreState } from './cachemounts/index.ts';
import { checkCacheRestoreState } from './cachemounts/mount-state.ts';
import type { Inputs } from './inputs.ts';

export type Phase = 'started' | 'resolved' | 'restored' | 'built' | 'reported';

export interface MainState {
  phase: Phase;
  createdBuilder?: string;
  cache?: CacheRestoreState;
  buildStartedAt?: number;
  /** false: every build step that mounts a cache was CACHED, so the mounts are as restored. */
  cacheStepsRan?: boolean;
  cacheSaveAllowed: boolean;
  sizeLimitBytes: number;
  cacheTimeoutMs?: number;
  /** Set when the main step was cancelled (SIGINT/SIGTERM) at `phase`. */
  cancelled?: boolean;
  /** Set by parseState when the cache part read back was not valid and was dropped. */
  cacheDropped?: boolean;
}

const PHASES: Phase[] = ['started', 'resolved', 'restored', 'built', 'reported'];

/** Events whose runs may hold a fork's code: their cache state is not saved unless asked for. */
const UNTRUSTED_EVENTS = new Set(['pull_request_target', 'workflow_run', 'issue_comment']);

/** The state main starts from: what post may do, decided by the inputs and the event. */
export function initialState(inputs: Inputs, env: NodeJS.ProcessEnv): MainState {
  return {
    phase: 'started',
    cacheSaveAllowed:
      !UNTRUSTED_EVENTS.has(env['GITHUB_EVENT_NAME'] ?? '') || inputs.cacheOnUntrustedEvents,
    sizeLimitBytes: inputs.cacheSizeLimitMiB * 1024 * 1024,
    cacheTimeoutMs: inputs.cacheTimeoutSeconds * 1000,
  };
}

/**
 * The one writer of the hand-over: saves `first` now, then each change merged into it, at once,
 * so that post (or a cancellation) always sees how far main got and what it created.
 */
export function stateWriter(
  save: (state: MainState) => void,
  first: MainState,
): (change: Partial<MainState>) => void {
  const state = { ...first };
  save(state);
  return (change) => {
    Object.assign(state, change);
    save(state);
  };
}

export function phaseReached(state: MainState, phase: Phase): boolean {
  return PHASES.indexOf(state.phase) >= PHASES.indexOf(phase);
}

/**
 * The hand-over read back in post, or undefined when it is missing or not valid (truncated JSON
 * included). Every field is checked against what main writes: a cache part that is not valid is
 * dropped (`cacheDropped`; post then saves nothing and deletes nothing of it), while a builder
 * main recorded as its own is still removed.
 */
export function parseState(text: string): MainState | undefined {
  if (!text) return undefined;
  let s: MainState;
  try {
    s = JSON.parse(text) as MainState;
  } catch {
    return undefined;
  }
  if (typeof s !== 'object' || s === null || Array.isArray(s)) return undefined;
  const positive = (n: unknown) => typeof n === 'number' && Number.isFinite(n) && n > 0;
  if (
    !PHASES.includes(s.phase) ||
    typeof s.cacheSaveAllowed !== 'boolean' ||
    !positive(s.sizeLimitBytes) ||
    (s.cacheTimeoutMs !== undefined && !positive(s.cacheTimeoutMs)) ||
    (s.buildStartedAt !== undefined && !positive(s.buildStartedAt)) ||
    (s.cacheStepsRan !== undefined && typeof s.cacheStepsRan !== 'boolean') ||
    (s.cancelled !== undefined && typeof s.cancelled !== 'boolean')
  )
    return undefined;
  if (s.createdBuilder !== undefined && !/^build-go-image-[a-z0-9-]{1,60}$/.test(s.createdBuilder))
    return undefined;
  const { cache, ...rest } = s;
  delete rest.cacheDropped;
  if (cache === undefined) return rest;
  const checked = checkCacheRestoreState(cache);
  return checked ? { ...rest, cache: checked } : { ...rest, cacheDropped: true };
}
