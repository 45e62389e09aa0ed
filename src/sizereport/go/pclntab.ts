// The Go function table (.gopclntab), which every Go executable keeps even when built with -s -w:
// the runtime needs it for stack traces. Only the layouts of Go 1.18-1.19 (magic 0xfffffff0) and
// Go 1.20 onward (0xfffffff1) are read; any other magic is reported, never guessed at.
import { Cursor, FileBytes } from './file-bytes.ts';
import { ByteReader, ElfFormatError, findSection, sectionBytes, type ElfFile } from './elf.ts';

export interface GoFunction {
  name: string;
  /** Address of the first instruction. */
  entry: number;
  /**
   * The function's own code: where its stack-pointer delta table (pcsp) ends, which covers exactly
   * the function's instructions; the span when the function has no such table.
   */
  size: number;
  /** Bytes from this function's entry to the next one's: its code plus the alignment padding after it. */
  span: number;
}

export type FunctionTable =
  | { ok: true; magic: number; functions: GoFunction[]; textBytes: number }
  | { ok: false; reason: string };

export const PCLNTAB_GO118 = 0xfffffff0;
export const PCLNTAB_GO120 = 0xfffffff1;
const OLDER: Record<number, string> = {
  0xfffffffb: 'Go 1.2-1.15',
  0xfffffffa: 'Go 1.16-1.17',
};
/** Section names the linker gives the table: plain, or inside RELRO data for position-independent executables. */
const SECTION_NAMES = ['.gopclntab', '.data.rel.ro.gopclntab'];

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/** pcValueTableEnd's answers besides a size: the table goes on past the bytes given; a bad varint. */
const MORE = -1;
const BAD_VARINT = -2;
/** The bytes first copied of a pc-value table that straddles two pieces: real tables are tens of bytes. */
const PC_TABLE_WINDOW = 4096;

/**
 * How many bytes of code a pc-value table covers: the sum of its pc deltas (each a count of
 * instruction quanta) up to the terminating zero value delta, as runtime.step walks it. Stops with
 * 0 (unknown) once past `limit`, the function's span: a table never covers more than its function,
 * and takes at most one step per instruction quantum (so a crafted table costs no more than the code).
 * A hot loop (one table per function), over plain array reads of `bytes[at..end)`: MORE when the
 * table runs past `end`, BAD_VARINT for a varint longer than 5 bytes.
 */
function pcValueTableEnd(
  bytes: Uint8Array,
  at: number,
  end: number,
  quantum: number,
  limit: number,
): number {
  let pc = 0;
  const maxSteps = limit / quantum + 2;
  for (let step = 0, first = true; ; step++, first = false) {
    if (step > maxSteps) return 0;
    if (at >= end) return MORE;
    if (bytes[at] === 0 && !first) return pc;
    // Value delta (skipped), then pc delta: varints of at most 5 bytes.
    for (let i = 0; ; i++) {
      if (at >= end) return MORE;
      if (bytes[at++]! < 0x80) break;
      if (i === 4) return BAD_VARINT;
    }
    let delta = 0;
    for (let i = 0, scale = 1; ; i++, scale *= 128) {
      if (i === 5) return BAD_VARINT;
      if (at >= end) return MORE;
      const b = bytes[at++]!;
      delta += (b & 0x7f) * scale;
      if (b < 0x80) break;
    }
    pc += delta * quantum;
    if (pc > limit) return 0;
  }
}

/**
 * pcValueTableEnd of the table at `at`, read in the piece the cursor holds; a table that straddles
 * two pieces is copied, first PC_TABLE_WINDOW bytes of it, then as far as a table of that
 * function can reach (each step reads at most two 5-byte varints).
 */
function pcTableCoverage(pctab: Cursor, at: number, quantum: number, span: number): number {
  const what = 'pc-value table';
  const reach = Math.min(pctab.length - at, (Math.ceil(span / quantum) + 3) * 10);
  let covered = MORE;
  if (reach > 0) {
    pctab.hold(at, what);
    const from = at - pctab.pieceStart;
    const inPiece = Math.min(pctab.piece.length, from + reach);
    covered = pcValueTableEnd(pctab.piece, from, inPiece, quantum, span);
    if (covered === MORE && inPiece - from < reach) {
      const window = Math.min(reach, PC_TABLE_WINDOW);
      covered = pcValueTableEnd(pctab.file.bytes(at, window, what), 0, window, quantum, span);
      if (covered === MORE && window < reach)
        covered = pcValueTableEnd(pctab.file.bytes(at, reach, what), 0, reach, quantum, span);
    }
  }
  if (covered === BAD_VARINT)
    throw new ElfFormatError(`pc-value table at offset ${at}: bad varint`);
  if (covered === MORE)
    throw new ElfFormatError(
      `pc-value table at offset ${at} runs past the end of the function table`,
    );
  return covered;
}

/**
 * Where each function's name ends (its NUL), each distinct name scanned once: a name shared by
 * several functions costs one scan. Names do not overlap in a table Go wrote, so more name bytes
 * than the table holds means crafted offsets, which would otherwise rescan the same bytes for every
 * function: an ElfFormatError. The linker writes the names in function order, so a name that starts
 * past every name seen so far is new and its end is appended to a sorted list; only a name before
 * that point is looked up (binary search, then a map for the names met out of order).
 */
class NameEnds {
  private readonly table: FileBytes;
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private readonly unordered = new Map<number, number>();
  /** Just past the NUL of the furthest name scanned. */
  private frontier = 0;
  private scanned = 0;

  constructor(table: FileBytes) {
    this.table = table;
  }

  end(start: number): number {
    if (start < this.frontier) {
      const known = this.sorted(start) ?? this.unordered.get(start);
      if (known !== undefined) return known;
    }
    if (!Number.isSafeInteger(start) || start < 0 || start > this.table.length)
      throw new ElfFormatError(
        `function name at offset ${start} (+0) lies outside the file (${this.table.length} bytes)`,
      );
    const end = this.table.indexOf(0, start);
    if (end < 0)
      throw new ElfFormatError(`function name at offset ${start} has no terminating NUL`);
    this.scanned += end - start + 1;
    if (this.scanned > this.table.length)
      throw new ElfFormatError('function names add up to more than the function table');
    if (start >= this.frontier) {
      this.starts.push(start);
      this.ends.push(end);
    } else this.unordered.set(start, end);
    this.frontier = Math.max(this.frontier, end + 1);
    return end;
  }

  /** The end of a name in the sorted list starting at `start`, if there is one. */
  private sorted(start: number): number | undefined {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = this.starts[mid]!;
      if (s === start) return this.ends[mid];
      if (s < start) lo = mid + 1;
      else hi = mid - 1;
    }
    return undefined;
  }
}

/**
 * One function as the table walk meets it. The walk reuses one record for every function (a
 * table holds tens of thousands), so a visitor copies what it keeps.
 */
export interface FunctionRecord {
  /** The name's bytes, UTF-8 without its NUL: a view of the table, valid during the visit only. */
  name: Uint8Array;
  /** Where the name starts in the table: the same for every function that shares the name. */
  nameStart: number;
  /** Address of the first instruction. */
  entry: number;
  /** As GoFunction.size. */
  size: number;
  /** As GoFunction.span. */
  span: number;
}

export type FunctionTableWalk =
  { ok: true; magic: number; functions: number; textBytes: number } | { ok: false; reason: string };

/**
 * Walks the function table of a Go 1.18+ executable once, calling `visit` for every function in
 * address order, without decoding names (see FunctionRecord). Throws ElfFormatError on a table Go
 * did not write; returns the reason when the table is missing or of another format.
 */
export function walkFunctionTable(
  elf: ElfFile,
  bytes: Uint8Array | FileBytes,
  visit: (f: FunctionRecord) => void,
): FunctionTableWalk {
  const section =
    elf.sections.find((s) => SECTION_NAMES.includes(s.name)) ?? findSection(elf, 'runtime.pclntab');
  if (!section)
    return { ok: false, reason: 'no function table (.gopclntab section) in the executable' };
  // Read in place: a view of the file's pieces, never joined (file-bytes.ts).
  const table = sectionBytes(FileBytes.from(bytes), section);
  const r = new ByteReader(table, elf.littleEndian);
  if (table.length < 8) return { ok: false, reason: 'function table shorter than its header' };
  const magic = r.u32(0, 'pclntab magic');
  if (magic !== PCLNTAB_GO118 && magic !== PCLNTAB_GO120) {
    const known = OLDER[magic];
    return {
      ok: false,
      reason: known
        ? `function table format of ${known} (magic ${hex(magic)}): only Go 1.18 onward is attributed`
        : `unknown function table format (magic ${hex(magic)})`,
    };
  }
  const quantum = r.u8(6, 'pclntab instruction size');
  const ptrSize = r.u8(7, 'pclntab pointer size');
  if (
    r.u8(4, 'pclntab pad') !== 0 ||
    r.u8(5, 'pclntab pad') !== 0 ||
    ![1, 2, 4].includes(quantum) ||
    ![4, 8].includes(ptrSize)
  )
    return {
      ok: false,
      reason: `function table header is not one Go writes (magic ${hex(magic)})`,
    };

  // pcHeader: magic, pads, minLC, ptrSize, then words: nfunc, nfiles, textStart, funcnameOffset,
  // cuOffset, filetabOffset, pctabOffset, pclnOffset.
  const word = (i: number, what: string) => r.word(8 + i * ptrSize, ptrSize, what);
  const nfunc = word(0, 'pclntab nfunc');
  const textStart = word(2, 'pclntab textStart');
  const funcnameOffset = word(3, 'pclntab funcnameOffset');
  const pctabOffset = word(6, 'pclntab pctabOffset');
  const pclnOffset = word(7, 'pclntab pclnOffset');
  // functab: nfunc + 1 pairs of uint32 {entry offset from text start, offset of the _func record
  // from pclnOffset}; the extra last entry's offset is the end of the text.
  r.check(pclnOffset, (nfunc + 1) * 8, 'pclntab functab');
  // One cursor per part of the table the loop reads, each moving forward through it: the
  // function table, the _func records, the pc-value tables and the names.
  const le = elf.littleEndian;
  const functab = new Cursor(table, le);
  const records = new Cursor(table, le);
  const pctab = new Cursor(table, le);
  const nameBytes = new Cursor(table, le);
  const names = new NameEnds(table);
  const f: FunctionRecord = { name: new Uint8Array(0), nameStart: 0, entry: 0, size: 0, span: 0 };
  let previousEntry = functab.u32(pclnOffset, 'pclntab functab');
  const firstEntry = previousEntry;
  for (let i = 0; i < nfunc; i++) {
    const at = pclnOffset + i * 8;
    const funcOff = functab.u32(at + 4, 'pclntab functab');
    const nextEntry = functab.u32(at + 8, 'pclntab functab');
    if (nextEntry < previousEntry)
      throw new ElfFormatError(`function table entries out of order at function ${i} of ${nfunc}`);
    // _func record: entryOff uint32, nameOff int32, ...; its entry must be the functab's.
    const record = pclnOffset + funcOff;
    if (records.u32(record, '_func entry') !== previousEntry)
      throw new ElfFormatError(
        `function ${i}: its record's entry does not match the function table`,
      );
    const nameStart = funcnameOffset + records.i32(record + 4, '_func name');
    const nameEnd = names.end(nameStart);
    const span = nextEntry - previousEntry;
    // _func.pcsp (offset 16 in the records of 1.18 and 1.20 alike): 0 when the function has none.
    const pcsp = records.u32(record + 16, '_func pcsp');
    const covered = pcsp === 0 ? 0 : pcTableCoverage(pctab, pctabOffset + pcsp, quantum, span);
    f.name = nameBytes.view(nameStart, nameEnd - nameStart, 'function name');
    f.nameStart = nameStart;
    f.entry = textStart + previousEntry;
    f.size = covered > 0 && covered <= span ? covered : span;
    f.span = span;
    visit(f);
    previousEntry = nextEntry;
  }
  return { ok: true, magic, functions: nfunc, textBytes: previousEntry - firstEntry };
}

const utf8 = new TextDecoder('utf-8');

/** Reads the function table of a Go 1.18+ executable: every function's name and size. */
export function readFunctionTable(elf: ElfFile, bytes: Uint8Array | FileBytes): FunctionTable {
  const functions: GoFunction[] = [];
  const names = new Map<number, string>();
  const walk = walkFunctionTable(elf, bytes, (f) => {
    let name = names.get(f.nameStart);
    if (name === undefined) {
      name = utf8.decode(f.name);
      names.set(f.nameStart, name);
    }
    functions.push({ name, entry: f.entry, size: f.size, span: f.span });
  });
  if (!walk.ok) return walk;
  return { ok: true, magic: walk.magic, functions, textBytes: walk.textBytes };
}
