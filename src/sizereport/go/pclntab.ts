// The Go function table (.gopclntab), which every Go executable keeps even when built with -s -w:
// the runtime needs it for stack traces. Only the layouts of Go 1.18-1.19 (magic 0xfffffff0) and
// Go 1.20 onward (0xfffffff1) are read; any other magic is reported, never guessed at.
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

/**
 * How many bytes of code a pc-value table covers: the sum of its pc deltas (each a count of
 * instruction quanta) up to the terminating zero value delta, as runtime.step walks it. Stops with
 * 0 (unknown) once past `limit`, the function's span: a table never covers more than its function,
 * and takes at most one step per instruction quantum (so a crafted table costs no more than the code).
 * A hot loop (one table per function), so it reads the bytes directly rather than through ByteReader.
 */
function pcValueTableEnd(bytes: Uint8Array, at: number, quantum: number, limit: number): number {
  let pc = 0;
  const maxSteps = limit / quantum + 2;
  for (let step = 0, first = true; ; step++, first = false) {
    if (step > maxSteps) return 0;
    if (at >= bytes.length) throw new ElfFormatError(`pc-value table runs past the end at ${at}`);
    if (bytes[at] === 0 && !first) return pc;
    // Value delta (skipped), then pc delta: varints of at most 5 bytes.
    for (let i = 0; bytes[at++]! >= 0x80; i++)
      if (i === 4) throw new ElfFormatError(`pc-value table: bad varint at offset ${at}`);
    let delta = 0;
    for (let i = 0, scale = 1; ; i++, scale *= 128) {
      if (at >= bytes.length || i === 5)
        throw new ElfFormatError(`pc-value table: bad varint at offset ${at}`);
      const b = bytes[at++]!;
      delta += (b & 0x7f) * scale;
      if (b < 0x80) break;
    }
    pc += delta * quantum;
    if (pc > limit) return 0;
  }
}

/** Reads the function table of a Go 1.18+ executable: every function's name and size. */
export function readFunctionTable(elf: ElfFile, bytes: Uint8Array): FunctionTable {
  const section =
    elf.sections.find((s) => SECTION_NAMES.includes(s.name)) ?? findSection(elf, 'runtime.pclntab');
  if (!section)
    return { ok: false, reason: 'no function table (.gopclntab section) in the executable' };
  const table = sectionBytes(bytes, section);
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
  const functions: GoFunction[] = [];
  const names = new Map<number, string>();
  let nameBytes = 0;
  let previousEntry = r.u32(pclnOffset, 'functab entry');
  const firstEntry = previousEntry;
  for (let i = 0; i < nfunc; i++) {
    const at = pclnOffset + i * 8;
    const funcOff = r.u32(at + 4, 'functab func offset');
    const nextEntry = r.u32(at + 8, 'functab entry');
    if (nextEntry < previousEntry)
      throw new ElfFormatError(`function table entries out of order at function ${i} of ${nfunc}`);
    // _func record: entryOff uint32, nameOff int32, ...; its entry must be the functab's.
    const record = pclnOffset + funcOff;
    if (r.u32(record, '_func entry') !== previousEntry)
      throw new ElfFormatError(
        `function ${i}: its record's entry does not match the function table`,
      );
    const nameOff = r.i32(record + 4, '_func name');
    let name = names.get(nameOff);
    if (name === undefined) {
      name = r.cString(funcnameOffset + nameOff, 'function name');
      names.set(nameOff, name);
      // Names do not overlap in a table Go wrote: more name bytes than the table holds means
      // crafted offsets, which would otherwise rescan the same bytes for every function.
      nameBytes += name.length + 1;
      if (nameBytes > table.length)
        throw new ElfFormatError('function names add up to more than the function table');
    }
    const span = nextEntry - previousEntry;
    // _func.pcsp (offset 16 in the records of 1.18 and 1.20 alike): 0 when the function has none.
    const pcsp = r.u32(record + 16, '_func pcsp');
    const covered = pcsp === 0 ? 0 : pcValueTableEnd(table, pctabOffset + pcsp, quantum, span);
    functions.push({
      name,
      entry: textStart + previousEntry,
      size: covered > 0 && covered <= span ? covered : span,
      span,
    });
    previousEntry = nextEntry;
  }
  return { ok: true, magic, functions, textBytes: previousEntry - firstEntry };
}
