// Shared by the benchmarks: timing, medians, and the reference-service build they all run.
import { execFileSync } from 'node:child_process';

export const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/**
 * Seconds `fn` takes. The disk's dirty pages are written out first: a step that wrote hundreds of
 * MB would otherwise charge its writeback to whichever step is timed next.
 */
export async function time(fn: () => Promise<unknown>): Promise<number> {
  execFileSync('sync');
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
