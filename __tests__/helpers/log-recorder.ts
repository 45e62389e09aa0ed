// A Logger that keeps what it was told, one `<level> <message>` line each, for tests to read.
import type { Logger } from '../../src/log.ts';

export function recorder(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (m) => lines.push(`info ${m}`),
    warning: (m) => lines.push(`warning ${m}`),
    notice: (m) => lines.push(`notice ${m}`),
    error: (m) => lines.push(`error ${m}`),
    debug: () => {},
    group: (_n, fn) => fn(),
  };
}
