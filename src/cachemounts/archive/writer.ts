// Writes tar archives in the smallest subset of the format every tar reads alike: POSIX ustar
// headers with plain octal numbers and no name prefix, and, only for a name or link target longer
// than a header holds, one pax header with `path` and/or `linkpath` records before it. Nothing else:
// no GNU extensions, no other pax keys, no sizes or ids that need more than the octal fields.
import { readSync, writeSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

export type WrittenType = 'file' | 'directory' | 'symlink';

export interface WrittenEntry {
  /** Relative, already normalised: no leading `/`, no `.` or `..` components; `.` is the root. */
  name: string;
  type: WrittenType;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  /** Bytes of data that `data` will be given (files only). */
  size: number;
  linkname?: string;
}

const BLOCK = 512;
/** The largest value of an 11-digit octal field (size, mtime): 8 GiB - 1. */
export const MAX_OCTAL_11 = 0o77777777777;
/** The largest value of a 7-digit octal field (mode, uid, gid). */
export const MAX_OCTAL_7 = 0o7777777;
const ZEROS = Buffer.alloc(2 * BLOCK);
const TYPEFLAG: Record<WrittenType | 'pax', string> = {
  file: '0',
  directory: '5',
  symlink: '2',
  pax: 'x',
};

function writeOctal(h: Buffer, off: number, digits: number, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value >= 8 ** digits)
    throw new RangeError(`${value} does not fit a ${digits}-digit tar field`);
  h.write(`${value.toString(8).padStart(digits, '0')}\0`, off, 'latin1');
}

function header(
  name: Buffer,
  typeflag: string,
  fields: { mode: number; uid: number; gid: number; size: number; mtime: number },
  linkname?: Buffer,
): Buffer {
  const h = Buffer.alloc(BLOCK);
  name.copy(h, 0, 0, Math.min(name.length, 100));
  writeOctal(h, 100, 7, fields.mode);
  writeOctal(h, 108, 7, fields.uid);
  writeOctal(h, 116, 7, fields.gid);
  writeOctal(h, 124, 11, fields.size);
  writeOctal(h, 136, 11, fields.mtime);
  h.write(typeflag, 156, 'latin1');
  if (linkname) linkname.copy(h, 157, 0, Math.min(linkname.length, 100));
  h.write('ustar\x0000', 257, 'latin1');
  writeOctal(h, 329, 7, 0);
  writeOctal(h, 337, 7, 0);
  seal(h);
  return h;
}

/** Writes a header's checksum: the sum of its bytes, the checksum field counted as spaces. */
function seal(h: Buffer): void {
  let sum = 8 * 32;
  for (let i = 0; i < BLOCK; i++) if (i < 148 || i >= 156) sum += h[i]!;
  h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
}

/**
 * Sets the mtime in the header at byte `at` of an archive open for reading and writing (`fd`),
 * with its checksum: a delta's access-time refreshes, applied in place (store/delta.ts).
 */
export function setHeaderMtime(fd: number, at: number, mtime: number): void {
  const h = Buffer.alloc(BLOCK);
  if (readSync(fd, h, 0, BLOCK, at) !== BLOCK) throw new Error(`no tar header at byte ${at}`);
  writeOctal(h, 136, 11, mtime);
  seal(h);
  writeSync(fd, h, 0, BLOCK, at);
}

/** One pax record: its decimal length counts the whole record, the length's own digits too. */
export function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`), value, Buffer.from('\n')]);
  let length = body.length + String(body.length).length;
  if (String(length).length !== String(body.length).length) length++;
  return Buffer.concat([Buffer.from(String(length)), body]);
}

/**
 * Appends headers and data to a list of pieces that `flush` writes out in one call. Data pieces
 * are kept by reference, not copied: the caller's buffer must stay unchanged until `flush` settles.
 */
export class TarWriter {
  private readonly fh: FileHandle;
  private pieces: Buffer[] = [];
  /** Data still owed to the current file entry, and its padding. */
  private owed = 0;
  private pad = 0;
  /** Bytes added so far, and how many of them were handed to a write. */
  bytes = 0;
  private flushed = 0;

  constructor(fh: FileHandle) {
    this.fh = fh;
  }

  add(e: WrittenEntry): void {
    if (this.owed > 0) throw new Error('tar writer: the previous entry is missing data');
    const dir = e.type === 'directory';
    const name = Buffer.from(e.name === '.' ? './' : dir ? `${e.name}/` : e.name);
    const link = e.linkname !== undefined ? Buffer.from(e.linkname) : undefined;
    const size = e.type === 'file' ? e.size : 0;
    const fields = { mode: e.mode, uid: e.uid, gid: e.gid, size, mtime: e.mtime };
    const records: Buffer[] = [];
    if (name.length > 100) records.push(paxRecord('path', name));
    if (link && link.length > 100) records.push(paxRecord('linkpath', link));
    if (records.length > 0) {
      const data = Buffer.concat(records);
      this.push(
        header(Buffer.from('././@PaxHeader'), TYPEFLAG.pax, {
          ...fields,
          mode: 0o644,
          size: data.length,
        }),
      );
      this.push(data);
      this.push(ZEROS.subarray(0, (BLOCK - (data.length % BLOCK)) % BLOCK));
    }
    this.push(header(name, TYPEFLAG[e.type], fields, link));
    this.owed = size;
    this.pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if (size === 0) this.pad = 0;
  }

  /** Data of the current file entry, by reference (see the class comment). */
  data(chunk: Buffer): void {
    if (chunk.length > this.owed) throw new Error('tar writer: more data than the entry holds');
    this.push(chunk);
    this.owed -= chunk.length;
    if (this.owed === 0 && this.pad > 0) {
      this.push(ZEROS.subarray(0, this.pad));
      this.pad = 0;
    }
  }

  /**
   * Writes what was added so far at its place in the file. Flushes may overlap (each writes at its
   * own offset); every one must be awaited.
   */
  async flush(): Promise<void> {
    if (this.pieces.length === 0) return;
    const pieces = this.pieces;
    const at = this.flushed;
    this.pieces = [];
    this.flushed = this.bytes;
    const want = this.bytes - at;
    const { bytesWritten } = await this.fh.writev(pieces, at);
    if (bytesWritten !== want)
      throw new Error(`tar writer: ${bytesWritten} of ${want} bytes written`);
  }

  /** The end marker (two zero blocks), then everything out. */
  async finish(): Promise<void> {
    if (this.owed > 0) throw new Error('tar writer: the last entry is missing data');
    this.push(ZEROS);
    await this.flush();
  }

  private push(b: Buffer): void {
    if (b.length === 0) return;
    this.pieces.push(b);
    this.bytes += b.length;
  }
}
