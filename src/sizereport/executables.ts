// The Go executables of one platform of an image, as the size report keeps them: what each layer
// holds (so a later measurement can reuse a layer's findings by its digest, as it reuses its
// unpacked size), and the image's own view of them, lower layers overlaid by upper ones the way a
// container's root filesystem is. Pure: the layer walk is in layer-scan.ts.
import type { GoExecutableSizes, GoModuleSize } from './go/types.ts';

/** Version of the `executables` (layer) and `go` (platform) records in a report. */
export const EXECUTABLES_RECORD = 1;
/** Go executables listed per platform; the rest are counted in `more`. */
export const MAX_EXECUTABLES = 8;
/** Files named per layer or platform as skipped; the rest are only counted. */
export const MAX_SKIPPED = 16;
/** Whiteouts a layer record keeps; a layer with more is not kept for reuse (it is walked again). */
export const MAX_REMOVED = 1000;
/** Module rows kept per executable (largest first); the rest are summed into 'other'. */
export const MAX_MODULES = 400;

/** One Go executable as the report keeps it: the analysis without its per-package rows. */
export interface GoExecutable extends Omit<GoExecutableSizes, 'packages'> {
  /** Digest of the layer it came from. */
  layer: string;
}

export interface SkippedFile {
  file: string;
  reason: string;
}

/** What one layer holds, kept by layer digest (LayerSize.executables). */
export interface LayerExecutables {
  v: 1;
  executables: GoExecutable[];
  /** ELF files seen but not analysed, and why (at most MAX_SKIPPED). */
  skipped: SkippedFile[];
  /** Paths this layer removes from the layers below: whiteouts, and executables it replaced. */
  removed: string[];
  /** Directories this layer makes opaque (`.wh..wh..opq`): nothing below them shows through. */
  opaque: string[];
  /** Why the layer's files could not be walked (kept, so the layer is not read again for nothing). */
  unread?: string;
}

/** The image's Go executables on one platform (PlatformSize.go). */
export interface PlatformExecutables {
  v: 1;
  /** The executable the image starts (its entrypoint, else its command), when it is one of them. */
  entrypoint?: string;
  /** Entrypoint first, then in layer order; at most MAX_EXECUTABLES. */
  executables: GoExecutable[];
  /** Go executables beyond MAX_EXECUTABLES, not listed. */
  more: number;
  skipped: SkippedFile[];
  /** Layers whose files could not be walked, and why. */
  unread: string[];
}

/** A path as a layer tar names it, as a path from the root: `./usr/bin/x` and `/usr/bin/x` -> `usr/bin/x`. */
export function normalPath(name: string): string {
  const parts: string[] = [];
  for (const p of name.split('/')) {
    if (p === '' || p === '.') continue;
    if (p === '..') parts.pop();
    else parts.push(p);
  }
  return parts.join('/');
}

interface ImageConfigFields {
  Entrypoint?: unknown;
  Cmd?: unknown;
  Env?: unknown;
  WorkingDir?: unknown;
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * The paths the image's first argument can be, in the order the runtime tries them: the
 * entrypoint's first element (else the command's), as it is when it holds a slash (relative to the
 * working directory), else looked up in the config's PATH. Symlinks are not followed.
 */
export function entrypointPaths(config: ImageConfigFields | undefined): string[] {
  const list = (v: unknown) =>
    Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
  const argv = list(config?.Entrypoint)?.length ? list(config?.Entrypoint) : list(config?.Cmd);
  const first = argv?.[0];
  if (!first) return [];
  if (first.includes('/')) {
    const wd = typeof config?.WorkingDir === 'string' ? config.WorkingDir : '/';
    const p = normalPath(first.startsWith('/') ? first : `${wd}/${first}`);
    return p ? [p] : [];
  }
  const env = list(config?.Env) ?? [];
  const pathVar = env.find((e) => e.startsWith('PATH='))?.slice(5) ?? DEFAULT_PATH;
  return [
    ...new Set(
      pathVar
        .split(':')
        .filter((d) => d.startsWith('/'))
        .map((d) => normalPath(`${d}/${first}`)),
    ),
  ];
}

const under = (file: string, dir: string) => dir === '' || file.startsWith(`${dir}/`);

export interface OverlayLayer {
  digest: string;
  executables?: LayerExecutables;
}

function overlay(layers: readonly OverlayLayer[]) {
  const shown = new Map<string, { exe?: GoExecutable; skipped?: string }>();
  const unread: string[] = [];
  for (const layer of layers) {
    const rec = layer.executables;
    if (!rec) continue;
    if (rec.unread !== undefined) {
      unread.push(`${layer.digest.slice(0, 19)}: ${rec.unread}`);
      continue;
    }
    for (const file of [...shown.keys()])
      if (
        rec.opaque.some((d) => under(file, d)) ||
        rec.removed.some((r) => file === r || under(file, r))
      )
        shown.delete(file);
    for (const exe of rec.executables) {
      shown.delete(exe.file); // a replaced file moves to its new layer's place in the order
      shown.set(exe.file, { exe });
    }
    for (const s of rec.skipped) {
      shown.delete(s.file);
      shown.set(s.file, { skipped: s.reason });
    }
  }
  return { shown, unread };
}

/** Every ELF path the layers show (analysed or skipped): what a next layer can replace. */
export function shownFiles(layers: readonly OverlayLayer[]): Set<string> {
  return new Set(overlay(layers).shown.keys());
}

/**
 * The executables an image shows, from its layers' records bottom to top: a whiteout or an opaque
 * directory hides what is below it, a later file at the same path replaces an earlier one. A layer
 * without a record (not walked, or not a tar) is named in `unread`.
 */
export function overlayExecutables(
  layers: readonly OverlayLayer[],
  entrypoints: readonly string[],
): PlatformExecutables {
  const { shown, unread } = overlay(layers);
  const entrypoint = entrypoints.find((p) => shown.has(p));
  const ordered = [...shown.entries()].sort(
    ([a], [b]) => Number(b === entrypoint) - Number(a === entrypoint),
  );
  const executables = ordered.flatMap(([, v]) => (v.exe ? [v.exe] : []));
  const skipped = ordered.flatMap(([file, v]) =>
    v.skipped !== undefined ? [{ file, reason: v.skipped }] : [],
  );
  return {
    v: EXECUTABLES_RECORD,
    ...(entrypoint !== undefined && shown.get(entrypoint)?.exe ? { entrypoint } : {}),
    executables: executables.slice(0, MAX_EXECUTABLES),
    more: Math.max(0, executables.length - MAX_EXECUTABLES),
    skipped: skipped.slice(0, MAX_SKIPPED),
    unread: unread.slice(0, MAX_SKIPPED),
  };
}

/** Module rows as the report keeps them: at most MAX_MODULES, the smallest beyond summed into 'other'. */
export function keptModules(modules: readonly GoModuleSize[]): GoModuleSize[] {
  const sorted = modules.map((m) => ({ ...m })).sort((a, b) => b.bytes - a.bytes);
  if (sorted.length <= MAX_MODULES) return sorted;
  const kept = sorted
    .filter((m) => m.path === 'other')
    .concat(sorted.filter((m) => m.path !== 'other').slice(0, MAX_MODULES - 1));
  const keptPaths = new Set(kept.map((m) => m.path));
  const rest = sorted.filter((m) => !keptPaths.has(m.path)).reduce((a, m) => a + m.bytes, 0);
  const other = kept.find((m) => m.path === 'other');
  if (other) other.bytes += rest;
  else kept.push({ path: 'other', version: '', bytes: rest });
  return kept.sort((a, b) => b.bytes - a.bytes);
}
