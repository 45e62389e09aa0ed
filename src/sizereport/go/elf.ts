// A minimal ELF reader: the header, section headers (with names) and program headers of 32- and
// 64-bit files in either byte order. Every offset read is bounds-checked, because the bytes come
// from an image layer and may be anything.

import { ElfFormatError, FileBytes } from './file-bytes.ts';

export { ElfFormatError, FileBytes };

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

/** Whether the bytes start with the four magic bytes every ELF file starts with. */
export function isElf(bytes: Uint8Array | FileBytes): boolean {
  const file = FileBytes.from(bytes);
  if (file.length < 4) return false;
  const head = file.bytes(0, 4, 'ELF magic');
  return head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46;
}

/**
 * Reads integers of the file's byte order and word size at absolute offsets, each checked against
 * the file's length (DataView would throw a RangeError without saying what was being read).
 */
export class ByteReader {
  readonly file: FileBytes;
  readonly littleEndian: boolean;

  constructor(bytes: Uint8Array | FileBytes, littleEndian: boolean) {
    this.file = FileBytes.from(bytes);
    this.littleEndian = littleEndian;
  }

  check(offset: number, length: number, what: string): void {
    this.file.check(offset, length, what);
  }

  private view(offset: number, length: number, what: string): DataView {
    const b = this.file.bytes(offset, length, what);
    return new DataView(b.buffer, b.byteOffset, length);
  }

  /** The bytes [offset, offset + length): a view, or a copy where the file's pieces meet. */
  bytes(offset: number, length: number, what: string): Uint8Array {
    return this.file.bytes(offset, length, what);
  }

  u8(offset: number, what: string): number {
    return this.file.bytes(offset, 1, what)[0]!;
  }

  u16(offset: number, what: string): number {
    return this.view(offset, 2, what).getUint16(0, this.littleEndian);
  }

  u32(offset: number, what: string): number {
    return this.view(offset, 4, what).getUint32(0, this.littleEndian);
  }

  i32(offset: number, what: string): number {
    return this.view(offset, 4, what).getInt32(0, this.littleEndian);
  }

  /** A 64-bit value as a number; larger than 2^53 cannot be an offset or size in a buffered file. */
  u64(offset: number, what: string): number {
    const v = this.view(offset, 8, what).getBigUint64(0, this.littleEndian);
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
    const end = this.file.indexOf(0, offset);
    if (end < 0) throw new ElfFormatError(`${what} at offset ${offset} has no terminating NUL`);
    return utf8.decode(this.file.bytes(offset, end - offset, what));
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

export function parseElf(bytes: Uint8Array | FileBytes): ElfFile {
  const file = FileBytes.from(bytes);
  if (!isElf(file)) throw new ElfFormatError('no ELF magic');
  if (file.length < 52) throw new ElfFormatError('shorter than an ELF header');
  const [cls, data] = file.bytes(4, 2, 'e_ident');
  if (cls !== 1 && cls !== 2) throw new ElfFormatError(`unknown class ${cls}`);
  if (data !== 1 && data !== 2) throw new ElfFormatError(`unknown byte order ${data}`);
  const bits = cls === 2 ? 64 : 32;
  const r = new ByteReader(file, data === 1);
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

/** The file bytes of a section, sharing the file's (none for NOBITS sections such as .bss). */
export function sectionBytes(file: FileBytes, section: ElfSection): FileBytes {
  if (section.type === SHT_NOBITS) return FileBytes.of([]);
  if (
    !Number.isSafeInteger(section.offset + section.size) ||
    section.offset + section.size > file.length
  )
    throw new ElfFormatError(`section ${section.name} runs past the end of the file`);
  return file.slice(section.offset, section.size, `section ${section.name}`);
}

/** File offset of a virtual address, through the loadable segment that maps it from the file. */
export function fileOffsetOf(elf: ElfFile, vaddr: number): number | undefined {
  for (const s of elf.segments)
    if (s.type === PT_LOAD && vaddr >= s.vaddr && vaddr < s.vaddr + s.filesz)
      return s.offset + (vaddr - s.vaddr);
  return undefined;
}
