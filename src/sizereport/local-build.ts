// Measuring a build that was not pushed: its own output, exported once more (every step is a cache
// hit by then). The docker driver on Docker's classic image store, the default of Docker 28 and of
// most hosted runners, refuses OCI and docker exporters ("not supported for the docker driver"),
// but it can load the image and `docker save` it, which writes an OCI layout since Docker 25; so
// that path loads under a name of its own, saves, and removes the name again.
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { createGzip } from 'node:zlib';
import { execFile } from '../io/exec.ts';
import type { ImageSizeReport } from './measure.ts';
import type { ImageSource } from './sources.ts';

/** How the build's output reaches an OCI layout on disk. */
export type LocalExport = 'oci-layout' | 'load-and-save';

/** The docker driver without the containerd image store can only load; everything else exports. */
export function localExportFor(driver: string, containerdStore: boolean): LocalExport {
  return driver === 'docker' && !containerdStore ? 'load-and-save' : 'oci-layout';
}

/** What the second build of the same inputs gets instead of the user's outputs. */
export function localExportOverrides(
  how: LocalExport,
  layout: string,
  loadName: string,
): { outputs: string[]; load: boolean; tags?: string[] } {
  return how === 'oci-layout'
    ? { outputs: [`type=oci,dest=${layout},tar=false`], load: false }
    : { outputs: [], load: true, tags: [loadName] };
}

/** A name for the loaded copy that no user image has: removed again after saving. */
export function loadNameFor(runId: string): string {
  return `build-go-image-measure:${runId.replace(/[^a-zA-Z0-9_.-]/g, '').slice(0, 100) || 'run'}`;
}

/**
 * After a `load-and-save` build: `docker save` of the loaded name, unpacked into `layout`, and the
 * name removed whatever happens (the image the user's own tags point at is untouched).
 */
export async function saveLoadedImage(
  loadName: string,
  layout: string,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  const archive = `${layout}.tar`;
  try {
    await execFile('docker', ['save', '--output', archive, '--', loadName], { env });
    mkdirSync(layout, { recursive: true });
    // Our own engine's output of our own build: unpacked as a plain archive, no links followed out.
    await execFile('tar', [
      '--extract',
      '--no-same-owner',
      '--file',
      archive,
      '--directory',
      layout,
    ]);
  } finally {
    await execFile('docker', ['image', 'rm', '--', loadName], { env, allowFailure: true });
    rmSync(archive, { force: true });
  }
}

export const layoutDir = (workDir: string) => path.join(workDir, 'oci-layout');

/** Media types of layers stored without compression (what `docker save` writes). */
const UNCOMPRESSED_LAYER =
  /^application\/vnd\.(oci\.image\.layer\.v1\.tar|docker\.image\.rootfs\.diff\.tar)$/;

/**
 * Layers `docker save` wrote uncompressed are sized as a push would send them: gzip, as buildx
 * and docker compress by default. Without this a PR measured on the classic store would be compared,
 * uncompressed, with a base branch measured from its registry, and seem to have doubled.
 */
export async function estimatePushedSizes(
  report: ImageSizeReport,
  source: ImageSource,
): Promise<ImageSizeReport> {
  const manifests = new Map((await source.platforms())?.map((p) => [p.platform, p.manifest]));
  for (const platform of report.platforms) {
    const layers = manifests.get(platform.platform)?.body.layers ?? [];
    let changed = 0;
    for (const [i, layer] of platform.layers.entries()) {
      const stored = layers[i];
      if (!stored || stored.digest !== layer.digest || !UNCOMPRESSED_LAYER.test(stored.mediaType))
        continue;
      const gzipped = await gzipSize(source, layer.digest);
      changed += gzipped - layer.size;
      layer.size = gzipped;
    }
    platform.compressed += changed;
  }
  return report;
}

async function gzipSize(source: ImageSource, digest: string): Promise<number> {
  const gzip = createGzip();
  let count = 0;
  gzip.on('data', (c: Buffer) => (count += c.length));
  const done = new Promise<void>((resolve, reject) => {
    gzip.on('end', resolve);
    gzip.on('error', reject);
  });
  await source.streamBlob(digest, (c) => gzip.write(c));
  gzip.end();
  await done;
  return count;
}
