// Compares the Go executables of two size reports module by module: which dependency was added,
// removed, grew, shrank or changed version, and the Go version change, with totals. Pure.
import type { GoExecutable } from './executables.ts';
import type { ImageSizeReport } from './measure.ts';

export type ModuleChangeKind = 'added' | 'removed' | 'grown' | 'shrunk' | 'version' | 'same';

export interface ModuleChange {
  path: string;
  kind: ModuleChangeKind;
  baseVersion?: string;
  headVersion?: string;
  base?: number;
  head?: number;
  /** head - base, a missing side counting as 0. */
  delta: number;
}

/** One executable (by path) on one platform, in the base and/or the head. */
export interface ExecutableDiff {
  platform: string;
  file: string;
  entrypoint: boolean;
  goBase?: string;
  goHead?: string;
  /** Sum of the module rows (std and other included) on each side. */
  baseTotal?: number;
  headTotal?: number;
  /** false when either side's sizes are not attributed; then only totals of the file mean much. */
  attributed: boolean;
  reason?: string;
  /** Every module that differs, the largest change first ('same' left out). */
  changes: ModuleChange[];
  /** Modules of the head, largest first (for a report without a baseline). */
  largest: ModuleChange[];
  /** Modules present on both sides with the same version and size. */
  unchanged: number;
}

export interface GoDiff {
  executables: ExecutableDiff[];
  /** Go executables beyond those listed, per platform of the head. */
  more: { platform: string; count: number }[];
  /** ELF files of the head not analysed, and why. */
  skipped: { platform: string; file: string; reason: string }[];
}

/** Rows of `largest`: what a report without a baseline shows. */
export const LARGEST_MODULES = 10;

const total = (e: GoExecutable | undefined) =>
  e === undefined ? undefined : e.modules.reduce((a, m) => a + m.bytes, 0);

/** Module rows of two analyses of one executable, compared by module path. */
export function diffModules(
  base: GoExecutable | undefined,
  head: GoExecutable | undefined,
): { changes: ModuleChange[]; unchanged: number } {
  const baseRows = new Map((base?.modules ?? []).map((m) => [m.path, m]));
  const headRows = new Map((head?.modules ?? []).map((m) => [m.path, m]));
  const changes: ModuleChange[] = [];
  let unchanged = 0;
  for (const path of new Set([...headRows.keys(), ...baseRows.keys()])) {
    const b = baseRows.get(path);
    const h = headRows.get(path);
    const delta = (h?.bytes ?? 0) - (b?.bytes ?? 0);
    const kind: ModuleChangeKind = !b
      ? 'added'
      : !h
        ? 'removed'
        : b.version !== h.version
          ? 'version'
          : delta > 0
            ? 'grown'
            : delta < 0
              ? 'shrunk'
              : 'same';
    if (kind === 'same') {
      unchanged++;
      continue;
    }
    changes.push({
      path,
      kind,
      ...(b ? { baseVersion: b.version, base: b.bytes } : {}),
      ...(h ? { headVersion: h.version, head: h.bytes } : {}),
      delta,
    });
  }
  // Largest change first; among equal ones, added and removed modules before the rest, then by name.
  changes.sort(
    (x, y) =>
      Math.abs(y.delta) - Math.abs(x.delta) ||
      Number(y.kind === 'added' || y.kind === 'removed') -
        Number(x.kind === 'added' || x.kind === 'removed') ||
      (x.path < y.path ? -1 : x.path > y.path ? 1 : 0),
  );
  return { changes, unchanged };
}

/**
 * The Go executables of both reports, matched by platform and path. Undefined when neither side
 * has any (not a Go image, or measured before executables were looked for): no section then.
 */
export function diffGo(head: ImageSizeReport, base?: ImageSizeReport): GoDiff | undefined {
  const platforms = [
    ...new Set([
      ...head.platforms.map((p) => p.platform),
      ...(base?.platforms.map((p) => p.platform) ?? []),
    ]),
  ].sort();
  const executables: ExecutableDiff[] = [];
  const more: GoDiff['more'] = [];
  const skipped: GoDiff['skipped'] = [];
  for (const platform of platforms) {
    const h = head.platforms.find((p) => p.platform === platform)?.go;
    const b = base?.platforms.find((p) => p.platform === platform)?.go;
    if (h?.more) more.push({ platform, count: h.more });
    for (const s of h?.skipped ?? []) skipped.push({ platform, ...s });
    const files = [
      ...new Set([
        ...(h?.executables ?? []).map((e) => e.file),
        ...(b?.executables ?? []).map((e) => e.file),
      ]),
    ];
    for (const file of files) {
      const he = h?.executables.find((e) => e.file === file);
      const be = b?.executables.find((e) => e.file === file);
      const { changes, unchanged } = diffModules(be, he);
      const reason = [he, be].find((e) => e && !e.attributed)?.reason;
      executables.push({
        platform,
        file,
        entrypoint: h?.entrypoint === file || (!he && b?.entrypoint === file),
        ...(be ? { goBase: be.goVersion } : {}),
        ...(he ? { goHead: he.goVersion } : {}),
        ...(be ? { baseTotal: total(be) } : {}),
        ...(he ? { headTotal: total(he) } : {}),
        attributed: (he?.attributed ?? true) && (be?.attributed ?? true),
        ...(reason !== undefined ? { reason } : {}),
        changes,
        largest: [...(he?.modules ?? [])]
          .sort((x, y) => y.bytes - x.bytes)
          .slice(0, LARGEST_MODULES)
          .map((m) => ({
            path: m.path,
            kind: 'same' as const,
            headVersion: m.version,
            head: m.bytes,
            delta: 0,
          })),
        unchanged,
      });
    }
  }
  return executables.length > 0 ? { executables, more, skipped } : undefined;
}
