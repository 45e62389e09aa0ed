// A minimal ELF reader: the header, section headers (with names) and program headers of 32- and
// 64-bit files in either byte order. Every offset read is bounds-checked, because the bytes come
// from an image layer and may be anything.

export class ElfFormatError extends Error {
  constructor(message: string) {
    super(`not a readable ELF file: ${message}`);
    this.name = 'ElfFormatError';
  }
}

// Only the header fields the analysis reads are kept.
export interface ElfSection {
  name: string;
  type: number;
  addr: number;
  offset: number;
  size: number;
}

export interface ElfSegment {
  type: number;
  flags: number;
  vaddr: number;
  offset: number;
  filesz: number;
}

export interface ElfFile {
  bits: 32 | 64;
  littleEndian: boolean;
  machine: number;
  sections: ElfSection[];
  segments: ElfSegment[];
}

const SHT_NOBITS = 8;
export const PT_LOAD = 1;
export const PF_W = 2;

/** The four magic bytes every ELF file starts with. */
export function isElf(head: Uint8Array): boolean {
  return (
    head.length >= 4 && head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46
  );
}

/**
 * Reads integers of the file's byte order and word size at absolute offsets, each checked against
 * the buffer's length (DataView would throw a RangeError without saying what was being read).
 */
export class ByteReader {
  readonly bytes: Uint8Array;
  readonly littleEndian: boolean;
  private readonly view: DataView;

  constructor(bytes: Uint8Array, littleEndian: boolean) {
    this.bytes = bytes;
    this.littleEndian = littleEndian;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  check(offset: number, length: number, what: string): void {
    if (
      !Number.isSafeInteger(offset) ||
      offset < 0 ||
      length < 0 ||
      offset + length > this.bytes.length
    )
      throw new ElfFormatError(
        `${what} at offset ${offset} (+${length}) lies outside the file (${this.bytes.length} bytes)`,
      );
  }

  u8(offset: number, what: string): number {
    this.check(offset, 1, what);
    return this.bytes[offset]!;
  }

  u16(offset: number, what: string): number {
    this.check(offset, 2, what);
    return this.view.getUint16(offset, this.littleEndian);
  }

  u32(offset: number, what: string): number {
    this.check(offset, 4, what);
    return this.view.getUint32(offset, this.littleEndian);
  }

  i32(offset: number, what: string): number {
    this.check(offset, 4, what);
    return this.view.getInt32(offset, this.littleEndian);
  }

  /** A 64-bit value as a number; larger than 2^53 cannot be an offset or size in a buffered file. */
  u64(offset: number, what: string): number {
    this.check(offset, 8, what);
    const v = this.view.getBigUint64(offset, this.littleEndian);
    if (v > BigInt(Number.MAX_SAFE_INTEGER))
      throw new ElfFormatError(`${what} is too large (${v})`);
    return Number(v);
  }

  /** A word of 4 or 8 bytes. */
  word(offset: number, size: number, what: string): number {
    return size === 8 ? this.u64(offset, what) : this.u32(offset, what);
  }

  /** A NUL-terminated string (UTF-8). */
  cString(offset: number, what: string): string {
    this.check(offset, 0, what);
    const end = this.bytes.indexOf(0, offset);
    if (end < 0) throw new ElfFormatError(`${what} at offset ${offset} has no terminating NUL`);
    return utf8.decode(this.bytes.subarray(offset, end));
  }
}

const utf8 = new TextDecoder('utf-8');

/**
 * A header field: its name here, its name in the ELF specification, then its offset and width in
 * a 64-bit file and its offset in a 32-bit one (where every field is 4 bytes wide).
 */
type Field<K extends string> = readonly [K, string, number, 4 | 8, number];

// Program and section headers order and size their fields differently in the two classes.
const SEGMENT_FIELDS: readonly Field<keyof ElfSegment>[] = [
  ['type', 'p_type', 0, 4, 0],
  ['flags', 'p_flags', 4, 4, 24],
  ['offset', 'p_offset', 8, 8, 4],
  ['vaddr', 'p_vaddr', 16, 8, 8],
  ['filesz', 'p_filesz', 32, 8, 16],
];

type SectionHeader = Omit<ElfSection, 'name'> & { nameOff: number };

const SECTION_FIELDS: readonly Field<keyof SectionHeader>[] = [
  ['nameOff', 'sh_name', 0, 4, 0],
  ['type', 'sh_type', 4, 4, 4],
  ['addr', 'sh_addr', 16, 8, 12],
  ['offset', 'sh_offset', 24, 8, 16],
  ['size', 'sh_size', 32, 8, 20],
];

function readRecord<K extends string>(
  r: ByteReader,
  at: number,
  bits: 32 | 64,
  fields: readonly Field<K>[],
): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const [name, elfName, offset64, width64, offset32] of fields)
    out[name] =
      bits === 64 ? r.word(at + offset64, width64, elfName) : r.u32(at + offset32, elfName);
  return out;
}

export function parseElf(bytes: Uint8Array): ElfFile {
  if (!isElf(bytes)) throw new ElfFormatError('no ELF magic');
  if (bytes.length < 52) throw new ElfFormatError('shorter than an ELF header');
  const cls = bytes[4];
  const data = bytes[5];
  if (cls !== 1 && cls !== 2) throw new ElfFormatError(`unknown class ${cls}`);
  if (data !== 1 && data !== 2) throw new ElfFormatError(`unknown byte order ${data}`);
  const bits = cls === 2 ? 64 : 32;
  const r = new ByteReader(bytes, data === 1);
  const w = bits / 8;
  // e_ident(16) e_type(2) e_machine(2) e_version(4) e_entry(w) e_phoff(w) e_shoff(w) e_flags(4)
  // e_ehsize(2) e_phentsize(2) e_phnum(2) e_shentsize(2) e_shnum(2) e_shstrndx(2)
  const machine = r.u16(18, 'e_machine');
  const phoff = r.word(24 + w, w, 'e_phoff');
  const shoff = r.word(24 + 2 * w, w, 'e_shoff');
  const after = 24 + 3 * w + 4;
  const phentsize = r.u16(after + 2, 'e_phentsize');
  const phnum = r.u16(after + 4, 'e_phnum');
  const shentsize = r.u16(after + 6, 'e_shentsize');
  const shnum = r.u16(after + 8, 'e_shnum');
  const shstrndx = r.u16(after + 10, 'e_shstrndx');

  const segments: ElfSegment[] = [];
  if (phoff !== 0) {
    if (phentsize < (bits === 64 ? 56 : 32))
      throw new ElfFormatError(`program header size ${phentsize}`);
    for (let i = 0; i < phnum; i++)
      segments.push(readRecord(r, phoff + i * phentsize, bits, SEGMENT_FIELDS));
  }

  const raw: SectionHeader[] = [];
  if (shoff !== 0) {
    if (shentsize < (bits === 64 ? 64 : 40))
      throw new ElfFormatError(`section header size ${shentsize}`);
    for (let i = 0; i < shnum; i++)
      raw.push(readRecord(r, shoff + i * shentsize, bits, SECTION_FIELDS));
  }
  const names = raw[shstrndx];
  const sections = raw.map(({ nameOff, ...s }) => ({
    ...s,
    name:
      names && names.type !== SHT_NOBITS ? r.cString(names.offset + nameOff, 'section name') : '',
  }));
  return { bits, littleEndian: r.littleEndian, machine, sections, segments };
}

export function findSection(elf: ElfFile, name: string): ElfSection | undefined {
  return elf.sections.find((s) => s.name === name);
}

/** The file bytes of a section (none for NOBITS sections such as .bss). */
export function sectionBytes(bytes: Uint8Array, section: ElfSection): Uint8Array {
  if (section.type === SHT_NOBITS) return new Uint8Array(0);
  if (section.offset + section.size > bytes.length)
    throw new ElfFormatError(`section ${section.name} runs past the end of the file`);
  return bytes.subarray(section.offset, section.offset + section.size);
}

/** File offset of a virtual address, through the loadable segment that maps it from the file. */
export function fileOffsetOf(elf: ElfFile, vaddr: number): number | undefined {
  for (const s of elf.segments)
    if (s.type === PT_LOAD && vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz)
      return s.offset + (vaddr - s.vaddr);
  return undefined;
}
