// Measures an image per platform without pulling it: compressed sizes from the manifests, the
// instruction behind each layer from the image config's history.
import type { RegistryClient } from '../registry/client.ts';
import type { ImageReference } from '../registry/reference.ts';

export interface LayerSize {
  digest: string;
  size: number;
  instruction: string;
}

export interface PlatformSize {
  platform: string;
  digest: string;
  /** Layers plus config, as the registry stores them. */
  compressed: number;
  layers: LayerSize[];
}

export interface ImageSizeReport {
  schema: 1;
  image: string;
  goVersion?: string;
  platforms: PlatformSize[];
}

interface ConfigHistory {
  created_by?: string;
  empty_layer?: boolean;
}

/** `RUN |2 A=b /bin/sh -c go build` and `/bin/sh -c #(nop) COPY` -> a short readable instruction. */
export function shortInstruction(createdBy: string): string {
  let s = createdBy.trim();
  s = s.replace(/^\/bin\/sh -c #\(nop\)\s*/, '');
  s = s.replace(/^RUN \|\d+(?: \S+=\S*)* /, 'RUN ');
  s = s.replace(/^(RUN )?\/bin\/sh -c /, 'RUN ');
  s = s.replace(/ # buildkit$/, '');
  s = s.replace(/\s+/g, ' ');
  return s.length > 120 ? `${s.slice(0, 117)}...` : s;
}

export function layersWithInstructions(
  layers: { digest: string; size: number }[],
  history: ConfigHistory[],
): LayerSize[] {
  const real = history.filter((h) => !h.empty_layer);
  return layers.map((l, i) => ({
    digest: l.digest,
    size: l.size,
    instruction: shortInstruction(real[i]?.created_by ?? '(unknown)'),
  }));
}

export async function measureFromRegistry(
  client: RegistryClient,
  ref: ImageReference,
  label: string,
): Promise<ImageSizeReport | undefined> {
  const platforms = await client.resolvePlatforms(ref);
  if (!platforms) return undefined;
  const out: PlatformSize[] = [];
  for (const p of platforms) {
    const body = p.manifest.body;
    const layers = body.layers ?? [];
    let history: ConfigHistory[] = [];
    if (body.config) {
      const config = JSON.parse(
        (await client.getBlob(ref, body.config.digest)).toString('utf8'),
      ) as { history?: ConfigHistory[] };
      history = config.history ?? [];
    }
    const compressed = layers.reduce((a, l) => a + l.size, 0) + (body.config?.size ?? 0);
    out.push({
      platform: p.platform,
      digest: p.digest,
      compressed,
      layers: layersWithInstructions(layers, history),
    });
  }
  out.sort((a, b) => a.platform.localeCompare(b.platform));
  return { schema: 1, image: label, platforms: out };
}
