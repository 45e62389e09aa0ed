// The main -> post hand-over: what main reached and what post must finish or undo. Validated when
// read back; it never holds a token or secret.
import type { CacheRestoreState } from './cachemounts/index.ts';

export type Phase = 'started' | 'resolved' | 'restored' | 'built' | 'reported';

export interface MainState {
  phase: Phase;
  createdBuilder?: string;
  cache?: CacheRestoreState;
  buildStartedAt?: number;
  cacheSaveAllowed: boolean;
  sizeLimitBytes: number;
  cacheTimeoutMs?: number;
  /** Set when the main step was cancelled (SIGINT/SIGTERM) at `phase`. */
  cancelled?: boolean;
}

const PHASES: Phase[] = ['started', 'resolved', 'restored', 'built', 'reported'];

export function phaseReached(state: MainState, phase: Phase): boolean {
  return PHASES.indexOf(state.phase) >= PHASES.indexOf(phase);
}

export function parseState(text: string): MainState | undefined {
  if (!text) return undefined;
  const s = JSON.parse(text) as MainState;
  if (
    !PHASES.includes(s.phase) ||
    typeof s.cacheSaveAllowed !== 'boolean' ||
    typeof s.sizeLimitBytes !== 'number' ||
    (s.cacheTimeoutMs !== undefined && typeof s.cacheTimeoutMs !== 'number')
  )
    return undefined;
  if (s.createdBuilder !== undefined && !/^build-go-image-[a-z0-9-]{1,60}$/.test(s.createdBuilder))
    return undefined;
  return s;
}
