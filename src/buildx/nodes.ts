// Which node of a builder builds which platform. A builder made with `docker buildx create
// --append` has one BuildKit per machine, each with its own cache mounts, so cache-mount state has
// to move per node. buildx picks the node itself; this repeats its rule (build/resolver in buildx):
// - if every requested platform is one some node was created for (`--platform`, starred in
//   inspect), each goes to the first node created for it;
// - otherwise each goes to the first node that lists it at all, preferring an exact match over a
//   compatible one (an amd64 node runs 386, an arm64 node runs arm), and to the first node when
//   no node lists it.
import type { BuilderInfo, BuilderNode } from './builder.ts';

/** The form buildx compares: arm64/v8 is arm64, amd64/v1 is amd64. */
export function normalizePlatform(p: string): string {
  const [os = '', arch = '', variant] = p.toLowerCase().split('/');
  if ((arch === 'arm64' && variant === 'v8') || (arch === 'amd64' && variant === 'v1'))
    return `${os}/${arch}`;
  return variant ? `${os}/${arch}/${variant}` : `${os}/${arch}`;
}

const COMPATIBLE: Record<string, string[]> = {
  'linux/amd64': ['linux/386'],
  'linux/arm64': ['linux/arm/v7', 'linux/arm/v6', 'linux/arm'],
};

function firstNode(nodes: BuilderNode[], listed: (n: BuilderNode) => string[], p: string): number {
  const want = normalizePlatform(p);
  const exact = nodes.findIndex((n) => listed(n).some((q) => normalizePlatform(q) === want));
  if (exact >= 0) return exact;
  return nodes.findIndex((n) =>
    listed(n).some((q) => COMPATIBLE[normalizePlatform(q)]?.includes(want)),
  );
}

/** The index of the node that builds each requested platform, in the order requested. */
export function resolveNodes(nodes: BuilderNode[], requested: string[]): number[] {
  if (nodes.length <= 1) return requested.map(() => 0);
  const strict = requested.map((p) => firstNode(nodes, (n) => n.configured, p));
  if (strict.every((i) => i >= 0)) return strict;
  return requested.map((p) =>
    Math.max(
      0,
      firstNode(nodes, (n) => n.platforms, p),
    ),
  );
}

export interface NodeGroup {
  /** The node's name; empty for a builder with one node. */
  node: string;
  /** The requested platforms this node builds. */
  platforms: string[];
  /** The platform a helper build asks for so that buildx sends it to this node. */
  helperPlatform: string;
}

/**
 * The requested platforms grouped by the node that builds them. The helper platform is the node's
 * own (first listed) platform when asking for it alone reaches the node, so helpers run natively,
 * else the first of the group's platforms that does.
 */
export function nodeGroups(info: BuilderInfo, requested: string[]): NodeGroup[] {
  const nodes = info.nodes;
  if (nodes.length <= 1)
    return [{ node: '', platforms: [...requested], helperPlatform: info.nativePlatform }];
  const owner = resolveNodes(nodes, requested);
  const groups: NodeGroup[] = [];
  for (const [i, node] of nodes.entries()) {
    const platforms = requested.filter((_, k) => owner[k] === i);
    if (platforms.length === 0) continue;
    const reaches = (p: string) => resolveNodes(nodes, [p])[0] === i;
    const helperPlatform =
      [node.platforms[0] ?? '', ...platforms].find((p) => p && reaches(p)) ?? platforms[0]!;
    groups.push({ node: node.name, platforms, helperPlatform });
  }
  return groups;
}
