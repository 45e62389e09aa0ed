// Finds the Go executables in one layer while the measurement unpacks it: fed the same
// decompressed chunks that are counted for the unpacked size, it walks the tar in that one pass,
// keeps an executable ELF file's bytes only while it arrives (up to GO_EXECUTABLE_MEMORY_CAP, one
// file at a time), analyses it, and drops the bytes (keeping the buffer for the next executable).
// Nothing is downloaded or read twice.
import { TarReader, type TarEntry } from '../cachemounts/archive/reader.ts';
import { getErrorMessage } from '../errors.ts';
import { checkExecutable, isImagePath } from './fields.ts';
import { humanBytes } from '../format.ts';
import {
  EXECUTABLES_RECORD,
  MAX_REMOVED,
  MAX_SKIPPED,
  keptModules,
  normalPath,
  type GoExecutable,
  type LayerExecutables,
  type SkippedFile,
} from './executables.ts';
import { isElf } from './go/analyse.ts';
import type { GoExecutableSizes } from './go/types.ts';

/**
 * `analyseGoExecutable` of go/analyse.ts: undefined for an ELF file that is not a Go program. The
 * bytes are only lent: the buffer is reused for the next executable once it returns.
 */
export type GoAnalyser = (bytes: Buffer, file: string) => GoExecutableSizes | undefined;

/** How much one platform's walk may analyse, shared by its layers. */
export interface ScanBudget {
  /** Go executables analysed so far (the entrypoint is not counted). */
  analysed: number;
  max: number;
}

export interface LayerScanOptions {
  digest: string;
  analyse: GoAnalyser;
  /** Paths the image may start: always analysed, whatever the budget. */
  entrypoints: ReadonlySet<string>;
  /** Executables the layers below show: an entry at one of these paths replaces it. */
  below: ReadonlySet<string>;
  budget: ScanBudget;
  /** The largest file kept in memory to analyse. */
  cap: number;
}

/** A reason that quotes the layer's bytes: one printable line, short (fields.ts REASON). */
const oneLine = (s: string) =>
  // eslint-disable-next-line no-control-regex
  s.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').slice(0, 200);

/**
 * Buffers executables are collected into, kept for the next one. The first write to memory newly
 * allocated by the process costs a page fault per 4 KiB page: on the shared 2-core machine, 26 ms
 * to fill a new 8 MB buffer against 0.8 ms for one already used, more than the analysis itself.
 * Platforms are measured concurrently, so a few are kept, none large enough to matter held idle.
 */
class ReusedBuffers {
  private readonly free: Buffer[] = [];
  private readonly keep: number;
  private readonly largest: number;

  constructor(keep: number, largest: number) {
    this.keep = keep;
    this.largest = largest;
  }

  /** `size` bytes (not zeroed): the start of the smallest kept buffer that holds them, or new. */
  take(size: number): { bytes: Buffer; buffer: Buffer } {
    let best = -1;
    this.free.forEach((b, i) => {
      if (b.length >= size && (best < 0 || b.length < this.free[best]!.length)) best = i;
    });
    const buffer = best < 0 ? Buffer.allocUnsafe(size) : this.free.splice(best, 1)[0]!;
    return { bytes: buffer.subarray(0, size), buffer };
  }

  /** Gives a buffer back; the smallest is let go when more than `keep` would be kept. */
  give(buffer: Buffer): void {
    if (buffer.length > this.largest) return;
    this.free.push(buffer);
    this.free.sort((a, b) => b.length - a.length);
    this.free.length = Math.min(this.free.length, this.keep);
  }
}

const buffers = new ReusedBuffers(4, 64 * 1024 * 1024);

/** No ELF executable is smaller than its headers. */
const MIN_ELF = 64 + 56;

interface Collecting {
  file: string;
  size: number;
  /** The first 4 bytes, until the magic is known. */
  probe: Buffer;
  probed: number;
  /** The file's bytes, once it is known to be an ELF file worth analysing, in `buffer`. */
  bytes?: Buffer;
  buffer?: Buffer;
  filled: number;
  entrypoint: boolean;
  /** The machine code's file range, not copied, or the bytes needed to tell (codeRange). */
  code: CodeRange;
}

/** codeRange's answer: the range, none, or how many first bytes of the file it needs to tell. */
type CodeRange = { from: number; to: number } | null | number;

/** Code sections smaller than this are copied: too few pages to matter. */
const MIN_SKIPPED_CODE = 64 * 1024;
/** Section header tables further into the file than this are not waited for. */
const MAX_HEADERS_END = 1024 * 1024;

/**
 * The file range of the executable's machine code, which the analysis never reads (go/*: the ELF
 * and section headers, the section names, .go.buildinfo, the function table and, for builds before
 * Go 1.18, the data the build info points into): its bytes are not copied, so its pages of the
 * buffer are not written. Writing them is most of what collecting costs on the main thread: a page
 * fault per 4 KiB page of a new buffer, and of a reused one after the process started a child (the
 * fork leaves its pages copy-on-write). Only a range that is certain: one executable PROGBITS
 * section that lies after the ELF, program and section headers (Go's linker writes them first),
 * overlaps no other section, and has not started to arrive. `null` when there is none; while the
 * headers are still arriving, how many of the file's first bytes it needs to tell.
 */
export function codeRange(head: Uint8Array, size: number, filled: number): CodeRange {
  if (filled < 64) return 64;
  const wide = head[4] === 2;
  if (!wide && head[4] !== 1) return null;
  const le = head[5] === 1;
  if (!le && head[5] !== 2) return null;
  const view = new DataView(head.buffer, head.byteOffset, filled);
  const u16 = (at: number) => view.getUint16(at, le);
  const u32 = (at: number) => view.getUint32(at, le);
  const word = (at: number) => (wide ? Number(view.getBigUint64(at, le)) : u32(at));
  const phoff = word(wide ? 0x20 : 0x1c);
  const shoff = word(wide ? 0x28 : 0x20);
  const [phentsize, phnum, shentsize, shnum] = wide
    ? [u16(0x36), u16(0x38), u16(0x3a), u16(0x3c)]
    : [u16(0x2a), u16(0x2c), u16(0x2e), u16(0x30)];
  if (shentsize !== (wide ? 64 : 40) || shnum === 0 || shoff === 0) return null;
  const headersEnd = Math.max(64, shoff + shnum * shentsize, phoff + phnum * phentsize);
  if (headersEnd > Math.min(size, MAX_HEADERS_END)) return null;
  if (filled < headersEnd) return headersEnd;
  const sections: { type: number; flags: number; from: number; to: number }[] = [];
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * shentsize;
    const from = word(at + (wide ? 0x18 : 0x10));
    const length = word(at + (wide ? 0x20 : 0x14));
    sections.push({ type: u32(at + 4), flags: word(at + 8), from, to: from + length });
  }
  const NOBITS = 8;
  let best: { from: number; to: number } | null = null;
  for (const c of sections) {
    const executable = c.type === 1 && (c.flags & 0x4) !== 0;
    if (!executable || c.to - c.from < MIN_SKIPPED_CODE) continue;
    if (c.from < Math.max(headersEnd, filled) || c.to > size) continue;
    const overlaps = sections.some(
      (o) => o !== c && o.type !== NOBITS && o.to > o.from && o.from < c.to && c.from < o.to,
    );
    if (!overlaps && (!best || c.to - c.from > best.to - best.from))
      best = { from: c.from, to: c.to };
  }
  return best;
}

export class LayerScan {
  private readonly opts: LayerScanOptions;
  private readonly reader: TarReader;
  private readonly executables: GoExecutable[] = [];
  private readonly skipped: SkippedFile[] = [];
  private readonly removed = new Set<string>();
  private readonly opaque = new Set<string>();
  private current?: Collecting;
  private failed?: string;

  constructor(opts: LayerScanOptions) {
    this.opts = opts;
    this.reader = new TarReader({
      entry: (e) => this.entry(e),
      data: (chunk) => this.data(chunk),
    });
  }

  /** Never throws: a layer that is not a tar is reported as unread, and its bytes still count. */
  feed(chunk: Buffer): void {
    if (this.failed !== undefined) return;
    try {
      this.reader.feed(chunk);
    } catch (e) {
      this.fail(`not read as a tar: ${getErrorMessage(e)}`);
    }
  }

  /** The layer's record; one that could not be walked says why (and holds nothing else). */
  finish(): LayerExecutables {
    if (this.failed === undefined) {
      try {
        this.reader.end();
      } catch (e) {
        this.fail(`not read as a tar: ${getErrorMessage(e)}`);
      }
    }
    const empty: LayerExecutables = {
      v: EXECUTABLES_RECORD,
      executables: [],
      skipped: [],
      removed: [],
      opaque: [],
    };
    if (this.failed !== undefined) return { ...empty, unread: this.failed };
    if (this.removed.size > MAX_REMOVED || this.opaque.size > MAX_REMOVED)
      return { ...empty, unread: `more than ${MAX_REMOVED} whiteouts` };
    return {
      v: EXECUTABLES_RECORD,
      executables: this.executables,
      skipped: this.skipped,
      removed: [...this.removed],
      opaque: [...this.opaque],
    };
  }

  private fail(why: string): void {
    this.failed = oneLine(why);
    this.current = undefined;
  }

  private skip(file: string, reason: string): void {
    if (this.skipped.length < MAX_SKIPPED) this.skipped.push({ file, reason });
  }

  private entry(e: TarEntry): void {
    this.current = undefined;
    const file = normalPath(e.name);
    if (!file) return;
    const slash = file.lastIndexOf('/');
    const dir = slash < 0 ? '' : file.slice(0, slash);
    const base = file.slice(slash + 1);
    if (base.startsWith('.wh.')) {
      if (base === '.wh..wh..opq') this.opaque.add(dir);
      else this.removed.add(dir ? `${dir}/${base.slice(4)}` : base.slice(4));
      return;
    }
    // Whatever this entry is, it takes the place of an executable below at the same path.
    if (this.opts.below.has(file)) this.removed.add(file);
    if (e.type !== 'file' || (e.mode & 0o111) === 0 || e.size < MIN_ELF) return;
    // A name the report could not show (a line break, thousands of characters) is not followed.
    if (!isImagePath(file)) return;
    this.current = {
      file,
      size: e.size,
      probe: Buffer.alloc(4),
      probed: 0,
      filled: 0,
      entrypoint: this.opts.entrypoints.has(file),
      code: 64,
    };
  }

  private data(chunk: Buffer): void {
    const c = this.current;
    if (!c) return;
    let off = 0;
    if (c.probed < 4) {
      const n = Math.min(4 - c.probed, chunk.length);
      chunk.copy(c.probe, c.probed, 0, n);
      c.probed += n;
      off = n;
      if (c.probed < 4) return;
      if (!isElf(c.probe)) {
        this.current = undefined;
        return;
      }
      const { budget, cap } = this.opts;
      if (c.size > cap) {
        this.skip(
          c.file,
          `${humanBytes(c.size)}, larger than the ${humanBytes(cap)} read to analyse`,
        );
        this.current = undefined;
        return;
      }
      if (!c.entrypoint && budget.analysed >= budget.max) {
        this.skip(c.file, `not analysed: more than ${budget.max} Go executables`);
        this.current = undefined;
        return;
      }
      ({ bytes: c.bytes, buffer: c.buffer } = buffers.take(c.size));
      c.probe.copy(c.bytes, 0);
      c.filled = 4;
    }
    const bytes = c.bytes!;
    while (off < chunk.length) {
      const code = c.code;
      if (typeof code === 'object' && code && c.filled >= code.from && c.filled < code.to) {
        // Machine code: counted, not copied (codeRange).
        const n = Math.min(code.to - c.filled, chunk.length - off);
        c.filled += n;
        off += n;
        continue;
      }
      // Up to where codeRange can tell, or up to the code.
      const until =
        typeof code === 'number' ? code : code && c.filled < code.from ? code.from : c.size;
      const n = chunk.copy(
        bytes,
        c.filled,
        off,
        off + Math.min(until - c.filled, chunk.length - off),
      );
      c.filled += n;
      off += n;
      if (n === 0)
        c.code = null; // not expected: copy the rest rather than stop
      else if (typeof code === 'number' && c.filled >= code)
        c.code = codeRange(bytes, c.size, c.filled);
    }
    if (c.filled < c.size) return;
    this.current = undefined;
    try {
      this.analyse(c.file, bytes, c.entrypoint);
    } finally {
      buffers.give(c.buffer!);
    }
  }

  private analyse(file: string, bytes: Buffer, entrypoint: boolean): void {
    let sizes: GoExecutableSizes | undefined;
    try {
      sizes = this.opts.analyse(bytes, file);
    } catch (e) {
      this.skip(file, `not analysed: ${oneLine(getErrorMessage(e))}`);
      return;
    }
    if (!sizes) return; // an ELF file, not a Go program
    if (!entrypoint) this.opts.budget.analysed++;
    this.removed.delete(file);
    try {
      // What the executable's own bytes said, against the grammar a saved report is read with.
      this.executables.push(
        checkExecutable({
          file,
          layer: this.opts.digest,
          fileBytes: sizes.fileBytes,
          goVersion: sizes.goVersion,
          mainModule: sizes.mainModule,
          attributed: sizes.attributed,
          ...(sizes.reason !== undefined ? { reason: oneLine(sizes.reason) } : {}),
          modules: keptModules(sizes.modules),
        }),
      );
    } catch (e) {
      this.skip(file, `not listed: ${oneLine(getErrorMessage(e))}`);
    }
  }
}
