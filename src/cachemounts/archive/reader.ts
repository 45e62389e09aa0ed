// A strict, streaming tar reader. It is fed chunks and calls back per entry, so an archive of any
// size passes through a few buffers. "Strict" means: where tar implementations are known to read
// the same bytes differently (a number that is not plain octal, a pax record whose length does not
// match, a directory or link with a size, two headers naming the same field of one entry, data after
// the end marker), this reader refuses the archive instead of picking one reading. What it frames
// but does not understand (an unknown type, an unknown pax key, a name that is not UTF-8) it passes
// on marked, for the caller to drop or refuse.
import { open } from 'node:fs/promises';

/** The archive cannot be read without guessing: the whole archive must be refused. */
export class TarFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TarFormatError';
  }
}

export type EntryType =
  'file' | 'directory' | 'symlink' | 'hardlink' | 'device' | 'fifo' | 'unknown';

export interface TarEntry {
  /** The entry's name as the archive gives it, after GNU long-name and pax `path` records. */
  name: string;
  /** Symlink or hard-link target, after GNU long-link and pax `linkpath` records. */
  linkname: string;
  type: EntryType;
  typeflag: string;
  mode: number;
  /** Seconds since the epoch (whole seconds; a pax fraction is dropped). */
  mtime: number;
  /** Bytes of data that follow; `data` is called with exactly this many. */
  size: number;
  /** Byte offset of the entry's first header (its extension headers come first), for messages. */
  offset: number;
  /** Byte offset of the entry's own header, the one after its extension headers. */
  headerOffset: number;
  /** A pax record gave the mtime: the own header's mtime field is not the entry's. */
  mtimeFromPax: boolean;
  /** Set when the entry is framed but not understood: why. */
  notUnderstood?: string;
}

export interface TarVisitor {
  entry(e: TarEntry): void;
  data(chunk: Buffer): void;
}

export interface TarLimits {
  /** Most entries an archive may hold. */
  maxEntries: number;
  /** Most bytes of file data in all entries together. */
  maxBytes: number;
}

export const DEFAULT_LIMITS: TarLimits = { maxEntries: 2_000_000, maxBytes: 64 * 1024 ** 3 };

const BLOCK = 512;
/** GNU long names and pax headers: PATH_MAX is 4096; anything far beyond is not a name. */
const MAX_EXTENSION = 64 * 1024;
const utf8 = new TextDecoder('utf-8', { fatal: true });

const TYPES: Record<string, EntryType> = {
  '0': 'file',
  '\0': 'file',
  '7': 'file', // contiguous file: a regular file everywhere but one old system
  '1': 'hardlink',
  '2': 'symlink',
  '3': 'device',
  '4': 'device',
  '5': 'directory',
  '6': 'fifo',
};

/** Pax keys whose values the caller has no use for (owners are replaced, times but mtime unused). */
const IGNORED_PAX_KEYS = new Set(['atime', 'ctime', 'uid', 'gid', 'uname', 'gname', 'comment']);

/** What extension headers said about the entry that follows them. */
interface Pending {
  offset: number;
  path?: string;
  linkpath?: string;
  size?: number;
  mtime?: number;
  notUnderstood?: string;
  pax?: boolean;
}

function cstring(b: Buffer, off: number, len: number): Buffer {
  const field = b.subarray(off, off + len);
  const nul = field.indexOf(0);
  return nul < 0 ? field : field.subarray(0, nul);
}

/**
 * A numeric header field: octal digits, then only NULs or spaces to the end of the field. Base-256
 * (GNU's form for large or negative numbers), leading spaces, signs and empty fields are refused.
 */
function octal(h: Buffer, off: number, len: number, what: string, at: number): number {
  if (h[off]! & 0x80) throw new TarFormatError(`base-256 ${what} in the header at byte ${at}`);
  const text = h.toString('latin1', off, off + len);
  const m = /^([0-7]+)[ \0]*$/.exec(text);
  if (!m) throw new TarFormatError(`${what} is not an octal number in the header at byte ${at}`);
  return parseInt(m[1]!, 8);
}

function checksumOk(h: Buffer, at: number): boolean {
  const stored = octal(h, 148, 8, 'checksum', at);
  let sum = 8 * 32; // the checksum field itself counts as spaces
  for (let i = 0; i < 148; i++) sum += h[i]!;
  for (let i = 156; i < BLOCK; i++) sum += h[i]!;
  return sum === stored;
}

function decodeName(bytes: Buffer): { text: string; ok: boolean } {
  try {
    return { text: utf8.decode(bytes), ok: true };
  } catch {
    return { text: bytes.toString('latin1'), ok: false };
  }
}

/**
 * Pax extended header records, `<length> <key>=<value>\n` each, the length counting the whole
 * record in decimal. Every record must end exactly where its length says and the records must
 * fill the data exactly; a key may appear once.
 */
export function parsePaxRecords(data: Buffer, at: number): Map<string, Buffer> {
  const records = new Map<string, Buffer>();
  const bad = (why: string) => new TarFormatError(`pax header at byte ${at}: ${why}`);
  let off = 0;
  while (off < data.length) {
    const space = data.indexOf(0x20, off);
    if (space < 0 || space - off > 12) throw bad('a record without its length');
    const lengthText = data.toString('latin1', off, space);
    if (!/^[1-9][0-9]*$/.test(lengthText))
      throw bad(`record length "${lengthText}" is not a number`);
    const end = off + Number(lengthText);
    if (end > data.length || data[end - 1] !== 0x0a)
      throw bad('a record length does not match its record');
    const record = data.subarray(space + 1, end - 1);
    const eq = record.indexOf(0x3d);
    if (eq <= 0) throw bad('a record without a key');
    const key = decodeName(record.subarray(0, eq));
    if (!key.ok) throw bad('a key that is not UTF-8');
    if (records.has(key.text)) throw bad(`key "${key.text}" given twice`);
    records.set(key.text, record.subarray(eq + 1));
    off = end;
  }
  return records;
}

type State = 'header' | 'extension' | 'data' | 'padding' | 'end';

export class TarReader {
  private readonly visitor: TarVisitor;
  private readonly limits: TarLimits;
  private state: State = 'header';
  /** Bytes of the archive consumed so far. */
  private pos = 0;
  private readonly block = Buffer.alloc(BLOCK);
  private blockFill = 0;
  /** Bytes left in the current entry's data, extension data or padding. */
  private left = 0;
  private padding = 0;
  private extension?: { typeflag: string; data: Buffer; fill: number; offset: number };
  private pending?: Pending;
  private entries = 0;
  private dataBytes = 0;
  private zeroBytesAfterEnd = 0;
  private endMarker?: number;

  constructor(visitor: TarVisitor, limits: TarLimits = DEFAULT_LIMITS) {
    this.visitor = visitor;
    this.limits = limits;
  }

  feed(chunk: Buffer): void {
    this.consume(chunk, false);
  }

  /**
   * Feeds `chunk` up to the archive's end marker (its first zero block) and no further: returns how
   * many of its bytes belong to the archive, all of them until the end marker is read. What follows
   * the marker is not looked at (a stream's record padding, or whatever a sender adds).
   */
  feedUntilEnd(chunk: Buffer): number {
    return this.consume(chunk, true);
  }

  /** The end marker was read. */
  get ended(): boolean {
    return this.state === 'end';
  }

  /** Where the end marker starts, once it was read: what comes after the last entry. */
  get endOffset(): number | undefined {
    return this.endMarker;
  }

  /**
   * The caller passes over the current entry's data instead of feeding it (an index that only
   * wants where entries sit): returns how many bytes of the input, data and padding, to skip; the
   * next byte fed must be the one after them. 0 where no data is due.
   */
  skipData(): number {
    if (this.state !== 'data' && this.state !== 'padding') return 0;
    const n = this.left + this.padding;
    this.left = 0;
    this.padding = 0;
    this.pos += n;
    this.state = 'header';
    return n;
  }

  private consume(chunk: Buffer, stopAtEnd: boolean): number {
    let off = 0;
    while (off < chunk.length) {
      if (stopAtEnd && this.state === 'end') break;
      const avail = chunk.length - off;
      switch (this.state) {
        case 'header': {
          const n = Math.min(BLOCK - this.blockFill, avail);
          chunk.copy(this.block, this.blockFill, off, off + n);
          this.blockFill += n;
          off += n;
          if (this.blockFill === BLOCK) {
            this.blockFill = 0;
            this.header(this.block, this.pos + off - BLOCK);
          }
          break;
        }
        case 'extension': {
          const ext = this.extension!;
          const n = Math.min(ext.data.length - ext.fill, avail);
          chunk.copy(ext.data, ext.fill, off, off + n);
          ext.fill += n;
          off += n;
          if (ext.fill === ext.data.length) {
            this.extension = undefined;
            this.applyExtension(ext.typeflag, ext.data, ext.offset);
            this.state = 'padding';
            if (this.padding === 0) this.state = 'header';
          }
          break;
        }
        case 'data': {
          const n = Math.min(this.left, avail);
          this.visitor.data(chunk.subarray(off, off + n));
          this.left -= n;
          off += n;
          if (this.left === 0) this.state = this.padding > 0 ? 'padding' : 'header';
          break;
        }
        case 'padding': {
          const n = Math.min(this.padding, avail);
          this.padding -= n;
          off += n;
          if (this.padding === 0) this.state = 'header';
          break;
        }
        case 'end': {
          // After the end marker only zeros may follow (the second zero block, record padding).
          for (let i = off; i < chunk.length; i++)
            if (chunk[i] !== 0)
              throw new TarFormatError(
                `data after the archive's end marker at byte ${this.pos + i}`,
              );
          this.zeroBytesAfterEnd += avail;
          off = chunk.length;
          break;
        }
      }
    }
    this.pos += off;
    return off;
  }

  /** The input has ended: it must have ended at the archive's end (two zero blocks). */
  end(): void {
    if (this.state !== 'end' || this.zeroBytesAfterEnd < BLOCK)
      throw new TarFormatError(
        `the archive ends at byte ${this.pos} without its end marker (truncated)`,
      );
  }

  private header(h: Buffer, at: number): void {
    if (h.every((b) => b === 0)) {
      if (this.pending)
        throw new TarFormatError(
          `extension header at byte ${this.pending.offset} without its entry`,
        );
      this.state = 'end';
      this.endMarker = at;
      return;
    }
    if (!checksumOk(h, at)) throw new TarFormatError(`header checksum wrong at byte ${at}`);
    const magic = h.toString('latin1', 257, 265);
    // POSIX ustar, or GNU's (whose bytes 345.. hold other fields, never a name prefix).
    const posix = magic === 'ustar\x0000';
    if (!posix && magic !== 'ustar  \0')
      throw new TarFormatError(`header at byte ${at} is neither POSIX ustar nor GNU tar`);
    const typeflag = String.fromCharCode(h[156]!);
    const headerSize = octal(h, 124, 12, 'size', at);
    if (
      typeflag === 'S' ||
      typeflag === 'g' ||
      typeflag === 'x' ||
      typeflag === 'L' ||
      typeflag === 'K'
    ) {
      if (typeflag === 'S') throw new TarFormatError(`sparse file at byte ${at} (not accepted)`);
      if (typeflag === 'g')
        throw new TarFormatError(
          `global pax header at byte ${at} (applies to every entry after it: not accepted)`,
        );
      if (headerSize > MAX_EXTENSION)
        throw new TarFormatError(`extension header at byte ${at} claims ${headerSize} bytes`);
      this.pending ??= { offset: at };
      if (headerSize === 0) return this.applyExtension(typeflag, Buffer.alloc(0), at);
      this.extension = { typeflag, data: Buffer.alloc(headerSize), fill: 0, offset: at };
      this.padding = (BLOCK - (headerSize % BLOCK)) % BLOCK;
      this.state = 'extension';
      return;
    }
    const type = TYPES[typeflag] ?? 'unknown';
    const p = this.pending;
    this.pending = undefined;
    const size = p?.size ?? headerSize;
    // POSIX says these types have no data, tars skip `size` bytes anyway: two readings.
    if (type !== 'file' && type !== 'unknown' && size !== 0)
      throw new TarFormatError(`${type} entry at byte ${at} claims ${size} bytes of data`);
    if (++this.entries > this.limits.maxEntries)
      throw new TarFormatError(`more than ${this.limits.maxEntries} entries`);
    this.dataBytes += size;
    if (this.dataBytes > this.limits.maxBytes)
      throw new TarFormatError(`more than ${this.limits.maxBytes} bytes of data`);
    let notUnderstood = p?.notUnderstood;
    let name = p?.path;
    if (name === undefined) {
      const raw = cstring(h, 0, 100);
      const prefix = posix ? cstring(h, 345, 155) : Buffer.alloc(0);
      const decoded = decodeName(
        prefix.length ? Buffer.concat([prefix, Buffer.from('/'), raw]) : raw,
      );
      if (!decoded.ok) notUnderstood ??= 'a name that is not UTF-8';
      name = decoded.text;
    }
    let linkname = p?.linkpath;
    if (linkname === undefined) {
      const decoded = decodeName(cstring(h, 157, 100));
      if (!decoded.ok) notUnderstood ??= 'a link target that is not UTF-8';
      linkname = decoded.text;
    }
    if (type === 'unknown') notUnderstood ??= `entry type "${typeflag}"`;
    const entry: TarEntry = {
      name,
      linkname,
      type,
      typeflag,
      mode: octal(h, 100, 8, 'mode', at),
      mtime: p?.mtime ?? octal(h, 136, 12, 'mtime', at),
      size,
      offset: p?.offset ?? at,
      headerOffset: at,
      mtimeFromPax: p?.mtime !== undefined,
    };
    if (notUnderstood) entry.notUnderstood = notUnderstood;
    this.visitor.entry(entry);
    this.left = size;
    this.padding = (BLOCK - (size % BLOCK)) % BLOCK;
    this.state = size > 0 ? 'data' : this.padding > 0 ? 'padding' : 'header';
  }

  /** A GNU long name/link ('L'/'K') or a pax extended header ('x') for the entry that follows. */
  private applyExtension(typeflag: string, data: Buffer, at: number): void {
    const p = this.pending!;
    const set = <K extends 'path' | 'linkpath' | 'size' | 'mtime'>(key: K, value: Pending[K]) => {
      // Which of two headers wins differs between tars: refuse instead of choosing.
      if (p[key] !== undefined)
        throw new TarFormatError(`the ${key} of the entry at byte ${p.offset} is given twice`);
      p[key] = value;
    };
    if (typeflag === 'L' || typeflag === 'K') {
      // The name and a terminating NUL, nothing after it.
      const nul = data.indexOf(0);
      if (nul <= 0 || data.subarray(nul).some((b) => b !== 0))
        throw new TarFormatError(`GNU long name at byte ${at} is not one NUL-terminated name`);
      const decoded = decodeName(data.subarray(0, nul));
      if (!decoded.ok) p.notUnderstood ??= 'a name that is not UTF-8';
      set(typeflag === 'L' ? 'path' : 'linkpath', decoded.text);
      return;
    }
    if (p.pax) throw new TarFormatError(`a second pax header at byte ${at} for one entry`);
    p.pax = true;
    for (const [key, value] of parsePaxRecords(data, at)) {
      if (key.startsWith('GNU.sparse.'))
        throw new TarFormatError(`sparse file at byte ${at} (pax ${key}: not accepted)`);
      if (IGNORED_PAX_KEYS.has(key)) continue;
      if (key === 'path' || key === 'linkpath') {
        const decoded = decodeName(value);
        if (value.length === 0 || value.includes(0) || !decoded.ok)
          throw new TarFormatError(
            `pax ${key} at byte ${at} is empty, holds a NUL or is not UTF-8`,
          );
        set(key, decoded.text);
      } else if (key === 'size') {
        const text = value.toString('latin1');
        if (!/^[0-9]{1,15}$/.test(text))
          throw new TarFormatError(`pax size "${text}" at byte ${at} is not a number`);
        set('size', Number(text));
      } else if (key === 'mtime') {
        const text = value.toString('latin1');
        if (!/^-?[0-9]{1,15}(\.[0-9]{1,9})?$/.test(text))
          throw new TarFormatError(`pax mtime "${text}" at byte ${at} is not a time`);
        set('mtime', Math.max(0, Math.floor(Number(text))));
      } else p.notUnderstood ??= `pax key "${key}"`;
    }
  }
}

export interface ArchiveSummary {
  entries: number;
  /** Regular files and their bytes. */
  files: number;
  bytes: number;
}

/**
 * Reads a whole archive file strictly, counting what it holds; throws TarFormatError when it is
 * not a whole, well-formed archive.
 */
export async function scanArchive(file: string): Promise<ArchiveSummary> {
  const summary: ArchiveSummary = { entries: 0, files: 0, bytes: 0 };
  const reader = new TarReader({
    entry(e) {
      summary.entries++;
      if (e.type === 'file') {
        summary.files++;
        summary.bytes += e.size;
      }
    },
    data() {},
  });
  await readChunks(file, (chunk) => reader.feed(chunk));
  reader.end();
  return summary;
}

const READ_CHUNK = 1024 * 1024;

/**
 * Calls `each` with the file's bytes in order, through two buffers used in turn: the next chunk is
 * read while the promise `each` returned for the last one (its write, say) is still running. `each`
 * must be done with a chunk when its promise settles; the buffer is reused after that.
 */
export async function readChunks(
  file: string,
  each: (chunk: Buffer) => void | Promise<void>,
): Promise<void> {
  const fh = await open(file, 'r');
  const busy: Promise<void>[] = [Promise.resolve(), Promise.resolve()];
  try {
    const bufs = [Buffer.allocUnsafeSlow(READ_CHUNK), Buffer.allocUnsafeSlow(READ_CHUNK)];
    for (let k = 0; ; k ^= 1) {
      await busy[k];
      const { bytesRead } = await fh.read(bufs[k]!, 0, READ_CHUNK, null);
      if (bytesRead === 0) break;
      busy[k] = Promise.resolve(each(bufs[k]!.subarray(0, bytesRead)));
      // A failure is seen when the buffer is next wanted, or below.
      busy[k]!.catch(() => {});
    }
    await Promise.all(busy);
  } finally {
    await Promise.allSettled(busy);
    await fh.close();
  }
}
