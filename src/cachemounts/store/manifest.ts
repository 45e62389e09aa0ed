// What a full entry held when it was restored: each file's size and mtime (and, for small files, a
// digest of the content). The save compares the mount after the build against it to find what the
// build added or changed (delta.ts). It is never taken from the cache entry: it is read from the
// restored archive itself, after that archive was checked, and kept in the run's scratch folder
// for the post step, which checks its shape again before it uses it.
import { createHash } from 'node:crypto';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { indexArchive, readAt, type ArchiveIndex, type EntryKind } from '../archive/positions.ts';

/**
 * Files up to this size are compared by content: a Go build cache's action files ("-a", about 180
 * bytes) keep their size when Go rewrites them, so size and mtime cannot tell a rewrite from a
 * refresh; larger files are content-addressed (Go's "-d" outputs, named by their hash) or
 * immutable (module files), so a new mtime on the same size is a refresh.
 */
export const SMALL_FILE_BYTES = 4096;

export interface ManifestEntry {
  kind: EntryKind;
  size: number;
  mtime: number;
  /** Content digest of a small file, or a symlink's target. */
  digest?: string;
}

export interface Manifest {
  /** The full entry this state came from. */
  fullKey: string;
  /** Size of the full entry's archive: the delta threshold is a share of it. */
  archiveBytes: number;
  /** A Go build cache (README from the Go build system, or trim.txt): same-size files are refreshes. */
  goBuildCache: boolean;
  entries: Map<string, ManifestEntry>;
  /** The delta restored on top of the full entry, if any (a save that adds nothing skips). */
  delta?: { key: string; digest: string };
}

const digestOf = (b: Buffer) => createHash('sha256').update(b).digest('hex').slice(0, 32);

/** Lists an archive's entries with what a delta compares; small files are read for their digest. */
export function manifestEntries(file: string, index: ArchiveIndex = indexArchive(file)) {
  const entries = new Map<string, ManifestEntry>();
  let goBuildCache = false;
  const fd = openSync(file, 'r');
  try {
    for (const e of index.entries) {
      const m: ManifestEntry = { kind: e.kind, size: e.size, mtime: e.mtime };
      if (e.kind === 'symlink') m.digest = e.linkName;
      if (e.kind === 'file' && e.size <= SMALL_FILE_BYTES) {
        const data = readAt(fd, e.header + 512, e.size);
        m.digest = digestOf(data);
        if (e.name === 'README' && data.includes('Go build system')) goBuildCache = true;
      }
      if (e.name === 'trim.txt') goBuildCache = true;
      entries.set(e.name, m);
    }
  } finally {
    closeSync(fd);
  }
  return { entries, goBuildCache };
}

export function manifestOf(
  file: string,
  fullKey: string,
  archiveBytes: number,
  index: ArchiveIndex = indexArchive(file),
): Manifest {
  return { fullKey, archiveBytes, ...manifestEntries(file, index) };
}

interface ManifestFile {
  v: 1;
  fullKey: string;
  archiveBytes: number;
  goBuildCache: boolean;
  delta?: { key: string; digest: string };
  entries: [string, EntryKind, number, number, string?][];
}

export function writeManifest(file: string, m: Manifest): void {
  const out: ManifestFile = {
    v: 1,
    fullKey: m.fullKey,
    archiveBytes: m.archiveBytes,
    goBuildCache: m.goBuildCache,
    ...(m.delta ? { delta: m.delta } : {}),
    entries: [...m.entries].map(([name, e]) =>
      e.digest === undefined
        ? [name, e.kind, e.size, e.mtime]
        : [name, e.kind, e.size, e.mtime, e.digest],
    ),
  };
  writeFileSync(file, JSON.stringify(out));
}

const KINDS = new Set<string>(['file', 'dir', 'symlink']);
const count = (x: unknown) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0;

/** Reads a manifest back; anything not of the shape writeManifest writes throws. */
export function readManifest(file: string): Manifest {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Partial<ManifestFile>;
  const bad = (what: string) => new Error(`manifest ${file}: ${what}`);
  if (raw.v !== 1 || typeof raw.fullKey !== 'string' || !raw.fullKey) throw bad('no version/key');
  if (!count(raw.archiveBytes) || typeof raw.goBuildCache !== 'boolean') throw bad('bad header');
  if (
    raw.delta !== undefined &&
    (typeof raw.delta.key !== 'string' || typeof raw.delta.digest !== 'string')
  )
    throw bad('bad delta');
  if (!Array.isArray(raw.entries)) throw bad('no entries');
  const entries = new Map<string, ManifestEntry>();
  for (const e of raw.entries) {
    if (
      !Array.isArray(e) ||
      typeof e[0] !== 'string' ||
      !KINDS.has(e[1]) ||
      !count(e[2]) ||
      !count(e[3]) ||
      (e[4] !== undefined && typeof e[4] !== 'string')
    )
      throw bad('bad entry');
    entries.set(e[0], {
      kind: e[1],
      size: e[2],
      mtime: e[3],
      ...(e[4] !== undefined ? { digest: e[4] } : {}),
    });
  }
  return {
    fullKey: raw.fullKey,
    archiveBytes: raw.archiveBytes!,
    goBuildCache: raw.goBuildCache!,
    entries,
    ...(raw.delta ? { delta: raw.delta } : {}),
  };
}
