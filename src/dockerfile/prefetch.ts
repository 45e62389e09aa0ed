// The base images a build will unpack, and a Dockerfile that pulls and unpacks only them. On a
// fresh runner the build's first seconds go to pulling its golang base; the action runs this small
// build while the cache mounts are restored, so the two waits overlap (src/buildx/prefetch.ts).
import type { Dockerfile, Stage } from './parse.ts';
import { resolveFromImage } from './args.ts';

export interface BaseToPrefetch {
  /** The FROM image with build-args substituted, as the build will resolve it. */
  image: string;
  /** The FROM's --platform value as written ($BUILDPLATFORM stays for BuildKit to expand). */
  platform?: string;
}

// Instructions that need the base's file system in the builder (a RUN runs in it; a COPY, ADD or
// WORKDIR writes on top of it). A stage with only metadata never unpacks its base.
const NEEDS_ROOTFS = new Set(['RUN', 'COPY', 'ADD', 'WORKDIR']);

/** Stages the target needs: itself, the stages it is built FROM, and those it copies or mounts from. */
export function stagesNeeded(df: Dockerfile, target?: string): Stage[] {
  const byRef = (ref: string): Stage | undefined => {
    const r = ref.toLowerCase();
    if (/^\d+$/.test(r)) return df.stages[Number(r)];
    return df.stages.find((s) => s.name === r);
  };
  const last = df.stages[df.stages.length - 1]!;
  const start = target ? byRef(target) : last;
  if (!start) return [];
  const seen = new Set<Stage>();
  const visit = (s: Stage) => {
    if (seen.has(s)) return;
    seen.add(s);
    const parent = byRef(s.image);
    if (parent && parent.index < s.index) visit(parent);
    for (const ins of s.instructions) {
      for (const f of ins.flags) {
        const from =
          f.name === 'from'
            ? f.value
            : f.name === 'mount'
              ? /(?:^|,)from=([^,]+)/.exec(f.value)?.[1]
              : undefined;
        const dep = from ? byRef(from) : undefined;
        if (dep && dep.index < s.index) visit(dep);
      }
    }
  };
  visit(start);
  return df.stages.filter((s) => seen.has(s));
}

/**
 * External base images the build unpacks: the root of each needed stage chain whose stages write
 * to or run in the file system. `scratch`, other stages and images still holding an unexpanded
 * variable are left to the build.
 */
export function basesToPrefetch(
  df: Dockerfile,
  buildArgs: ReadonlyMap<string, string>,
  target?: string,
): BaseToPrefetch[] {
  const needed = stagesNeeded(df, target);
  const stageNames = new Set(df.stages.map((s) => s.name).filter(Boolean));
  const rootOf = (s: Stage): Stage => {
    let cur = s;
    for (let guard = 0; guard < df.stages.length; guard++) {
      const parent = df.stages.find((p) => p.name === cur.image.toLowerCase());
      if (!parent || parent.index >= cur.index) break;
      cur = parent;
    }
    return cur;
  };
  const out: BaseToPrefetch[] = [];
  const seen = new Set<string>();
  for (const s of needed) {
    if (!s.instructions.some((i) => NEEDS_ROOTFS.has(i.keyword))) continue;
    const root = rootOf(s);
    if (stageNames.has(root.image.toLowerCase())) continue;
    const image = resolveFromImage(df, root, buildArgs);
    if (image.toLowerCase() === 'scratch' || /[$\s]/.test(image) || image === '') continue;
    if (root.platform !== undefined && /\s/.test(root.platform)) continue;
    const key = `${root.platform ?? ''} ${image}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ image, platform: root.platform });
  }
  return out;
}

/**
 * A Dockerfile that pulls and unpacks each base: creating a directory is a file operation on the
 * base's snapshot, so BuildKit unpacks it (without running anything, so no shell and no emulation
 * is needed); the last stage depends on all of them so one build does it all.
 */
export function prefetchDockerfile(bases: readonly BaseToPrefetch[]): string {
  const lines: string[] = [];
  bases.forEach((b, i) => {
    const platform = b.platform ? `--platform=${b.platform} ` : '';
    lines.push(`FROM ${platform}${b.image} AS base${i}`, 'WORKDIR /.build-go-image-prefetch');
  });
  lines.push('FROM scratch');
  bases.forEach((_, i) => lines.push(`COPY --from=base${i} /.build-go-image-prefetch /base${i}`));
  return lines.join('\n') + '\n';
}
