// Go-aware size analysis of one executable, from its bytes alone: the build info (Go version,
// modules) and the function table's code sizes per package and module. No Docker, no processes.
import { getErrorMessage } from '../../errors.ts';
import { PackageSizes, moduleRows } from './attribute.ts';
import { readBuildInfo, type GoBuildInfo } from './buildinfo.ts';
import { FileBytes, isElf, parseElf, type ElfFile } from './elf.ts';
import { walkFunctionTable } from './pclntab.ts';
import { GO_EXECUTABLE_MEMORY_CAP, type GoExecutableSizes } from './types.ts';

export { FileBytes, isElf };

function notAttributed(
  file: string,
  fileBytes: number,
  info: GoBuildInfo,
  reason: string,
): GoExecutableSizes {
  const modules = [...moduleRows(info).values()];
  const other = modules.find((m) => m.path === 'other')!;
  other.bytes = fileBytes;
  return {
    file,
    fileBytes,
    goVersion: info.goVersion,
    mainModule: info.main?.path ?? '',
    attributed: false,
    reason,
    modules: [other, ...modules.filter((m) => m !== other)],
    packages: [],
  };
}

/**
 * Sizes of a Go executable by module and package, or undefined when the bytes are not a Go ELF
 * executable (no ELF magic, unreadable ELF headers, or no build info). A Go executable whose function
 * table cannot be read is returned with `attributed: false` and the reason; nothing is estimated.
 * The bytes may be one buffer or the pieces they were unpacked in (file-bytes.ts); they are read only.
 */
export function analyseGoExecutable(
  input: Uint8Array | FileBytes,
  file: string,
): GoExecutableSizes | undefined {
  const bytes = FileBytes.from(input);
  if (!isElf(bytes)) return undefined;
  let elf: ElfFile;
  let info: GoBuildInfo | undefined;
  try {
    elf = parseElf(bytes);
    info = readBuildInfo(elf, bytes);
  } catch {
    return undefined;
  }
  if (!info) return undefined;
  if (bytes.length > GO_EXECUTABLE_MEMORY_CAP)
    return notAttributed(
      file,
      bytes.length,
      info,
      `larger than the ${GO_EXECUTABLE_MEMORY_CAP / 1024 / 1024} MiB analysed`,
    );
  // One pass: each function is counted to its package as the table walk meets it.
  const counter = new PackageSizes(info);
  let table;
  try {
    table = walkFunctionTable(elf, bytes, (f) => counter.add(f));
  } catch (e) {
    return notAttributed(
      file,
      bytes.length,
      info,
      `function table unreadable: ${getErrorMessage(e)}`,
    );
  }
  if (!table.ok) return notAttributed(file, bytes.length, info, table.reason);
  let attribution;
  try {
    attribution = counter.result(bytes.length);
  } catch (e) {
    // Not expected for any input; a report without sizes beats a size step that fails.
    return notAttributed(file, bytes.length, info, `attribution failed: ${getErrorMessage(e)}`);
  }
  const { modules, packages } = attribution;
  return {
    file,
    fileBytes: bytes.length,
    goVersion: info.goVersion,
    mainModule: info.main?.path ?? '',
    attributed: true,
    modules,
    packages,
  };
}
