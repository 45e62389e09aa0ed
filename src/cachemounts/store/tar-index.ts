// Where each entry of a tar archive sits, without reading the data: what the store needs to list a
// mount's state (manifest.ts), to copy some entries out of it (a delta) and to change an entry's
// mtime in place (a delta's access-time refreshes). The archives come from BusyBox or GNU tar
// (ustar headers, GNU long-name and pax records) and were read strictly (archive/reader.ts) before
// they get here; a header this reader cannot frame throws rather than being guessed at.
import { closeSync, fstatSync, openSync, readSync, writeSync } from 'node:fs';

export type EntryKind = 'file' | 'dir' | 'symlink';

export interface TarEntry {
  /** Relative to the mount: no leading "./", no trailing "/". */
  name: string;
  kind: EntryKind;
  size: number;
  /** Seconds since the epoch, as the header holds it. */
  mtime: number;
  linkName: string;
  /** First byte of the entry's records (its long-name or pax records come first). */
  start: number;
  /** Its own header (the one that carries mtime). */
  header: number;
  /** Past its data, padded to the block. */
  end: number;
  /** A pax record sets this entry's mtime, so the header's mtime does not count. */
  paxMtime: boolean;
}

export interface TarIndex {
  entries: TarEntry[];
  /** Where the end marker starts: what comes after the last entry. */
  endOfEntries: number;
}

const BLOCK = 512;

function field(b: Buffer, off: number, len: number): string {
  const s = b.subarray(off, off + len);
  const z = s.indexOf(0);
  return s.subarray(0, z < 0 ? len : z).toString('utf8');
}

function octal(b: Buffer, off: number, len: number, what: string, at: number): number {
  const t = field(b, off, len).trim();
  if (t === '') return 0;
  if (!/^[0-7]+$/.test(t)) throw new Error(`tar header at byte ${at}: unreadable ${what}`);
  return parseInt(t, 8);
}

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

export function indexTar(file: string): TarIndex {
  const fd = openSync(file, 'r');
  try {
    const total = fstatSync(fd).size;
    const entries: TarEntry[] = [];
    let pos = 0;
    let start = 0;
    let longName: string | undefined;
    let longLink: string | undefined;
    let paxMtime = false;
    while (pos + BLOCK <= total) {
      const h = readAt(fd, pos, BLOCK);
      if (h.every((x) => x === 0)) return { entries, endOfEntries: pos };
      const size = octal(h, 124, 12, 'size', pos);
      const type = String.fromCharCode(h[156] || 48);
      const dataEnd = pos + BLOCK + Math.ceil(size / BLOCK) * BLOCK;
      if (dataEnd > total) throw new Error(`archive ends inside the entry at byte ${pos}`);
      if (type === 'L' || type === 'K' || type === 'x') {
        if (size > 1 << 20) throw new Error(`oversized extension record at byte ${pos}`);
        const text = readAt(fd, pos + BLOCK, size).toString('utf8');
        if (type === 'L') longName = text.replace(/\0.*$/s, '');
        else if (type === 'K') longLink = text.replace(/\0.*$/s, '');
        else {
          const path = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(text)?.[1];
          const link = /(?:^|\n)\d+ linkpath=([^\n]*)\n/.exec(text)?.[1];
          if (path !== undefined) longName = path;
          if (link !== undefined) longLink = link;
          if (/(?:^|\n)\d+ mtime=/.test(text)) paxMtime = true;
        }
        pos = dataEnd;
        continue;
      }
      if (type === 'g') {
        pos = dataEnd;
        start = pos;
        continue;
      }
      const prefix = field(h, 345, 155);
      const raw = longName ?? (prefix ? `${prefix}/${field(h, 0, 100)}` : field(h, 0, 100));
      const kind: EntryKind | undefined =
        type === '0' || type === '\0' || type === '7'
          ? 'file'
          : type === '5'
            ? 'dir'
            : type === '2'
              ? 'symlink'
              : undefined;
      const name = normaliseName(raw);
      // Other types (hard links, devices, fifos) are left out of the index: the normaliser decides
      // what becomes of them (archive/normalise.ts), and the store never carries them.
      if (kind && name !== '' && name !== '.')
        entries.push({
          name,
          kind,
          size: kind === 'file' ? size : 0,
          mtime: octal(h, 136, 12, 'mtime', pos),
          linkName: kind === 'symlink' ? (longLink ?? field(h, 157, 100)) : '',
          start,
          header: pos,
          end: dataEnd,
          paxMtime,
        });
      longName = undefined;
      longLink = undefined;
      paxMtime = false;
      pos = dataEnd;
      start = pos;
    }
    throw new Error('archive ends without its end marker');
  } finally {
    closeSync(fd);
  }
}

/** Rewrites the mtime of the header at `header` (and its checksum) in an archive open for writing. */
export function setHeaderMtime(fd: number, header: number, mtime: number): void {
  const h = readAt(fd, header, BLOCK);
  h.write(mtime.toString(8).padStart(11, '0') + '\0', 136, 12, 'ascii');
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of h) sum += x;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'ascii');
  writeSync(fd, h, 0, BLOCK, header);
}
