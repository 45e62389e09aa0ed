// Moves one cache mount's content in and out of the builder as a single tar file: one file through
// the build context is far cheaper than thousands (measured: cp -R of a context ~4x plain tar).
// The mount options repeat the user's exactly, or BuildKit would address a different cache.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execFile } from '../io/exec.ts';
import type { CacheMount } from './discover.ts';

export function mountFlag(m: CacheMount, target: string): string {
  const opts = [`type=cache`, `id=${m.id}`, `target=${target}`, `sharing=${m.sharing}`];
  if (m.uid !== undefined) opts.push(`uid=${m.uid}`);
  if (m.gid !== undefined) opts.push(`gid=${m.gid}`);
  if (m.mode !== undefined) opts.push(`mode=${m.mode}`);
  return `--mount=${opts.join(',')}`;
}

/** Dockerfile that unpacks /in/content.tar into the cache mount (no syntax line: built-in frontend). */
export function injectDockerfile(m: CacheMount, helperImage: string): string {
  return [
    `FROM ${helperImage}`,
    'ARG BGI_RUN',
    `RUN ${mountFlag(m, '/cache')} --mount=type=bind,source=.,target=/in \\`,
    '    echo "restore $BGI_RUN" && tar -x --numeric-owner -f /in/content.tar -C /cache',
    '',
  ].join('\n');
}

/**
 * Dockerfile that archives the cache mount to /out/content.tar. For a Go build cache (found by its
 * trim.txt or README) it first removes what may go, from the mount too (busybox tar has no exclude
 * list, and Go rebuilds a missing entry when it needs one):
 * - entries this build did not use: Go refreshes an entry's mtime when it uses it and the mtime is
 *   more than an hour old, so entries older than (build start - 1h - margin) were certainly unused;
 * - then, while the rest is over the size cap, the oldest entries (least recently used first).
 * Other caches (GOMODCACHE) are kept whole: a module directory missing files breaks the build.
 */
export function extractDockerfile(
  m: CacheMount,
  helperImage: string,
  pruneOlderThanMinutes: number | undefined,
  capBytes?: number,
): string {
  const unused = pruneOlderThanMinutes
    ? `find . -type f -mmin +${Math.ceil(pruneOlderThanMinutes)} ! -name trim.txt ! -name README > /tmp/unused; xargs -r rm -f < /tmp/unused; `
    : '';
  // Entries by age, oldest first; drop from the front until the total fits. Go cache file names
  // are hex, without spaces.
  const overCap = capBytes
    ? `find . -type f ! -name trim.txt ! -name README -exec stat -c '%Y %s %n' {} + | sort -n | awk -v cap=${Math.floor(capBytes)} '{ t += $2; s[NR] = $2; f[NR] = $3 } END { for (i = 1; i <= NR && t > cap; i++) { print f[i]; t -= s[i] } }' > /tmp/over; xargs -r rm -f < /tmp/over; `
    : '';
  const goOnly =
    unused || overCap
      ? `if [ -f trim.txt ] || grep -qs "Go build system" README; then ${unused}${overCap}fi; `
      : '';
  return [
    `FROM ${helperImage} AS dump`,
    'ARG BGI_RUN',
    `RUN ${mountFlag(m, '/cache')} mkdir -p /out && cd /cache && : > /tmp/unused && : > /tmp/over && \\`,
    `    ${goOnly}echo "save $BGI_RUN $(wc -l < /tmp/unused) unused $(wc -l < /tmp/over) over-cap" && \\`,
    '    tar -c --numeric-owner -f /out/content.tar . && find . -type f | wc -l > /out/files',
    'FROM scratch',
    'COPY --from=dump /out/ /',
    '',
  ].join('\n');
}

async function buildx(
  builder: string | undefined,
  platform: string,
  dockerfile: string,
  context: string,
  output: string,
  runTag: string,
): Promise<void> {
  const args = ['buildx', 'build'];
  if (builder) args.push('--builder', builder);
  args.push(
    '--platform',
    platform,
    '--file',
    dockerfile,
    '--build-arg',
    `BGI_RUN=${runTag}`,
    '--output',
    output,
    '--progress',
    'plain',
    context,
  );
  await execFile('docker', args, { maxCapture: 256 * 1024 });
}

export async function injectMount(opts: {
  builder?: string;
  platform: string;
  mount: CacheMount;
  helperImage: string;
  tarFile: string;
  workDir: string;
  runTag: string;
}): Promise<void> {
  const dir = path.join(opts.workDir, 'inject-df');
  mkdirSync(dir, { recursive: true });
  const df = path.join(dir, 'Dockerfile');
  writeFileSync(df, injectDockerfile(opts.mount, opts.helperImage));
  await buildx(
    opts.builder,
    opts.platform,
    df,
    path.dirname(opts.tarFile),
    'type=cacheonly',
    opts.runTag,
  );
}

export async function extractMount(opts: {
  builder?: string;
  platform: string;
  mount: CacheMount;
  helperImage: string;
  outDir: string;
  workDir: string;
  runTag: string;
  pruneOlderThanMinutes?: number;
  /** Go build cache only: drop the oldest entries until the content fits in this many bytes. */
  capBytes?: number;
}): Promise<void> {
  const dir = path.join(opts.workDir, 'extract-df');
  const ctx = path.join(opts.workDir, 'empty-context');
  mkdirSync(dir, { recursive: true });
  mkdirSync(ctx, { recursive: true });
  const df = path.join(dir, 'Dockerfile');
  writeFileSync(
    df,
    extractDockerfile(opts.mount, opts.helperImage, opts.pruneOlderThanMinutes, opts.capBytes),
  );
  await buildx(opts.builder, opts.platform, df, ctx, `type=local,dest=${opts.outDir}`, opts.runTag);
}
