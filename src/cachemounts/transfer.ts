// Moves cache-mount content in and out of the builder as one tar file per mount, all mounts in one
// helper build each way: one file through the build context is far cheaper than thousands
// (measured: cp -R of a context ~4x plain tar), and a build costs ~0.4 s before it does anything.
// The mount options repeat the user's exactly, or BuildKit would address a different cache.
import {
  copyFileSync,
  linkSync,
  mkdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { docker } from '../buildx/command.ts';
import { getErrorMessage } from '../errors.ts';
import { receiveFiles, serveFiles } from './direct.ts';
import type { CacheMount } from './discover.ts';
import { checkTar } from './tar-check.ts';

export function mountFlag(m: CacheMount, target: string): string {
  const opts = [`type=cache`, `id=${m.id}`, `target=${target}`, `sharing=${m.sharing}`];
  if (m.uid !== undefined) opts.push(`uid=${m.uid}`);
  if (m.gid !== undefined) opts.push(`gid=${m.gid}`);
  if (m.mode !== undefined) opts.push(`mode=${m.mode}`);
  return `--mount=${opts.join(',')}`;
}

/** Where a helper build reaches this process over the host's loopback (direct.ts). */
export interface LoopbackPeer {
  host: string;
  port: number;
  token: string;
}

/**
 * Dockerfile that unpacks mount-<i>.tar into cache mount i, all in one build (no syntax line): from
 * the build context at /in, or, with a loopback peer, fetched from it by wget. `staged`: each
 * archive is fetched whole into a tmpfs at /in, unpacked from there and deleted, one at a time;
 * else wget pipes into tar. BusyBox tar reading a pipe costs about as much again as the unpack
 * itself (measured for 190 MB: 0.63 s piped, 0.36 s fetched to tmpfs and unpacked).
 */
export function injectDockerfile(
  mounts: CacheMount[],
  helperImage: string,
  peer?: LoopbackPeer,
  staged = false,
): string {
  const file = (i: number) => `/in/mount-${i}.tar`;
  const untar = (i: number, from?: string) =>
    `tar -x --numeric-owner${from ? ` -f ${from}` : ''} -C /c${i}`;
  const url = (i: number) => `http://${peer?.host}:${peer?.port}/${peer?.token}/mount-${i}.tar`;
  // Where the archives come from: the mount that brings them to /in, and each one's unpack.
  const source: { input?: string; unpack: (i: number) => string } = !peer
    ? { input: '--mount=type=bind,source=.,target=/in', unpack: (i) => untar(i, file(i)) }
    : staged
      ? {
          input: '--mount=type=tmpfs,target=/in',
          unpack: (i) =>
            `wget -q -O ${file(i)} ${url(i)} && ${untar(i, file(i))} && rm -f ${file(i)}`,
        }
      : { unpack: (i) => `wget -q -O - ${url(i)} | ${untar(i)}` };
  return [
    `FROM ${helperImage}`,
    'ARG BGI_RUN',
    peer ? 'RUN --network=host \\' : 'RUN \\',
    ...mounts.map((m, i) => `    ${mountFlag(m, `/c${i}`)} \\`),
    ...(source.input ? [`    ${source.input} \\`] : []),
    `    ${peer ? 'set -o pipefail && ' : ''}echo "restore $BGI_RUN" && ${mounts.map((_, i) => source.unpack(i)).join(' && ')}`,
    '',
  ].join('\n');
}

/**
 * Archives up to this size are staged in a tmpfs on the loopback path (the largest one is in memory
 * at a time): a quarter of the memory free now, at most 2 GiB.
 */
export function stagingLimit(freeBytes = os.freemem()): number {
  return Math.min(2 * 1024 ** 3, Math.floor(freeBytes / 4));
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
export function extractDockerfile(
  items: ExtractItem[],
  helperImage: string,
  peer?: LoopbackPeer,
): string {
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
    // To the loopback peer: a "<token> <name>" line, then the archive (the file count is read
    // from the archive there); else into /out, exported with the file count.
    const write = peer
      ? uploadCommand(peer, `mount-${i}`)
      : `mkdir -p /out/mount-${i} && tar -c --numeric-owner -f /out/mount-${i}/content.tar . && find . -type f | wc -l > /out/mount-${i}/files`;
    return [
      `( cd /c${i} && : > /tmp/unused && : > /tmp/over && ${goOnly}`,
      `echo "save $BGI_RUN mount ${i}: $(wc -l < /tmp/unused) unused, $(wc -l < /tmp/over) over the cap" && `,
      write,
      ' )',
    ].join('');
  });
  return [
    `FROM ${helperImage} AS dump`,
    'ARG BGI_RUN',
    peer ? 'RUN --network=host \\' : 'RUN \\',
    ...items.map((it, i) => `    ${mountFlag(it.mount, `/c${i}`)} \\`),
    `    ${peer ? 'set -o pipefail' : 'mkdir -p /out'} && ${archive.join(' && \\\n    ')}`,
    ...(peer ? [] : ['FROM scratch', 'COPY --from=dump /out/ /']),
    '',
  ].join('\n');
}

/**
 * Shell that sends the current directory as a tar to the loopback peer. BusyBox nc copies through a
 * small buffer (measured: ~1 s for 180 MB, twice what tar itself takes), so where nc has `-e`, tar
 * runs on the connection itself and writes straight into the socket; any other nc gets a pipe.
 * tar's own status is the command's either way (exec under -e, pipefail for the pipe).
 */
export function uploadCommand(peer: LoopbackPeer, name: string): string {
  const send = `echo "${peer.token} ${name}"; exec tar -c --numeric-owner .`;
  return [
    `case "$(nc --help 2>&1)" in *'-e PROG'*) nc ${peer.host} ${peer.port} -e sh -c '${send}' ;; `,
    `*) { ${send.replace('exec ', '')}; } | nc ${peer.host} ${peer.port} ;; esac`,
  ].join('');
}

const LOOPBACK_TIMEOUT_MS = 300_000;

async function buildx(
  builder: string | undefined,
  platform: string,
  dockerfile: string,
  context: string,
  output: string,
  runTag: string,
  hostNetwork = false,
): Promise<void> {
  const args = ['buildx', 'build'];
  if (builder) args.push('--builder', builder);
  if (hostNetwork) args.push('--allow', 'network.host');
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
  // A loopback attempt that stalls (a helper tool that never finishes) gives way to the context
  // path instead of holding the step.
  await docker(args, {
    maxCapture: 256 * 1024,
    ...(hostNetwork ? { timeoutMs: LOOPBACK_TIMEOUT_MS } : {}),
  });
}

interface TransferTarget {
  builder?: string;
  platform: string;
  helperImage: string;
  workDir: string;
  runTag: string;
  /**
   * Try the loopback path first (the builder's BuildKit runs on this machine with its network, as
   * with the docker driver on a local engine); any failure there falls back to the build context.
   */
  direct?: boolean;
  /** Told why the loopback path was given up for the context path. */
  onLoopbackFailure?: (why: string) => void;
  /** Loopback inject: the largest archive staged in a tmpfs (default stagingLimit()). */
  stageMaxBytes?: number;
}

export type TransferPath = 'loopback' | 'context';

/** Unpacks each tar into its cache mount, in one build (one fixed cost for all mounts). */
export async function injectMounts(
  opts: TransferTarget & { items: { mount: CacheMount; tarFile: string }[] },
): Promise<TransferPath> {
  const dir = path.join(opts.workDir, 'inject-df');
  mkdirSync(dir, { recursive: true });
  const df = path.join(dir, 'Dockerfile');
  const mounts = opts.items.map((it) => it.mount);
  if (opts.direct) {
    const names = opts.items.map((_, i) => `mount-${i}.tar`);
    const channel = await serveFiles(
      Object.fromEntries(opts.items.map((it, i) => [names[i]!, it.tarFile])),
    );
    try {
      const stageMax = opts.stageMaxBytes ?? stagingLimit();
      const staged = opts.items.every((it) => statSync(it.tarFile).size <= stageMax);
      writeFileSync(df, injectDockerfile(mounts, opts.helperImage, channel, staged));
      await loopbackBuild(opts, df);
      if (names.every((n) => channel.completed.has(n))) return 'loopback';
      opts.onLoopbackFailure?.('the helper build did not fetch every archive');
    } catch (e) {
      // Not reachable this way (a remote engine, a helper without wget): the context path below.
      opts.onLoopbackFailure?.(lastLines(e));
    } finally {
      await channel.close();
    }
  }
  const ctx = path.join(opts.workDir, 'inject-context');
  rmSync(ctx, { recursive: true, force: true });
  mkdirSync(ctx, { recursive: true });
  // Linked, not copied: the archives can be large.
  opts.items.forEach((it, i) => {
    const to = path.join(ctx, `mount-${i}.tar`);
    try {
      linkSync(it.tarFile, to);
    } catch {
      copyFileSync(it.tarFile, to);
    }
  });
  writeFileSync(df, injectDockerfile(mounts, opts.helperImage));
  try {
    await buildx(opts.builder, opts.platform, df, ctx, 'type=cacheonly', opts.runTag);
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
  return 'context';
}

function lastLines(e: unknown): string {
  return getErrorMessage(e).trim().split('\n').slice(-3).join(' ').slice(0, 400);
}

function emptyContext(workDir: string): string {
  const ctx = path.join(workDir, 'empty-context');
  mkdirSync(ctx, { recursive: true });
  return ctx;
}

/** A helper build on the host's network with nothing in its context: the content goes by loopback. */
function loopbackBuild(opts: TransferTarget, dockerfile: string): Promise<void> {
  const ctx = emptyContext(opts.workDir);
  return buildx(opts.builder, opts.platform, dockerfile, ctx, 'type=cacheonly', opts.runTag, true);
}

/** Archives each cache mount to <outDir>/mount-<i>/{content.tar,files}, in one build. */
export async function extractMounts(
  opts: TransferTarget & { items: ExtractItem[]; outDir: string },
): Promise<TransferPath> {
  const dir = path.join(opts.workDir, 'extract-df');
  mkdirSync(dir, { recursive: true });
  const df = path.join(dir, 'Dockerfile');
  if (opts.direct) {
    const names = opts.items.map((_, i) => `mount-${i}`);
    const channel = await receiveFiles(opts.outDir, names);
    let whole = false;
    try {
      writeFileSync(df, extractDockerfile(opts.items, opts.helperImage, channel));
      await loopbackBuild(opts, df);
      await channel.settled();
      // The stream's end is not proof of a whole archive: the archive's own end marker is.
      whole = names.every((n) => {
        if (!channel.completed.has(n))
          opts.onLoopbackFailure?.(`${n} arrived without the archive's end`);
        if (!channel.completed.has(n)) return false;
        const check = checkTar(path.join(opts.outDir, n, 'content.tar'));
        if (!check.ok && check.reason !== 'empty archive') return false;
        writeFileSync(path.join(opts.outDir, n, 'files'), `${check.files}\n`);
        return true;
      });
    } catch (e) {
      // Not reachable this way: the export path below.
      opts.onLoopbackFailure?.(lastLines(e));
    } finally {
      await channel.close();
    }
    if (whole) return 'loopback';
    rmSync(opts.outDir, { recursive: true, force: true });
  }
  writeFileSync(df, extractDockerfile(opts.items, opts.helperImage));
  await buildx(
    opts.builder,
    opts.platform,
    df,
    emptyContext(opts.workDir),
    `type=local,dest=${opts.outDir}`,
    opts.runTag,
  );
  return 'context';
}

/** One mount in: `tarFile` unpacked into it. */
export function injectMount(
  opts: TransferTarget & { mount: CacheMount; tarFile: string },
): Promise<TransferPath> {
  return injectMounts({ ...opts, items: [{ mount: opts.mount, tarFile: opts.tarFile }] });
}

/** One mount out: <outDir>/content.tar and <outDir>/files. */
export async function extractMount(
  opts: TransferTarget & ExtractItem & { outDir: string },
): Promise<TransferPath> {
  const staging = `${opts.outDir}.mounts`;
  rmSync(staging, { recursive: true, force: true });
  const how = await extractMounts({ ...opts, items: [opts], outDir: staging });
  rmSync(opts.outDir, { recursive: true, force: true });
  renameSync(path.join(staging, 'mount-0'), opts.outDir);
  rmSync(staging, { recursive: true, force: true });
  return how;
}
