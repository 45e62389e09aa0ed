// Function name -> package -> module: the code size of each function counted to the package that
// defines it, and each package to the module of the build info whose path is its longest prefix.
import type { GoBuildInfo } from './buildinfo.ts';
import type { FunctionRecord } from './pclntab.ts';
import type { GoModuleSize, GoPackageSize } from './types.ts';

export const STD = 'std';
export const OTHER = 'other';

/** Drops every bracketed part (type arguments of generic instantiations, which hold dots and slashes). */
function withoutTypeArguments(name: string): string {
  if (!name.includes('[')) return name;
  let out = '';
  let depth = 0;
  for (const c of name) {
    if (c === '[') depth++;
    else if (c === ']' && depth > 0) depth--;
    else if (depth === 0) out += c;
  }
  return out;
}

/**
 * The import path of the package that defines a function, from its symbol name, or undefined for
 * symbols of no package (linker-made `go:`/`type:` symbols; before Go 1.20 `go.`/`type..`;
 * assembly entry points without a dot). The package path ends at the first dot after its last
 * slash: the linker escapes dots in the last path element (`gopkg.in/yaml%2ev3.Marshal`), and what
 * follows is the receiver `(*T)`, the function, and closures (`.func1`, `.gowrap2`, `.deferwrap1`).
 */
export function packageOfFunction(name: string): string | undefined {
  if (
    name.startsWith('go:') ||
    name.startsWith('type:') ||
    name.startsWith('go.') ||
    name.startsWith('type.')
  )
    return undefined;
  const plain = withoutTypeArguments(name);
  const slash = plain.lastIndexOf('/');
  const dot = plain.indexOf('.', slash + 1);
  if (dot <= 0) return undefined;
  const escaped = plain.slice(0, dot);
  return escaped.includes('%')
    ? escaped.replace(/%([0-9a-fA-F]{2})/g, (_, h: string) => String.fromCharCode(parseInt(h, 16)))
    : escaped;
}

export interface ModuleMatcher {
  /** The module path a package counts to: a module of the build info, 'std', or 'other'. */
  moduleOf(pkg: string): string;
}

/**
 * Longest module-path prefix among the main module and the dependencies; the main package
 * ('main') is the main module's; a package whose first path element has no dot is the standard
 * library's (checked after the modules, so a main module named without a dot still wins).
 */
export function moduleMatcher(info: GoBuildInfo): ModuleMatcher {
  const paths = [...(info.main ? [info.main.path] : []), ...info.deps.map((d) => d.path)]
    .filter((p) => p !== '')
    .sort((a, b) => b.length - a.length);
  const cache = new Map<string, string>();
  return {
    moduleOf(pkg) {
      let module = cache.get(pkg);
      if (module !== undefined) return module;
      if (pkg === 'main' && info.main?.path) module = info.main.path;
      else module = paths.find((p) => pkg === p || pkg.startsWith(`${p}/`));
      if (module === undefined) module = pkg.split('/')[0]!.includes('.') ? OTHER : STD;
      cache.set(pkg, module);
      return module;
    },
  };
}

function bySizeThenPath<T extends { path: string; bytes: number }>(a: T, b: T): number {
  return b.bytes - a.bytes || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);
}

/** Module rows of the build info (main, each dependency, std, other), all with zero bytes. */
export function moduleRows(info: GoBuildInfo): Map<string, GoModuleSize> {
  const rows = new Map<string, GoModuleSize>();
  for (const m of [...(info.main ? [info.main] : []), ...info.deps]) {
    const row: GoModuleSize = { path: m.path, version: m.version, bytes: 0 };
    if (m.replace)
      row.replacedBy = m.replace.version
        ? `${m.replace.path} ${m.replace.version}`
        : m.replace.path;
    rows.set(m.path, row);
  }
  rows.set(STD, { path: STD, version: info.goVersion, bytes: 0 });
  rows.set(OTHER, { path: OTHER, version: '', bytes: 0 });
  return rows;
}

export interface Attribution {
  modules: GoModuleSize[];
  packages: GoPackageSize[];
  /** Code bytes counted to a package. */
  attributedBytes: number;
}

const SLASH = 0x2f;
const DOT = 0x2e;
const COLON = 0x3a;
const PERCENT = 0x25;
const OPEN = 0x5b;
const CLOSE = 0x5d;
/** packageEnd: the name has no package (packageOfFunction says undefined). */
const NO_PACKAGE = -1;
/** packageEnd: the bytes alone do not settle it (a bracket, escape or non-ASCII byte before the end). */
const DECODE = -2;

/** `go:`, `go.`, `type:`, `type.`: a linker-made symbol of no package. */
function hasLinkerPrefix(name: Uint8Array): boolean {
  const at =
    name[0] === 0x67 && name[1] === 0x6f
      ? 2
      : name[0] === 0x74 && name[1] === 0x79 && name[2] === 0x70 && name[3] === 0x65
        ? 4
        : 0;
  return at > 0 && name.length > at && (name[at] === COLON || name[at] === DOT);
}

/**
 * packageOfFunction on a name's UTF-8 bytes, without decoding it: where its package path ends (the
 * package is the ASCII text `name[0..returned)`), NO_PACKAGE, or DECODE for the rare names that
 * need packageOfFunction on the decoded string. The same rule: the first dot after the last slash,
 * both outside brackets. (ASCII bytes decode to themselves and no other byte decodes to ASCII, so
 * positions of `/`, `.` and brackets agree with the decoded string's.) The searches are the typed
 * array's own, as this runs for every function.
 */
function packageEnd(name: Uint8Array): number {
  if (hasLinkerPrefix(name)) return NO_PACKAGE;
  const open = name.indexOf(OPEN);
  let lastSlash: number;
  if (open < 0) lastSlash = name.lastIndexOf(SLASH);
  else {
    // Type arguments hold slashes and dots of their own: find the last slash outside brackets.
    lastSlash = -1;
    for (let i = 0, depth = 0; i < name.length; i++) {
      const c = name[i]!;
      if (c === OPEN) depth++;
      else if (c === CLOSE && depth > 0) depth--;
      else if (c === SLASH && depth === 0) lastSlash = i;
    }
  }
  const dot = name.indexOf(DOT, lastSlash + 1);
  if (dot < 0) return NO_PACKAGE;
  if (open >= 0 && open < dot) return DECODE;
  const percent = name.indexOf(PERCENT);
  if (percent >= 0 && percent < dot) return DECODE;
  for (let i = 0; i < dot; i++) if (name[i]! >= 0x80) return DECODE;
  return dot === 0 ? NO_PACKAGE : dot;
}

const utf8 = new TextDecoder('utf-8');

/**
 * Counts each function's size to its package and module, one function at a time as the table walk
 * (pclntab.ts) meets them; result() gives the rows, with 'other' getting the rest of the file
 * (data, read-only data, the tables themselves, headers, and code of functions of no package).
 * Functions of one package mostly follow each other, so the previous function's package is
 * compared byte for byte before anything is decoded or looked up.
 */
export class PackageSizes {
  private readonly info: GoBuildInfo;
  private readonly matcher: ModuleMatcher;
  private readonly packages = new Map<string, GoPackageSize>();
  private attributedBytes = 0;
  /** The package of the function before, as bytes. */
  private last: { name: Uint8Array; row: GoPackageSize } | undefined;

  constructor(info: GoBuildInfo) {
    this.info = info;
    this.matcher = moduleMatcher(info);
  }

  add(f: FunctionRecord): void {
    const { name } = f;
    const end = packageEnd(name);
    if (end === NO_PACKAGE) return;
    let row: GoPackageSize | undefined;
    if (end === DECODE) {
      const pkg = packageOfFunction(utf8.decode(name));
      if (pkg === undefined) return;
      row = this.row(pkg);
    } else if (this.last && startsWithPackage(name, end, this.last.name)) row = this.last.row;
    else {
      const pkgName = name.subarray(0, end);
      row = this.row(utf8.decode(pkgName));
      this.last = { name: pkgName, row };
    }
    row.bytes += f.size;
    this.attributedBytes += f.size;
  }

  private row(pkg: string): GoPackageSize {
    let row = this.packages.get(pkg);
    if (!row) {
      row = { path: pkg, module: this.matcher.moduleOf(pkg), bytes: 0 };
      this.packages.set(pkg, row);
    }
    return row;
  }

  result(fileBytes: number): Attribution {
    let attributedBytes = this.attributedBytes;
    const modules = moduleRows(this.info);
    for (const p of this.packages.values()) {
      if (p.module === OTHER) {
        attributedBytes -= p.bytes;
        continue;
      }
      modules.get(p.module)!.bytes += p.bytes;
    }
    modules.get(OTHER)!.bytes = Math.max(0, fileBytes - attributedBytes);
    return {
      modules: [...modules.values()].sort(bySizeThenPath),
      packages: [...this.packages.values()].sort(bySizeThenPath),
      attributedBytes,
    };
  }
}

/** Whether the package path `name[0..end)` is `pkg`. */
function startsWithPackage(name: Uint8Array, end: number, pkg: Uint8Array): boolean {
  if (end !== pkg.length) return false;
  for (let i = 0; i < end; i++) if (name[i] !== pkg[i]) return false;
  return true;
}
