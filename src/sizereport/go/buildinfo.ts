// The build info the Go linker writes into every executable (the .go.buildinfo section): the Go
// version and the module list that `go version -m` prints. The format is read as Go's own
// debug/buildinfo reads it: a 32-byte header starting "\xff Go buildinf:", then either the two
// strings inline, varint-length-prefixed (Go 1.18 onward), or two pointers to Go string headers
// (before 1.18).
import {
  ByteReader,
  ElfFormatError,
  FileBytes,
  PF_W,
  PT_LOAD,
  fileOffsetOf,
  findSection,
  type ElfFile,
} from './elf.ts';

export interface GoModuleRef {
  path: string;
  version: string;
  /** The replacement from a `=>` line: a path (a directory, or a module) and its version, if any. */
  replace?: { path: string; version: string };
}

export interface GoBuildInfo {
  /** e.g. 'go1.24.4'. */
  goVersion: string;
  /** Import path of the main package. */
  path: string;
  main?: GoModuleRef;
  deps: GoModuleRef[];
  settings: Record<string, string>;
}

const MAGIC = [0xff, 0x20, 0x47, 0x6f, 0x20, 0x62, 0x75, 0x69, 0x6c, 0x64, 0x69, 0x6e, 0x66, 0x3a]; // "\xff Go buildinf:"
const HEADER_SIZE = 32;
const ALIGN = 16;
/** How far into the data segment Go's debug/buildinfo looks for the header when there is no section. */
const SEARCH_LIMIT = 64 * 1024;
const FLAG_BIG_ENDIAN = 1;
const FLAG_INLINE_STRINGS = 2;

/** Whether the build info header's magic starts at `at` of `bytes`, with the whole header there. */
function magicAt(bytes: Uint8Array, at: number): boolean {
  if (at + HEADER_SIZE > bytes.length) return false;
  for (let i = 0; i < MAGIC.length; i++) if (bytes[at + i] !== MAGIC[i]) return false;
  return true;
}

/**
 * File offset of the build info header: the .go.buildinfo section, or (section headers removed) the
 * first 16-aligned magic in the first writable loadable segment, where the linker puts it.
 */
export function findBuildInfo(elf: ElfFile, bytes: Uint8Array | FileBytes): number | undefined {
  const file = FileBytes.from(bytes);
  const section = findSection(elf, '.go.buildinfo');
  if (section) {
    const { offset } = section;
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + HEADER_SIZE > file.length)
      return undefined;
    return magicAt(file.bytes(offset, HEADER_SIZE, 'build info'), 0) ? offset : undefined;
  }
  if (elf.sections.length > 0) return undefined;
  const data = elf.segments.find((s) => s.type === PT_LOAD && (s.flags & PF_W) !== 0);
  if (!data || data.offset >= file.length) return undefined;
  const end = Math.min(data.offset + Math.min(data.filesz, SEARCH_LIMIT), file.length);
  // The searched range at once: at most SEARCH_LIMIT bytes, a copy only where pieces meet.
  const region = file.bytes(data.offset, end - data.offset, 'data segment');
  for (
    let at = (ALIGN - (data.vaddr % ALIGN)) % ALIGN;
    at + HEADER_SIZE <= region.length;
    at += ALIGN
  )
    if (magicAt(region, at)) return data.offset + at;
  return undefined;
}

function uvarint(r: ByteReader, at: number, what: string): [value: number, next: number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    const b = r.u8(at + i, what);
    value += (b & 0x7f) * scale;
    if (b < 0x80) {
      if (!Number.isSafeInteger(value)) break;
      return [value, at + i + 1];
    }
    scale *= 128;
  }
  throw new ElfFormatError(`${what}: bad varint at offset ${at}`);
}

const utf8 = new TextDecoder('utf-8');

function inlineString(r: ByteReader, at: number, what: string): [string, number] {
  const [length, start] = uvarint(r, at, what);
  return [utf8.decode(r.bytes(start, length, what)), start + length];
}

/** A Go string header {data pointer, length} at a virtual address (the pre-1.18 layout). */
function pointedString(
  elf: ElfFile,
  r: ByteReader,
  ptrSize: number,
  headerAddr: number,
  what: string,
): string {
  const header = fileOffsetOf(elf, headerAddr);
  if (header === undefined)
    throw new ElfFormatError(`${what}: address ${headerAddr} is not in the file`);
  const dataAddr = r.word(header, ptrSize, what);
  const length = r.word(header + ptrSize, ptrSize, what);
  if (length === 0) return '';
  const data = fileOffsetOf(elf, dataAddr);
  if (data === undefined)
    throw new ElfFormatError(`${what}: address ${dataAddr} is not in the file`);
  return utf8.decode(r.bytes(data, length, what));
}

/** Reads the two build info strings: the Go version and the module info. */
export function readBuildInfoStrings(
  elf: ElfFile,
  bytes: Uint8Array | FileBytes,
  at: number,
): { version: string; modinfo: string } {
  const file = FileBytes.from(bytes);
  const [ptrSize, flags] = file.bytes(at + 14, 2, 'build info header');
  if ((flags! & FLAG_INLINE_STRINGS) !== 0) {
    const r = new ByteReader(file, true);
    const [version, next] = inlineString(r, at + HEADER_SIZE, 'build info Go version');
    const [modinfo] = inlineString(r, next, 'build info module list');
    return { version, modinfo };
  }
  if (ptrSize !== 4 && ptrSize !== 8)
    throw new ElfFormatError(`build info pointer size ${ptrSize}`);
  const r = new ByteReader(file, (flags! & FLAG_BIG_ENDIAN) === 0);
  return {
    version: pointedString(
      elf,
      r,
      ptrSize,
      r.word(at + 16, ptrSize, 'build info'),
      'build info Go version',
    ),
    modinfo: pointedString(
      elf,
      r,
      ptrSize,
      r.word(at + 16 + ptrSize, ptrSize, 'build info'),
      'build info module list',
    ),
  };
}

/**
 * The module info as the go command writes it: 16 sentinel bytes on each side of lines
 * `path`, `mod`, `dep`, `=>` (replaces the module on the line before) and `build`.
 */
export function parseModInfo(goVersion: string, modinfo: string): GoBuildInfo {
  // runtime/debug.modinfo: the text sits between two 16-byte sentinels when the second one follows a newline.
  const text =
    modinfo.length >= 33 && modinfo[modinfo.length - 17] === '\n'
      ? modinfo.slice(16, -16)
      : modinfo;
  const info: GoBuildInfo = { goVersion, path: '', deps: [], settings: {} };
  let last: GoModuleRef | undefined;
  for (const line of text.split('\n')) {
    const [kind, ...fields] = line.split('\t');
    const module = (): GoModuleRef => ({ path: fields[0] ?? '', version: fields[1] ?? '' });
    switch (kind) {
      case 'path':
        info.path = fields[0] ?? '';
        break;
      case 'mod':
        last = info.main = module();
        break;
      case 'dep':
        last = module();
        info.deps.push(last);
        break;
      case '=>':
        if (last) last.replace = { path: fields[0] ?? '', version: fields[1] ?? '' };
        last = undefined;
        break;
      case 'build': {
        const setting = fields.join('\t');
        const eq = setting.indexOf('=');
        if (eq > 0) info.settings[setting.slice(0, eq)] = setting.slice(eq + 1);
        break;
      }
    }
  }
  return info;
}

/** The build info of a Go executable, or undefined when it has none (not a Go executable). */
export function readBuildInfo(
  elf: ElfFile,
  bytes: Uint8Array | FileBytes,
): GoBuildInfo | undefined {
  const file = FileBytes.from(bytes);
  const at = findBuildInfo(elf, file);
  if (at === undefined) return undefined;
  const { version, modinfo } = readBuildInfoStrings(elf, file, at);
  return parseModInfo(version, modinfo);
}
