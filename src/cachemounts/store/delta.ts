// A delta: what the mount holds after a build that the full entry it was restored from does not.
// Deltas are cumulative (each one against the full entry, not against the previous delta), so a
// restore needs the full entry and one delta, the newest. A delta carries:
// - the entries the build added or whose content changed (new Go build-cache entries, new module
//   versions), copied byte for byte from the archive taken out of the builder;
// - the mtimes of the entries the build only refreshed: Go marks a build-cache entry as used by
//   setting its mtime when that is more than an hour old, and its trimming and ours (the extract
//   helper build, transport/helper-dockerfile.ts) read that mark. A refresh costs a name and a number instead of the file.
// What a build removed is not recorded: a restore brings it back from the full entry, where it is
// harmless (an unused cache entry) until the next full entry, which is pruned.
import { createHash } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  ftruncateSync,
  openSync,
  readFileSync,
  readSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { SMALL_FILE_BYTES, type Manifest } from './manifest.ts';
import { indexArchive, readAt, type ArchiveIndex } from '../archive/positions.ts';
import { setHeaderMtime } from '../archive/writer.ts';

/**
 * A delta over this share of the full entry's archive is saved as a new full entry instead. Every
 * restore downloads the full entry and the delta, and every delta is kept until it is evicted, so
 * the bytes a cycle of N runs stores grow with N times the delta: past a quarter, a fresh, pruned
 * full entry costs less than carrying the delta on (the restore downloads at most 1.25x the state,
 * and what the builds stopped using goes with the new full entry).
 */
export const DELTA_SHARE_MAX = 0.25;

export interface DeltaPlan {
  /** Byte ranges of the archive taken out of the builder that go into the delta, in order. */
  spans: [number, number][];
  /** Files and symlinks in the delta (a new directory alone is not worth an entry). */
  entries: number;
  /** The delta archive's size. */
  bytes: number;
  /** Entries only refreshed: name and the mtime to set. */
  touched: [string, number][];
  /** Identifies what the delta holds (names, sizes, mtimes), to skip saving the same delta twice. */
  digest: string;
}

const END_MARKER = Buffer.alloc(1024);

/** What the archive `current` holds that the full entry described by `base` does not. */
export function planDelta(
  current: string,
  base: Manifest,
  index: ArchiveIndex = indexArchive(current),
): DeltaPlan {
  const spans: [number, number][] = [];
  const touched: [string, number][] = [];
  const lines: string[] = [];
  let entries = 0;
  const fd = openSync(current, 'r');
  try {
    for (const e of index.entries) {
      const was = base.entries.get(e.name);
      let changed: boolean;
      let refreshed = false;
      if (!was || was.kind !== e.kind) changed = true;
      else if (e.kind === 'dir') changed = false;
      else if (e.kind === 'symlink') changed = was.digest !== e.linkName;
      else if (was.size !== e.size) changed = true;
      else if (e.size <= SMALL_FILE_BYTES) {
        const digest = createHash('sha256')
          .update(readAt(fd, e.header + 512, e.size))
          .digest('hex')
          .slice(0, 32);
        changed = digest !== was.digest;
        refreshed = !changed && was.mtime !== e.mtime;
      } else if (was.mtime === e.mtime) changed = false;
      else if (base.goBuildCache) {
        changed = false;
        refreshed = true;
      } else changed = true;
      if (changed) {
        spans.push([e.start, e.end]);
        if (e.kind !== 'dir') entries++;
        lines.push(`${e.kind} ${e.name} ${e.size} ${e.mtime} ${e.linkName}`);
      } else if (refreshed && !e.paxMtime) {
        touched.push([e.name, e.mtime]);
        lines.push(`touch ${e.name} ${e.mtime}`);
      }
    }
  } finally {
    closeSync(fd);
  }
  const digest = createHash('sha256').update(lines.sort().join('\n')).digest('hex').slice(0, 32);
  const bytes = spans.reduce((n, [a, b]) => n + b - a, 0) + END_MARKER.length;
  return { spans, entries, bytes, touched, digest };
}

/** Writes the delta's archive: the planned entries of `current`, then an end marker. */
export function writeDeltaArchive(current: string, plan: DeltaPlan, out: string): void {
  const from = openSync(current, 'r');
  const to = openSync(out, 'w');
  try {
    const buf = Buffer.alloc(1 << 20);
    let at = 0;
    for (const [a, b] of plan.spans) at = copyBytes(from, a, b, to, at, buf, current);
    writeSync(to, END_MARKER, 0, END_MARKER.length, at);
  } finally {
    closeSync(from);
    closeSync(to);
  }
}

/** Saved next to the delta's archive: which full entry it extends, and the refreshes. */
export interface DeltaMeta {
  v: 1;
  base: string;
  digest: string;
  touched: [string, number][];
}

export function writeDeltaMeta(file: string, meta: DeltaMeta): void {
  writeFileSync(file, JSON.stringify(meta));
}

/** Reads a restored delta's meta; throws unless it is well formed and extends `fullKey`. */
export function readDeltaMeta(file: string, fullKey: string): DeltaMeta {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Partial<DeltaMeta>;
  if (raw.v !== 1 || typeof raw.digest !== 'string' || !Array.isArray(raw.touched))
    throw new Error('the delta has no valid description');
  if (raw.base !== fullKey)
    throw new Error(`the delta extends ${String(raw.base)}, not the restored ${fullKey}`);
  for (const t of raw.touched)
    if (
      !Array.isArray(t) ||
      typeof t[0] !== 'string' ||
      !Number.isSafeInteger(t[1]) ||
      t[1] < 0 ||
      t[1] >= 8 ** 11
    )
      throw new Error('the delta lists a malformed refresh');
  return raw as DeltaMeta;
}

/**
 * Makes `fullTar` the state the delta describes, in place: the refreshed entries get their new
 * mtimes in their headers, and the delta's entries are appended after the full entry's (tar -x
 * lets a later entry replace an earlier one of the same name). Costs what the delta holds, not
 * what the full entry holds. Both archives must have been checked; the delta is indexed first,
 * so a malformed one throws before the full archive is touched.
 */
export function applyDelta(
  fullTar: string,
  fullIndex: ArchiveIndex,
  deltaTar: string,
  meta: DeltaMeta,
): { entries: number; refreshed: number } {
  const delta = indexArchive(deltaTar);
  const replaced = new Set(delta.entries.map((e) => e.name));
  const byName = new Map(fullIndex.entries.map((e) => [e.name, e]));
  const fd = openSync(fullTar, 'r+');
  let refreshed = 0;
  try {
    if (fstatSync(fd).size < fullIndex.endOfEntries) throw new Error(`${fullTar} changed`);
    for (const [name, mtime] of meta.touched) {
      const e = byName.get(name);
      if (!e || e.kind !== 'file' || e.paxMtime || replaced.has(name)) continue;
      setHeaderMtime(fd, e.header, mtime);
      refreshed++;
    }
    ftruncateSync(fd, fullIndex.endOfEntries);
    const from = openSync(deltaTar, 'r');
    try {
      const buf = Buffer.alloc(1 << 20);
      const at = copyBytes(from, 0, delta.endOfEntries, fd, fullIndex.endOfEntries, buf, deltaTar);
      writeSync(fd, END_MARKER, 0, END_MARKER.length, at);
    } finally {
      closeSync(from);
    }
  } finally {
    closeSync(fd);
  }
  return { entries: delta.entries.filter((e) => e.kind !== 'dir').length, refreshed };
}

/**
 * Copies bytes [start, end) of one open file to another at `at`, through `buf`; returns where the
 * copy ends. `name` is for the error when the source is shorter than it should be.
 */
function copyBytes(
  from: number,
  start: number,
  end: number,
  to: number,
  at: number,
  buf: Buffer,
  name: string,
): number {
  for (let pos = start; pos < end;) {
    const n = readSync(from, buf, 0, Math.min(buf.length, end - pos), pos);
    if (n === 0) throw new Error(`${name} ends at byte ${pos}`);
    writeSync(to, buf, 0, n, at);
    pos += n;
    at += n;
  }
  return at;
}
