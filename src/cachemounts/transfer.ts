// Moves cache-mount content in and out of the builder as one tar file per mount, all mounts in one
// helper build each way: one file through the build context is far cheaper than thousands
// (measured: cp -R of a context ~4x plain tar), and a build costs ~0.4 s before it does anything.
// The mount options repeat the user's exactly, or BuildKit would address a different cache.
import { copyFileSync, linkSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
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

/** Dockerfile that unpacks /in/mount-<i>.tar into cache mount i, all in one build (no syntax line). */
export function injectDockerfile(mounts: CacheMount[], helperImage: string): string {
  const flags = mounts.map((m, i) => `${mountFlag(m, `/c${i}`)} \\`);
  const unpack = mounts
    .map((_, i) => `tar -x --numeric-owner -f /in/mount-${i}.tar -C /c${i}`)
    .join(' && ');
  return [
    `FROM ${helperImage}`,
    'ARG BGI_RUN',
    'RUN \\',
    ...flags.map((f) => `    ${f}`),
    '    --mount=type=bind,source=.,target=/in \\',
    `    echo "restore $BGI_RUN" && ${unpack}`,
    '',
  ].join('\n');
}

export interface ExtractItem {
  mount: CacheMount;
  pruneOlderThanMinutes?: number;
  /** Go build cache only: drop the oldest entries until the content fits in this many bytes. */
  capBytes?: number;
}

/**
 * Dockerfile that archives cache mount i to /out/mount-<i>/content.tar (with its file count), all in
 * one build. For a Go build cache (found by its trim.txt or README) it first removes what may go,
 * from the mount too (busybox tar has no exclude list, and Go rebuilds a missing entry):
 * - entries this build did not use: Go refreshes an entry's mtime when it uses it and the mtime is
 *   more than an hour old, so entries older than (build start - 1h - margin) were certainly unused;
 * - then, while the rest is over the size cap, the oldest entries (least recently used first).
 * Other caches (GOMODCACHE) are kept whole: a module directory missing files breaks the build.
 */
export function extractDockerfile(items: ExtractItem[], helperImage: string): string {
  const archive = items.map((it, i) => {
    const unused = it.pruneOlderThanMinutes
      ? `find . -type f -mmin +${Math.ceil(it.pruneOlderThanMinutes)} ! -name trim.txt ! -name README > /tmp/unused; xargs -r rm -f < /tmp/unused; `
      : '';
    // Entries by age, oldest first; drop from the front until the total fits. Go cache file
    // names are hex, without spaces.
    const overCap = it.capBytes
      ? `find . -type f ! -name trim.txt ! -name README -exec stat -c '%Y %s %n' {} + | sort -n | awk -v cap=${Math.floor(it.capBytes)} '{ t += $2; s[NR] = $2; f[NR] = $3 } END { for (i = 1; i <= NR && t > cap; i++) { print f[i]; t -= s[i] } }' > /tmp/over; xargs -r rm -f < /tmp/over; `
      : '';
    const goOnly =
      unused || overCap
        ? `if [ -f trim.txt ] || grep -qs "Go build system" README; then ${unused}${overCap}fi; `
        : '';
    return [
      `( cd /c${i} && : > /tmp/unused && : > /tmp/over && ${goOnly}`,
      `echo "save $BGI_RUN mount ${i}: $(wc -l < /tmp/unused) unused, $(wc -l < /tmp/over) over the cap" && `,
      `mkdir -p /out/mount-${i} && tar -c --numeric-owner -f /out/mount-${i}/content.tar . && `,
      `find . -type f | wc -l > /out/mount-${i}/files )`,
    ].join('');
  });
  return [
    `FROM ${helperImage} AS dump`,
    'ARG BGI_RUN',
    'RUN \\',
    ...items.map((it, i) => `    ${mountFlag(it.mount, `/c${i}`)} \\`),
    `    mkdir -p /out && ${archive.join(' && \\\n    ')}`,
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

interface TransferTarget {
  builder?: string;
  platform: string;
  helperImage: string;
  workDir: string;
  runTag: string;
}

/** Unpacks each tar into its cache mount, in one build (one fixed cost for all mounts). */
export async function injectMounts(
  opts: TransferTarget & { items: { mount: CacheMount; tarFile: string }[] },
): Promise<void> {
  const ctx = path.join(opts.workDir, 'inject-context');
  const dir = path.join(opts.workDir, 'inject-df');
  rmSync(ctx, { recursive: true, force: true });
  mkdirSync(ctx, { recursive: true });
  mkdirSync(dir, { recursive: true });
  // Linked, not copied: the archives can be large.
  opts.items.forEach((it, i) => {
    const to = path.join(ctx, `mount-${i}.tar`);
    try {
      linkSync(it.tarFile, to);
    } catch {
      copyFileSync(it.tarFile, to);
    }
  });
  const df = path.join(dir, 'Dockerfile');
  writeFileSync(
    df,
    injectDockerfile(
      opts.items.map((it) => it.mount),
      opts.helperImage,
    ),
  );
  try {
    await buildx(opts.builder, opts.platform, df, ctx, 'type=cacheonly', opts.runTag);
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}

/** Archives each cache mount to <outDir>/mount-<i>/{content.tar,files}, in one build. */
export async function extractMounts(
  opts: TransferTarget & { items: ExtractItem[]; outDir: string },
): Promise<void> {
  const dir = path.join(opts.workDir, 'extract-df');
  const ctx = path.join(opts.workDir, 'empty-context');
  mkdirSync(dir, { recursive: true });
  mkdirSync(ctx, { recursive: true });
  const df = path.join(dir, 'Dockerfile');
  writeFileSync(df, extractDockerfile(opts.items, opts.helperImage));
  await buildx(opts.builder, opts.platform, df, ctx, `type=local,dest=${opts.outDir}`, opts.runTag);
}

/** One mount in: `tarFile` unpacked into it. */
export function injectMount(
  opts: TransferTarget & { mount: CacheMount; tarFile: string },
): Promise<void> {
  return injectMounts({ ...opts, items: [{ mount: opts.mount, tarFile: opts.tarFile }] });
}

/** One mount out: <outDir>/content.tar and <outDir>/files. */
export async function extractMount(
  opts: TransferTarget & ExtractItem & { outDir: string },
): Promise<void> {
  const staging = `${opts.outDir}.mounts`;
  rmSync(staging, { recursive: true, force: true });
  await extractMounts({ ...opts, items: [opts], outDir: staging });
  rmSync(opts.outDir, { recursive: true, force: true });
  renameSync(path.join(staging, 'mount-0'), opts.outDir);
  rmSync(staging, { recursive: true, force: true });
}
