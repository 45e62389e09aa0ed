// Compares two size reports per platform and per layer (layers matched by instruction text).
import type { ImageSizeReport, LayerSize } from './measure.ts';
import { diffGo, type GoDiff } from './module-diff.ts';

export interface LayerChange {
  instruction: string;
  base?: number;
  head?: number;
}

export interface PlatformDiff {
  platform: string;
  base?: number;
  head?: number;
  baseUnpacked?: number;
  headUnpacked?: number;
  layers: LayerChange[];
}

export interface SizeDiff {
  image: string;
  hasBaseline: boolean;
  baselineLabel?: string;
  goBase?: string;
  goHead?: string;
  platforms: PlatformDiff[];
  /** Go executables module by module; absent when neither image has one. */
  go?: GoDiff;
}

function layerChanges(base: LayerSize[], head: LayerSize[]): LayerChange[] {
  const remaining = [...base];
  const out: LayerChange[] = [];
  for (const h of head) {
    const idx = remaining.findIndex((b) => b.instruction === h.instruction);
    if (idx >= 0) {
      out.push({ instruction: h.instruction, base: remaining[idx]!.size, head: h.size });
      remaining.splice(idx, 1);
    } else out.push({ instruction: h.instruction, head: h.size });
  }
  for (const b of remaining) out.push({ instruction: b.instruction, base: b.size });
  return out;
}

export function diffReports(
  head: ImageSizeReport,
  base: ImageSizeReport | undefined,
  baselineLabel?: string,
): SizeDiff {
  const platforms = new Set([
    ...head.platforms.map((p) => p.platform),
    ...(base?.platforms.map((p) => p.platform) ?? []),
  ]);
  const go = diffGo(head, base);
  return {
    image: head.image,
    hasBaseline: base !== undefined,
    baselineLabel,
    goBase: base?.goVersion,
    goHead: head.goVersion,
    platforms: [...platforms].sort().map((platform) => {
      const h = head.platforms.find((p) => p.platform === platform);
      const b = base?.platforms.find((p) => p.platform === platform);
      return {
        platform,
        base: b?.compressed,
        head: h?.compressed,
        baseUnpacked: b?.uncompressed,
        headUnpacked: h?.uncompressed,
        layers: layerChanges(b?.layers ?? [], h?.layers ?? []),
      };
    }),
    ...(go ? { go } : {}),
  };
}
