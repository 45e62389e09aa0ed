// Measures an image per platform without pulling it: compressed sizes from the manifests, the
// instruction behind each layer from the image config's history.
import { createGunzip, createZstdDecompress, type Gunzip, type ZstdDecompress } from 'node:zlib';
import { DIGEST, MEDIA_TYPE, checkReport, isSize } from './fields.ts';
import type { ImageSource } from './sources.ts';

export interface LayerSize {
  digest: string;
  size: number;
  /** Bytes once unpacked (undefined when not measured). */
  uncompressed?: number;
  instruction: string;
}

export interface PlatformSize {
  platform: string;
  digest: string;
  /** Layers plus config, as the registry stores them. */
  compressed: number;
  /** Sum of the unpacked layers. */
  uncompressed?: number;
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
export function shortInstruction(createdBy: unknown): string {
  if (typeof createdBy !== 'string') return '(unknown)';
  // Image history is outside text: no control character or line break survives.
  // eslint-disable-next-line no-control-regex
  let s = createdBy.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ').trim();
  s = s.replace(/^\/bin\/sh -c #\(nop\)\s*/, '');
  s = s.replace(/^RUN \|\d+(?: \S+=\S*)* /, 'RUN ');
  s = s.replace(/^(RUN )?\/bin\/sh -c /, 'RUN ');
  s = s.replace(/ # buildkit$/, '');
  s = s.replace(/\s+/g, ' ');
  if (!s) return '(unknown)';
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

/** Unpacked size of a layer blob: streamed through the decompressor, counted, never stored. */
async function uncompressedSize(
  source: ImageSource,
  layer: { digest: string; size: number; mediaType?: string },
): Promise<number> {
  const type = layer.mediaType ?? '';
  let stream: Gunzip | ZstdDecompress;
  if (
    type.endsWith('+gzip') ||
    type.endsWith('.tar.gzip') ||
    type === 'application/vnd.docker.image.rootfs.diff.tar.gzip'
  )
    stream = createGunzip();
  else if (type.endsWith('+zstd')) stream = createZstdDecompress();
  else return layer.size;
  let count = 0;
  stream.on('data', (c: Buffer) => (count += c.length));
  const done = new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('error', reject);
  });
  await source.streamBlob(layer.digest, (c) => stream.write(c));
  stream.end();
  await done;
  return count;
}

/** Sizes per platform of an image, from a registry or an OCI layout, without pulling it. */
export async function measureImage(
  source: ImageSource,
  label: string,
  opts: {
    uncompressed?: boolean;
    /**
     * Unpacked sizes already known by layer digest (a layer is content-addressed, so its size
     * never changes): typically the baseline's, whose base-image layers a PR rarely touches.
     */
    known?: ReadonlyMap<string, number>;
  } = {},
): Promise<ImageSizeReport | undefined> {
  const platforms = await source.platforms();
  if (!platforms) return undefined;
  // Platforms are measured concurrently: unpacking is CPU work and each platform is independent.
  const out = await Promise.all(
    platforms.map(async (p): Promise<PlatformSize> => {
      const body = p.manifest.body;
      const layers = body.layers ?? [];
      // The registry's (or layout's) fields, each against its grammar before any is used.
      if (!Array.isArray(layers) || layers.length > 1000)
        throw new Error(`${label}: the layers of ${p.platform} are not a list of at most 1000`);
      for (const l of [...layers, ...(body.config ? [body.config] : [])]) {
        if (typeof l !== 'object' || l === null || !DIGEST.test(String(l.digest)))
          throw new Error(`${label}: a layer of ${p.platform} has no valid digest`);
        if (!isSize(l.size))
          throw new Error(`${label}: the size of ${l.digest} is not a byte count`);
        if (l.mediaType !== undefined && !MEDIA_TYPE.test(String(l.mediaType)))
          throw new Error(`${label}: the media type of ${l.digest} is not a media type`);
      }
      let history: ConfigHistory[] = [];
      if (body.config) {
        let config: { history?: unknown };
        try {
          config = JSON.parse((await source.blob(body.config.digest)).toString('utf8')) as {
            history?: unknown;
          };
        } catch {
          throw new Error(`the image config ${body.config.digest} of ${p.platform} is not JSON`);
        }
        history = Array.isArray(config.history) ? (config.history as ConfigHistory[]) : [];
      }
      const compressed = layers.reduce((a, l) => a + l.size, 0) + (body.config?.size ?? 0);
      const sized = layersWithInstructions(layers, history);
      const entry: PlatformSize = {
        platform: p.platform,
        digest: p.digest,
        compressed,
        layers: sized,
      };
      if (opts.uncompressed) {
        for (const [i, l] of layers.entries())
          sized[i]!.uncompressed = opts.known?.get(l.digest) ?? (await uncompressedSize(source, l));
        entry.uncompressed = sized.reduce((a, l) => a + (l.uncompressed ?? 0), 0);
      }
      return entry;
    }),
  );
  out.sort((a, b) => a.platform.localeCompare(b.platform));
  // The same checks a saved report gets: platform strings, digests, sizes, instructions.
  const checked = checkReport({ schema: 1, image: label, platforms: out });
  if (!checked.report) throw new Error(`${label}: ${checked.problems.join('; ')}`);
  return checked.report;
}

/** Layer digest -> unpacked size, from reports measured before. */
export function knownLayerSizes(...reports: (ImageSizeReport | undefined)[]): Map<string, number> {
  const known = new Map<string, number>();
  for (const r of reports)
    for (const p of r?.platforms ?? [])
      for (const l of p.layers)
        if (typeof l.uncompressed === 'number' && /^sha256:[0-9a-f]{64}$/.test(l.digest))
          known.set(l.digest, l.uncompressed);
  return known;
}
