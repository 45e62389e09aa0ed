// Moves cache-mount content in and out of the builder as one tar file per mount, all mounts in one
// helper build each way: one file through the build context is far cheaper than thousands
// (measured: cp -R of a context ~4x plain tar), and a build costs ~0.4 s before it does anything.
// Two ways each: the loopback channel (loopback.ts) where the builder's BuildKit runs on this
// machine with its network, else the build context in and the build export out; and two helper
// roots (helper-dockerfile.ts HelperRoot), the empty one first.
import {
  copyFileSync,
  linkSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { docker } from '../../buildx/command.ts';
import { getErrorMessage } from '../../errors.ts';
import { startDetached } from '../../io/exec.ts';
import { scanArchive } from '../archive/reader.ts';
import type { CacheMount } from '../discover.ts';
import {
  extractDockerfile,
  injectDockerfile,
  type ExtractItem,
  type HelperRoot,
} from './helper-dockerfile.ts';
import { receiveFiles, serveFiles } from './loopback.ts';

export type { ExtractItem, HelperRoot } from './helper-dockerfile.ts';

/**
 * Archives up to this size are staged in a tmpfs on the loopback path (the largest one is in memory
 * at a time): a quarter of the memory free now, at most 2 GiB.
 */
export function stagingLimit(freeBytes = os.freemem()): number {
  return Math.min(2 * 1024 ** 3, Math.floor(freeBytes / 4));
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
          const refused = channel.refused.get(n);
          if (refused) throw new Error(`${n} arrived damaged: ${refused}`);
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

/**
 * Where extractMounts left mount `i` of `outDir`: its folder, its archive, and how many files the
 * archive holds (read when asked: the count is written by the helper, or after the loopback check).
 */
export function extractedMount(outDir: string, i: number) {
  const dir = path.join(outDir, `mount-${i}`);
  return {
    dir,
    tarFile: path.join(dir, 'content.tar'),
    files: () => Number(readFileSync(path.join(dir, 'files'), 'utf8').trim() || '0'),
  };
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
  renameSync(extractedMount(staging, 0).dir, opts.outDir);
  rmSync(staging, { recursive: true, force: true });
  return how;
}
