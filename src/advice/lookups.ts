// Facts some advice needs from registries: whether a pinned base digest is an index or a single
// manifest, and whether the `# syntax` frontend answers. Each lookup is bounded and optional:
// a registry that does not answer leaves the fact unknown and the advice silent.
import type { Dockerfile } from '../dockerfile/parse.ts';
import type { RegistryClient } from '../registry/client.ts';
import { parseImageReference } from '../registry/reference.ts';
import { pinnedDigests } from './rules.ts';

export interface AdviceFacts {
  digestKinds: Map<string, 'index' | 'manifest'>;
  syntaxReachable?: boolean;
}

async function kindOf(
  registry: RegistryClient,
  image: string,
): Promise<'index' | 'manifest' | undefined> {
  const m = await registry.getManifest(parseImageReference(image));
  if (!m) return undefined;
  return m.body.manifests ? 'index' : 'manifest';
}

export async function lookupAdviceFacts(
  df: Dockerfile,
  buildArgs: ReadonlyMap<string, string>,
  registry: RegistryClient,
  multiPlatform: boolean,
): Promise<AdviceFacts> {
  const facts: AdviceFacts = { digestKinds: new Map() };
  if (multiPlatform)
    for (const p of pinnedDigests(df, buildArgs)) {
      const kind = await kindOf(registry, p.ref).catch(() => undefined);
      if (kind) facts.digestKinds.set(p.digest, kind);
    }
  const syntax = df.directives.find((d) => d.name === 'syntax')?.value.trim();
  if (syntax)
    facts.syntaxReachable = await kindOf(registry, syntax).then(
      (k) => k !== undefined,
      () => false,
    );
  return facts;
}
