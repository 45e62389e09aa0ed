// The registry client against a registry that demands Docker Hub's token flow, served on 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { RegistryClient } from '../../src/registry/client.ts';
import { formatImageReference, parseImageReference } from '../../src/registry/reference.ts';
import { hasAllPlatforms } from '../../src/go/image-check.ts';

const sha = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

test('image references are normalised as Docker does', () => {
  const cases: [string, string, string, string | undefined][] = [
    ['golang:1.24', 'registry-1.docker.io', 'library/golang', '1.24'],
    ['docker.io/library/busybox', 'registry-1.docker.io', 'library/busybox', 'latest'],
    ['localhost:5000/library/golang:1.24.4', 'localhost:5000', 'library/golang', '1.24.4'],
    ['ghcr.io/o/r/svc:pr-1', 'ghcr.io', 'o/r/svc', 'pr-1'],
    ['tonistiigi/binfmt', 'registry-1.docker.io', 'tonistiigi/binfmt', 'latest'],
  ];
  for (const [input, registry, repository, tag] of cases)
    assert.deepEqual(
      parseImageReference(input),
      { registry, repository, tag, digest: undefined },
      input,
    );
  assert.equal(
    formatImageReference(parseImageReference('golang:1.24')),
    'docker.io/library/golang:1.24',
  );
  for (const bad of ['Golang:1', 'a//b', 'x:tag with space', 'r@sha256:zz', ''])
    assert.throws(() => parseImageReference(bad), /invalid/, bad);
});

test('token auth flow, index walk, attestations skipped, digests verified, 404 is "absent"', async (t) => {
  const configs = {
    amd64: Buffer.from(JSON.stringify({ os: 'linux', architecture: 'amd64', history: [] })),
  };
  const manifest = Buffer.from(
    JSON.stringify({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { digest: sha(configs.amd64), size: configs.amd64.length },
      layers: [{ digest: sha('l'), size: 100 }],
    }),
  );
  const index = Buffer.from(
    JSON.stringify({
      mediaType: 'application/vnd.oci.image.index.v1+json',
      manifests: [
        {
          digest: sha(manifest),
          size: manifest.length,
          platform: { os: 'linux', architecture: 'amd64' },
        },
        {
          digest: sha('att'),
          size: 1,
          platform: { os: 'unknown', architecture: 'unknown' },
          annotations: { 'vnd.docker.reference.type': 'attestation-manifest' },
        },
      ],
    }),
  );
  const seen: string[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    seen.push(`${req.method} ${url.pathname} ${req.headers.authorization ?? '-'}`);
    if (url.pathname === '/token') {
      assert.equal(url.searchParams.get('scope'), 'repository:library/golang:pull');
      return res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ token: 'T0KEN' }));
    }
    if (req.headers.authorization !== 'Bearer T0KEN') {
      return res
        .writeHead(401, {
          'www-authenticate': `Bearer realm="http://127.0.0.1:${(server.address() as AddressInfo).port}/token",service="test",scope="repository:library/golang:pull"`,
        })
        .end();
    }
    const routes: Record<string, Buffer> = {
      '/v2/library/golang/manifests/1.24.4': index,
      [`/v2/library/golang/manifests/${sha(manifest)}`]: manifest,
      [`/v2/library/golang/blobs/${sha(configs.amd64)}`]: configs.amd64,
      [`/v2/library/golang/manifests/${sha('expected')}`]: Buffer.from('{"tampered":true}'),
    };
    const body = routes[url.pathname];
    if (!body) return res.writeHead(404).end('{}');
    res.writeHead(200, { 'content-type': 'application/vnd.oci.image.index.v1+json' }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new RegistryClient({ retryBackoffMs: 1 });
  const ref = parseImageReference(`${host}/library/golang:1.24.4`);
  const platforms = await client.resolvePlatforms(ref);
  assert.deepEqual(
    platforms?.map((p) => [p.platform, p.digest]),
    [['linux/amd64', sha(manifest)]],
  );
  assert.equal(await hasAllPlatforms(client, ref, ['linux/amd64']), true);
  assert.equal(await hasAllPlatforms(client, ref, ['linux/amd64', 'linux/arm64']), false);
  assert.equal(await client.getManifest(ref, '1.24.3'), undefined);
  assert.equal(
    seen.filter((s) => s.startsWith('GET /token')).length,
    1,
    'one token for the repository',
  );
  await assert.rejects(
    client.getManifest(ref, sha('expected')),
    /does not match its digest/,
    'content is checked against the digest asked for',
  );
});
