// Function name -> package -> module: the code size of each function counted to the package that
// defines it, and each package to the module of the build info whose path is its longest prefix.
import type { GoBuildInfo } from './buildinfo.ts';
import type { GoFunction } from './pclntab.ts';
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

/**
 * Counts each function's size to its package and module; 'other' gets the rest of the file (data,
 * read-only data, the tables themselves, headers, and code of functions of no package).
 */
export function attribute(
  functions: GoFunction[],
  info: GoBuildInfo,
  fileBytes: number,
): Attribution {
  const matcher = moduleMatcher(info);
  const packages = new Map<string, GoPackageSize>();
  let attributedBytes = 0;
  for (const f of functions) {
    const pkg = packageOfFunction(f.name);
    if (pkg === undefined) continue;
    let row = packages.get(pkg);
    if (!row) {
      row = { path: pkg, module: matcher.moduleOf(pkg), bytes: 0 };
      packages.set(pkg, row);
    }
    row.bytes += f.size;
    attributedBytes += f.size;
  }
  const modules = moduleRows(info);
  for (const p of packages.values()) {
    if (p.module === OTHER) {
      attributedBytes -= p.bytes;
      continue;
    }
    modules.get(p.module)!.bytes += p.bytes;
  }
  modules.get(OTHER)!.bytes = Math.max(0, fileBytes - attributedBytes);
  return {
    modules: [...modules.values()].sort(bySizeThenPath),
    packages: [...packages.values()].sort(bySizeThenPath),
    attributedBytes,
  };
}
