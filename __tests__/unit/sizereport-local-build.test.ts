// How a build that was not pushed reaches an OCI layout to be measured, by driver and image store,
// and how `docker save`'s uncompressed layers are sized as a push would send them.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import {
  estimatePushedSizes,
  loadNameFor,
  localExportFor,
  localExportOverrides,
} from '../../src/sizereport/local-build.ts';
import { measureImage } from '../../src/sizereport/measure.ts';
import { ociLayoutSource } from '../../src/sizereport/sources.ts';

test('only the docker driver on the classic store loads and saves; every other builder exports', () => {
  assert.equal(localExportFor('docker', false), 'load-and-save');
  assert.equal(localExportFor('docker', true), 'oci-layout');
  assert.equal(localExportFor('docker-container', false), 'oci-layout');
  assert.equal(localExportFor('remote', false), 'oci-layout');
  assert.deepEqual(localExportOverrides('oci-layout', '/w/l', 'n:1'), {
    outputs: ['type=oci,dest=/w/l,tar=false'],
    load: false,
  });
  assert.deepEqual(localExportOverrides('load-and-save', '/w/l', 'n:1'), {
    outputs: [],
    load: true,
    tags: ['n:1'],
  });
  // A name of its own, whatever the run id holds.
  assert.equal(loadNameFor('12345'), 'build-go-image-measure:12345');
  assert.match(loadNameFor('1 2;$(x)/..'), /^build-go-image-measure:[\w.-]+$/);
  assert.equal(loadNameFor(''), 'build-go-image-measure:run');
});

/** A layout as `docker save` writes it: one index entry without a platform, uncompressed layers. */
function savedLayout(layers: Buffer[]): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'bgi-saved-'));
  mkdirSync(path.join(dir, 'blobs', 'sha256'), { recursive: true });
  const put = (data: Buffer) => {
    const hex = createHash('sha256').update(data).digest('hex');
    writeFileSync(path.join(dir, 'blobs', 'sha256', hex), data);
    return { digest: `sha256:${hex}`, size: data.length };
  };
  const config = put(
    Buffer.from(
      JSON.stringify({
        os: 'linux',
        architecture: 'arm64',
        variant: 'v8',
        history: layers.map((_, i) => ({ created_by: `RUN step ${i}` })),
      }),
    ),
  );
  const manifest = put(
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: layers.map((l) => ({
          mediaType: 'application/vnd.oci.image.layer.v1.tar',
          ...put(l),
        })),
      }),
    ),
  );
  writeFileSync(
    path.join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', ...manifest }],
    }),
  );
  return dir;
}

test("docker save's layers: the platform from the config, sizes as gzip would send them", async () => {
  const text = Buffer.alloc(256 * 1024, 'a');
  const noise = randomBytes(64 * 1024);
  const source = ociLayoutSource(savedLayout([text, noise]));
  const measured = await measureImage(source, 'img', { uncompressed: true });
  assert.ok(measured);
  assert.deepEqual(
    measured.platforms.map((p) => p.platform),
    ['linux/arm64/v8'],
  );
  const before = measured.platforms[0]!;
  assert.equal(before.layers[0]!.size, text.length, 'stored uncompressed');
  const configSize = before.compressed - text.length - noise.length;
  const report = await estimatePushedSizes(measured, source);
  const [a, b] = report.platforms[0]!.layers;
  assert.equal(a!.size, gzipSync(text).length);
  assert.ok(a!.size < text.length / 50, `a repeated letter compresses: ${a!.size}`);
  assert.ok(Math.abs(b!.size - noise.length) < noise.length / 50, 'noise does not');
  assert.equal(a!.uncompressed, text.length, 'the unpacked size stays');
  assert.equal(report.platforms[0]!.compressed, a!.size + b!.size + configSize);
});
