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
import { startDetached } from '../io/exec.ts';
import { receiveFiles, serveFiles } from './direct.ts';
import type { CacheMount } from './discover.ts';
import { scanArchive } from './archive/reader.ts';

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
 * What the helper's shell runs on. `scratch`: an empty root with the helper image bound read-only
 * at /h; `image`: the helper image itself as the root. An image root is an overlay filesystem, and
 * unmounting an overlay syncs the whole filesystem under it: each transfer waited until every dirty
 * page on the engine's disk was written, what it had just unpacked and whatever else had been
 * written before it, such as the archive the restore had just unpacked (measured: about 0.3 s
 * after 190 MB were written, however recently). An empty root is a plain bind mount and waits for
 * nothing; the data go to disk in the background (settleLocal). It needs a helper whose tools
 * run from /h/bin without a root of their own (statically linked, as the busybox images are); any
 * other helper gets its own image as root.
 */
export type HelperRoot = 'scratch' | 'image';

const HELPER_PATH = '/h/bin:/h/usr/bin:/h/sbin:/h/usr/sbin';

/** One helper stage: the helper's shell runs `script` with `mounts`, on the root asked for. */
function helperStage(opts: {
  helperImage: string;
  root: HelperRoot;
  hostNetwork: boolean;
  mounts: string[];
  script: string;
  stage?: string;
}): string[] {
  const scratch = opts.root === 'scratch';
  const flags = [
    ...(opts.hostNetwork ? ['--network=host'] : []),
    ...(scratch
      ? [`--mount=type=bind,from=${opts.helperImage},target=/h`, '--mount=type=tmpfs,target=/tmp']
      : []),
    ...opts.mounts,
  ];
  return [
    `FROM ${scratch ? 'scratch' : opts.helperImage}${opts.stage ? ` AS ${opts.stage}` : ''}`,
    'ARG BGI_RUN',
    ...(scratch ? [`ENV PATH=${HELPER_PATH}`] : []),
    'RUN \\',
    ...flags.map((f) => `    ${f} \\`),
    // The exec form on an empty root: there is no /bin/sh there, the helper's is at /h/bin/sh.
    `    ${scratch ? JSON.stringify(['/h/bin/sh', '-c', opts.script]) : opts.script}`,
  ];
}

export interface InjectSource {
  /** Fetch the archives from this loopback peer, else read them from the build context at /in. */
  peer?: LoopbackPeer;
  /** Loopback: fetch each archive whole into a tmpfs at /in and unpack it there; else pipe. */
  staged?: boolean;
}

/**
 * The helper's shell command that unpacks mount-<i>.tar into /c<i>: from the build context at
 * /in, or, with a loopback peer, fetched from it by wget. `staged`: each archive is fetched whole
 * into a tmpfs at /in, unpacked from there and deleted, one at a time; else wget pipes into tar.
 * BusyBox tar reading a pipe costs about as much again as the unpack itself (measured for 190 MB:
 * 0.63 s piped, 0.36 s fetched to tmpfs and unpacked).
 *
 * The archives are normalised (archive/normalise.ts), and each is unpacked by its own tar into its
 * own mount, emptied first: a mount a builder kept from an earlier run may hold links, and tar
 * would write through a link to a directory. In an empty mount the only links are the archive's
 * own, which point inside it and have nothing written beneath them. rm does not follow links.
 */
export function injectScript(count: number, { peer, staged }: InjectSource = {}): string {
  const file = (i: number) => `/in/mount-${i}.tar`;
  const empty = (i: number) => `rm -rf /c${i}/* /c${i}/.[!.]* /c${i}/..?*`;
  const untar = (i: number, from?: string) =>
    `tar -x --numeric-owner${from ? ` -f ${from}` : ''} -C /c${i}`;
  const url = (i: number) => `http://${peer?.host}:${peer?.port}/${peer?.token}/mount-${i}.tar`;
  const fill = (i: number) =>
    !peer
      ? untar(i, file(i))
      : staged
        ? `wget -q -O ${file(i)} ${url(i)} && ${untar(i, file(i))} && rm -f ${file(i)}`
        : `wget -q -O - ${url(i)} | ${untar(i)}`;
  const unpack = (i: number) => `${empty(i)} && ${fill(i)}`;
  const steps = Array.from({ length: count }, (_, i) => unpack(i));
  return `${peer ? 'set -o pipefail && ' : ''}echo "restore $BGI_RUN" && ${steps.join(' && ')}`;
}

/** Dockerfile that unpacks mount-<i>.tar into cache mount i, all in one build (no syntax line). */
export function injectDockerfile(
  mounts: CacheMount[],
  helperImage: string,
  source: InjectSource & { root?: HelperRoot } = {},
): string {
  const input = !source.peer
    ? '--mount=type=bind,source=.,target=/in'
    : source.staged
      ? '--mount=type=tmpfs,target=/in'
      : undefined;
  return [
    ...helperStage({
      helperImage,
      root: source.root ?? 'image',
      hostNetwork: Boolean(source.peer),
      mounts: [...mounts.map((m, i) => mountFlag(m, `/c${i}`)), ...(input ? [input] : [])],
      script: injectScript(mounts.length, source),
    }),
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
  { peer, root }: { peer?: LoopbackPeer; root?: HelperRoot } = {},
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
    ...helperStage({
      helperImage,
      root: root ?? 'image',
      hostNetwork: Boolean(peer),
      mounts: items.map((it, i) => mountFlag(it.mount, `/c${i}`)),
      script: `${peer ? 'set -o pipefail' : 'mkdir -p /out'} && ${archive.join(' && ')}`,
      stage: 'dump',
    }),
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
  /** The helper root known to work (an earlier transfer's); else an empty root is tried first. */
  helperRoot?: HelperRoot;
  /** Told when the helper did not run on an empty root but did on its own image, and why. */
  onHelperRoot?: (root: HelperRoot, why: string) => void;
}

export type TransferPath = 'loopback' | 'context';

/**
 * Runs one transfer attempt on each helper root in turn until one works: the empty root first,
 * then the helper's own image (a helper that is not statically linked cannot run on an empty root).
 * A root found to work is kept in `known` for the attempts that follow. Throws the last failure.
 */
async function onHelperRoots(
  opts: TransferTarget,
  known: { root?: HelperRoot },
  attempt: (root: HelperRoot) => Promise<void>,
): Promise<void> {
  const roots: HelperRoot[] = known.root ? [known.root] : ['scratch', 'image'];
  let failure: unknown;
  for (const root of roots) {
    try {
      await attempt(root);
    } catch (e) {
      failure = e;
      continue;
    }
    if (root !== roots[0]) opts.onHelperRoot?.(root, lastLines(failure));
    known.root = root;
    return;
  }
  throw failure;
}

/** Unpacks each tar into its cache mount, in one build (one fixed cost for all mounts). */
export async function injectMounts(
  opts: TransferTarget & {
    items: { mount: CacheMount; tarFile: string }[];
    /** The archives are this call's to delete once unpacked (a restore's, used once). */
    consumeArchives?: boolean;
  },
): Promise<TransferPath> {
  const dir = path.join(opts.workDir, 'inject-df');
  mkdirSync(dir, { recursive: true });
  const df = path.join(dir, 'Dockerfile');
  const mounts = opts.items.map((it) => it.mount);
  const known = { root: opts.helperRoot };
  if (opts.direct) {
    const names = opts.items.map((_, i) => `mount-${i}.tar`);
    const stageMax = opts.stageMaxBytes ?? stagingLimit();
    const staged = opts.items.every((it) => statSync(it.tarFile).size <= stageMax);
    try {
      await onHelperRoots(opts, known, async (root) => {
        // Each archive is handed out once per channel: a new channel for each attempt.
        const channel = await serveFiles(
          Object.fromEntries(opts.items.map((it, i) => [names[i]!, it.tarFile])),
        );
        try {
          writeFileSync(
            df,
            injectDockerfile(mounts, opts.helperImage, { peer: channel, staged, root }),
          );
          await loopbackBuild(opts, df);
          if (!names.every((n) => channel.completed.has(n)))
            throw new Error('the helper build did not fetch every archive');
        } finally {
          await channel.close();
        }
      });
      settleLocal(opts);
      return 'loopback';
    } catch (e) {
      // Not reachable this way (a remote engine, a helper without wget): the context path below.
      opts.onLoopbackFailure?.(lastLines(e));
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
  try {
    await onHelperRoots(opts, known, async (root) => {
      writeFileSync(df, injectDockerfile(mounts, opts.helperImage, { root }));
      await buildx(opts.builder, opts.platform, df, ctx, 'type=cacheonly', opts.runTag);
    });
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
  if (opts.direct) settleLocal(opts);
  return 'context';
}

/**
 * After an inject into an engine on this machine: the archives go (when they were handed over to
 * be consumed) before their pages are written to disk for nothing, then sync(1) starts, unwaited.
 * What the helper unpacked sits in memory until the kernel writes it back, and the user's first
 * RUN would wait for all of it when its overlay root is unmounted (which syncs the filesystem);
 * started now, the writeback overlaps the next build's start instead.
 */
function settleLocal(opts: { items: { tarFile: string }[]; consumeArchives?: boolean }): void {
  if (opts.consumeArchives) for (const it of opts.items) rmSync(it.tarFile, { force: true });
  startDetached('sync');
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
  const known = { root: opts.helperRoot };
  if (opts.direct) {
    const names = opts.items.map((_, i) => `mount-${i}`);
    try {
      await onHelperRoots(opts, known, async (root) => {
        rmSync(opts.outDir, { recursive: true, force: true });
        const channel = await receiveFiles(opts.outDir, names);
        try {
          writeFileSync(
            df,
            extractDockerfile(opts.items, opts.helperImage, { peer: channel, root }),
          );
          await loopbackBuild(opts, df);
          await channel.settled();
        } finally {
          await channel.close();
        }
        // The stream's end is not proof of a whole archive: the archive's own end marker is.
        for (const n of names) {
          if (!channel.completed.has(n)) throw new Error(`${n} arrived without the archive's end`);
          const scan = await scanArchive(path.join(opts.outDir, n, 'content.tar')).catch(
            (e: unknown) => {
              throw new Error(`${n} arrived damaged: ${getErrorMessage(e)}`);
            },
          );
          writeFileSync(path.join(opts.outDir, n, 'files'), `${scan.files}\n`);
        }
      });
      return 'loopback';
    } catch (e) {
      // Not reachable this way: the export path below.
      opts.onLoopbackFailure?.(lastLines(e));
      rmSync(opts.outDir, { recursive: true, force: true });
    }
  }
  await onHelperRoots(opts, known, async (root) => {
    writeFileSync(df, extractDockerfile(opts.items, opts.helperImage, { root }));
    await buildx(
      opts.builder,
      opts.platform,
      df,
      emptyContext(opts.workDir),
      `type=local,dest=${opts.outDir}`,
      opts.runTag,
    );
  });
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
