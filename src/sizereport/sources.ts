// Where an image is measured from: a registry (after a push) or an OCI layout on disk (the build's
// own output when nothing is pushed). Both answer the same three questions.
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  isAttestation,
  platformString,
  type Descriptor,
  type Manifest,
  type RegistryClient,
} from '../registry/client.ts';
import type { ImageReference } from '../registry/reference.ts';

export interface PlatformManifest {
  platform: string;
  digest: string;
  manifest: Manifest;
}

export interface ImageSource {
  platforms(): Promise<PlatformManifest[] | undefined>;
  blob(digest: string): Promise<Buffer>;
  streamBlob(digest: string, sink: (chunk: Buffer) => void): Promise<void>;
}

export function registrySource(client: RegistryClient, ref: ImageReference): ImageSource {
  return {
    platforms: () => client.resolvePlatforms(ref),
    blob: (d) => client.getBlob(ref, d),
    streamBlob: (d, sink) => client.streamBlob(ref, d, sink),
  };
}

export function ociLayoutSource(dir: string): ImageSource {
  const blobPath = (digest: string) => {
    if (!/^sha256:[a-f0-9]{64}$/.test(digest))
      throw new Error(`OCI layout ${dir}: invalid digest ${digest}`);
    return path.join(dir, 'blobs', 'sha256', digest.slice(7));
  };
  const readJson = (digest: string) => {
    const raw = readFileSync(blobPath(digest));
    return { raw, body: JSON.parse(raw.toString('utf8')) as Manifest['body'] };
  };
  return {
    async platforms() {
      const indexFile = path.join(dir, 'index.json');
      if (!existsSync(indexFile)) return undefined;
      const out: PlatformManifest[] = [];
      const walk = (descs: Descriptor[], depth: number) => {
        for (const d of descs) {
          const { raw, body } = readJson(d.digest);
          if (body.manifests && depth < 3) walk(body.manifests, depth + 1);
          else if (body.layers && !isAttestation(d))
            out.push({
              // `docker save` lists its one image without a platform: the config names it.
              platform: platformString(d.platform ?? configPlatform(body.config?.digest)),
              digest: d.digest,
              manifest: { mediaType: body.mediaType ?? d.mediaType, digest: d.digest, body, raw },
            });
        }
      };
      const configPlatform = (digest: string | undefined) => {
        const c = digest ? (readJson(digest).body as { os?: unknown; architecture?: unknown }) : {};
        if (typeof c.os !== 'string' || typeof c.architecture !== 'string')
          throw new Error(`OCI layout ${dir}: a manifest names no platform, nor does its config`);
        const variant = (c as { variant?: unknown }).variant;
        return {
          os: c.os,
          architecture: c.architecture,
          ...(typeof variant === 'string' ? { variant } : {}),
        };
      };
      const index = JSON.parse(readFileSync(indexFile, 'utf8')) as { manifests?: Descriptor[] };
      walk(index.manifests ?? [], 0);
      return out;
    },
    async blob(digest) {
      return readFileSync(blobPath(digest));
    },
    async streamBlob(digest, sink) {
      for await (const chunk of createReadStream(blobPath(digest))) sink(chunk as Buffer);
    },
  };
}
