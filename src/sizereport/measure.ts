// Measures an image per platform without pulling it: compressed sizes from the manifests, the
// instruction behind each layer from the image config's history.
import { createGunzip, createZstdDecompress, type Gunzip, type ZstdDecompress } from 'node:zlib';
import {
  entrypointPaths,
  overlayExecutables,
  shownFiles,
  type LayerExecutables,
  type OverlayLayer,
  type PlatformExecutables,
  MAX_EXECUTABLES,
} from './executables.ts';
import { DIGEST, MEDIA_TYPE, checkReport, isSize } from './fields.ts';
import { analyseGoExecutable } from './go/analyse.ts';
import { GO_EXECUTABLE_MEMORY_CAP } from './go/types.ts';
import { LayerScan, type GoAnalyser, type ScanBudget } from './layer-scan.ts';
import type { ImageSource } from './sources.ts';

export interface LayerSize {
  digest: string;
  size: number;
  /** Bytes once unpacked (undefined when not measured). */
  uncompressed?: number;
  instruction: string;
  /** The Go executables this layer holds, kept so a later measurement can reuse them. */
  executables?: LayerExecutables;
}

export interface PlatformSize {
  platform: string;
  digest: string;
  /** Layers plus config, as the registry stores them. */
  compressed: number;
  /** Sum of the unpacked layers. */
  uncompressed?: number;
  layers: LayerSize[];
  /** The Go executables the image shows on this platform (absent: none, or not looked for). */
  go?: PlatformExecutables;
}

export interface ImageSizeReport {
  schema: 1;
  image: string;
  goVersion?: string;
  platforms: PlatformSize[];
}

/**
 * Layer digest -> unpacked size, and the Go executables of the layers that were walked for them:
 * what layers measured before tell (a layer is content-addressed: it never changes). A Map of
 * sizes, so code that passes the sizes on needs no change to pass the executables too.
 */
export class KnownLayers extends Map<string, number> {
  readonly executables = new Map<string, LayerExecutables>();
}

/** Looking for Go executables in the layers while they are unpacked. */
export interface ExecutableScanOptions {
  /** go/analyse.ts unless given. */
  analyse?: GoAnalyser;
  /** Go executables analysed per platform besides the entrypoint. */
  max?: number;
  /** The largest executable read into memory. */
  cap?: number;
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

/**
 * Unpacked bytes the decompressor hands on at a time. Each chunk is a round trip to the thread
 * pool and back to the main thread, whose callback must run before the next chunk is inflated;
 * Node's default of 16 KiB made that 530 round trips for the reference service's 8 MB layer, and
 * on the shared 2-core machine the two platforms' layers then took 78 ms of CPU to unpack from
 * memory against 43 ms at 256 KiB (medians of 21 rounds; wall time 75 against 41 ms). From the registry, 64 KiB network
 * chunks inflate to about 150 KiB, so at 256 KiB a network chunk is one round trip.
 */
const UNPACKED_CHUNK = 256 * 1024;

/**
 * Unpacked size of a layer blob: streamed through the decompressor, counted, never stored. With a
 * scan, the same unpacked chunks are walked for executables on their way (an uncompressed layer is
 * then read too, for the walk).
 */
async function uncompressedSize(
  source: ImageSource,
  layer: { digest: string; size: number; mediaType?: string },
  scan?: LayerScan,
): Promise<number> {
  const type = layer.mediaType ?? '';
  let stream: Gunzip | ZstdDecompress;
  if (
    type.endsWith('+gzip') ||
    type.endsWith('.tar.gzip') ||
    type === 'application/vnd.docker.image.rootfs.diff.tar.gzip'
  )
    stream = createGunzip({ chunkSize: UNPACKED_CHUNK });
  else if (type.endsWith('+zstd')) stream = createZstdDecompress({ chunkSize: UNPACKED_CHUNK });
  else {
    if (scan) await source.streamBlob(layer.digest, (c) => scan.feed(c));
    return layer.size;
  }
  let count = 0;
  stream.on('data', (c: Buffer) => {
    count += c.length;
    scan?.feed(c);
  });
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
    /**
     * With `uncompressed`, the Go executables in the layers are found in the same pass (module
     * sizes for the report) unless this is false.
     */
    executables?: ExecutableScanOptions | false;
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
      let runConfig: Parameters<typeof entrypointPaths>[0];
      if (body.config) {
        let config: { history?: unknown; config?: unknown };
        try {
          config = JSON.parse((await source.blob(body.config.digest)).toString('utf8')) as {
            history?: unknown;
            config?: unknown;
          };
        } catch {
          throw new Error(`the image config ${body.config.digest} of ${p.platform} is not JSON`);
        }
        history = Array.isArray(config.history) ? (config.history as ConfigHistory[]) : [];
        if (typeof config.config === 'object' && config.config !== null)
          runConfig = config.config as Parameters<typeof entrypointPaths>[0];
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
        const scanning =
          opts.executables === false
            ? undefined
            : { analyse: analyseGoExecutable, ...opts.executables };
        const entrypoints = entrypointPaths(runConfig);
        const budget: ScanBudget = { analysed: 0, max: scanning?.max ?? MAX_EXECUTABLES };
        const walked: OverlayLayer[] = [];
        for (const [i, l] of layers.entries()) {
          const known = opts.known?.get(l.digest);
          const knownExecutables =
            opts.known instanceof KnownLayers ? opts.known.executables.get(l.digest) : undefined;
          if (known !== undefined && (!scanning || knownExecutables)) {
            sized[i]!.uncompressed = known;
            if (scanning) sized[i]!.executables = knownExecutables;
            walked.push({ digest: l.digest, executables: knownExecutables });
            continue;
          }
          const scan = scanning
            ? new LayerScan({
                digest: l.digest,
                analyse: scanning.analyse,
                entrypoints: new Set(entrypoints),
                below: shownFiles(walked),
                budget,
                cap: scanning.cap ?? GO_EXECUTABLE_MEMORY_CAP,
              })
            : undefined;
          sized[i]!.uncompressed = await uncompressedSize(source, l, scan);
          if (scan) {
            const executables = scan.finish();
            sized[i]!.executables = executables;
            walked.push({ digest: l.digest, executables });
          }
        }
        entry.uncompressed = sized.reduce((a, l) => a + (l.uncompressed ?? 0), 0);
        if (scanning) {
          const view = overlayExecutables(walked, entrypoints);
          if (view.executables.length > 0 || view.skipped.length > 0) entry.go = view;
        }
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

/**
 * The report without its per-layer executables records, which only spare the next measurement
 * work (the saved baseline keeps them): what the outputs and the report file carry, so an image
 * of many large Go executables does not double their module lists there.
 */
export function withoutLayerRecords(report: ImageSizeReport): ImageSizeReport {
  return {
    ...report,
    platforms: report.platforms.map((p) => ({
      ...p,
      layers: p.layers.map(({ executables: _, ...l }) => l),
    })),
  };
}

/** Layer digest -> unpacked size and Go executables, from reports measured before. */
export function knownLayerSizes(...reports: (ImageSizeReport | undefined)[]): KnownLayers {
  const known = new KnownLayers();
  for (const r of reports)
    for (const p of r?.platforms ?? [])
      for (const l of p.layers)
        if (typeof l.uncompressed === 'number' && /^sha256:[0-9a-f]{64}$/.test(l.digest)) {
          known.set(l.digest, l.uncompressed);
          if (l.executables) known.executables.set(l.digest, l.executables);
        }
  return known;
}
