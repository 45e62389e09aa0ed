// Shared by the benchmarks: timing, medians, and the reference-service build they all run.
import { execFileSync } from 'node:child_process';

/** The middle value; of an even count, the mean of the two middle values. */
export const median = (xs: number[]): number => {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

/**
 * Seconds `fn` takes. The disk's dirty pages are written out first, and the clock starts a second
 * later: a step that wrote or deleted hundreds of MB would otherwise charge its writeback, the
 * engine's cleanup after it and the disk's discards of what it deleted to whichever step is timed
 * next (measured: a loopback inject timed right after a context-path build took 1.5 s, the same
 * inject on its own 1.05 to 1.15 s).
 */
export async function time(fn: () => Promise<unknown>): Promise<number> {
  execFileSync('sync');
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

/** `docker buildx build` of the reference service for both platforms against the local engine. */
export function buildReference(
  env: Record<string, string>,
  context: string,
  output: string[],
): string[] {
  return [
    'buildx',
    'build',
    '--platform',
    'linux/amd64,linux/arm64',
    '--build-arg',
    `BASE_REGISTRY=${env['BGI_BASE_REGISTRY']}`,
    '--build-arg',
    `GO_VERSION=${env['BGI_GO_VERSION']}`,
    ...output,
    context,
  ];
}
