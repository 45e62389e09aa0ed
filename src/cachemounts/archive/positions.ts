// Where things sit in an archive, found by the one tar reader (reader.ts), strictly as it reads:
// - indexArchive: each entry's byte range and own header, without reading the data: what the store
//   needs to list a mount's state (store/manifest.ts), to copy some entries out of it (a delta)
//   and to change an entry's mtime in place (a delta's access-time refreshes, writer.ts);
// - TarEndFinder: where a stream's end marker is, for a receiver that must stop there
//   (transport/loopback.ts).
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { TarReader, type TarEntry } from './reader.ts';

export type EntryKind = 'file' | 'dir' | 'symlink';

export interface IndexedEntry {
  /** Relative to the mount: no leading "./", no trailing "/". */
  name: string;
  kind: EntryKind;
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  linkName: string;
  /** First byte of the entry's records (its long-name or pax records come first). */
  start: number;
  /** Its own header (the one that carries mtime). */
  header: number;
  /** Past its data, padded to the block. */
  end: number;
  /** A pax record sets this entry's mtime, so the header's mtime field does not count. */
  paxMtime: boolean;
}

export interface ArchiveIndex {
  entries: IndexedEntry[];
  /** Where the end marker starts: what comes after the last entry. */
  endOfEntries: number;
}

const BLOCK = 512;
/** After the end marker only zeros may follow; they are read in pieces of this size. */
const TAIL_CHUNK = 64 * 1024;

const KINDS: Partial<Record<TarEntry['type'], EntryKind>> = {
  file: 'file',
  directory: 'dir',
  symlink: 'symlink',
};

export function normaliseName(name: string): string {
  return name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
}

/** Reads `len` bytes at `pos` of an open file, all of them or throws. */
export function readAt(fd: number, pos: number, len: number): Buffer {
  const b = Buffer.alloc(len);
  let got = 0;
  while (got < len) {
    const n = readSync(fd, b, got, len - got, pos + got);
    if (n === 0) throw new Error(`archive ends at byte ${pos + got}, inside an entry`);
    got += n;
  }
  return b;
}

/**
 * Lists an archive's files, directories and symlinks with where each sits, reading its headers
 * and passing over the data. Other types (hard links, devices, fifos) are left out: the normaliser
 * decides what becomes of them (normalise.ts), and the store never carries them. Throws what the
 * reader throws (TarFormatError) for an archive it would refuse.
 */
export function indexArchive(file: string): ArchiveIndex {
  const entries: IndexedEntry[] = [];
  const reader = new TarReader({
    entry(e) {
      const kind = KINDS[e.type];
      const name = normaliseName(e.name);
      if (!kind || name === '' || name === '.') return;
      entries.push({
        name,
        kind,
        size: kind === 'file' ? e.size : 0,
        mtime: e.mtime,
        linkName: kind === 'symlink' ? e.linkname : '',
        start: e.offset,
        header: e.headerOffset,
        end: e.headerOffset + BLOCK + Math.ceil(e.size / BLOCK) * BLOCK,
        paxMtime: e.mtimeFromPax,
      });
    },
    data() {},
  });
  const fd = openSync(file, 'r');
  try {
    const total = fstatSync(fd).size;
    let pos = 0;
    // Block by block up to the end marker (headers and extension records), skipping the data.
    while (pos < total && !reader.ended) {
      const n = Math.min(BLOCK, total - pos);
      reader.feed(readAt(fd, pos, n));
      pos += n + reader.skipData();
    }
    if (pos > total) throw new Error(`archive ends inside the entry before byte ${pos}`);
    for (; pos < total; pos += TAIL_CHUNK)
      reader.feed(readAt(fd, pos, Math.min(TAIL_CHUNK, total - pos)));
    reader.end();
    return { entries, endOfEntries: reader.endOffset! };
  } finally {
    closeSync(fd);
  }
}

/**
 * Follows a tar stream and says where its end marker (a zero block) is. A receiver stops there and
 * closes the connection itself, so a sender whose nc never half-closes (netcat-openbsd without -N)
 * cannot hang the build, and an upload without its end is incomplete. Throws the reader's
 * TarFormatError on a stream it would refuse (which then never ends).
 */
export class TarEndFinder {
  private readonly reader = new TarReader({ entry() {}, data() {} });

  /** Set once the end marker was seen. */
  get ended(): boolean {
    return this.reader.ended;
  }

  /** How many bytes of `chunk` belong to the archive (all of them until the end marker). */
  feed(chunk: Buffer): number {
    return this.reader.feedUntilEnd(chunk);
  }
}
