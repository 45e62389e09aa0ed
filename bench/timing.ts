// Shared by the benchmarks: timing, medians, and the reference-service build they all run.
export const median = (xs: number[]): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function time(fn: () => Promise<unknown>): Promise<number> {
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
