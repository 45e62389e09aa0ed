// A service with a private module, served over HTTPS with a private CA by a module proxy that
// requires credentials, builds through the bundled action with go-private and ca-bundle; the
// token reaches `go mod download` and is found nowhere else: not in the pushed image (every blob of
// every manifest, attestations included), the logs, the outputs, the state or the saved caches.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { gunzipSync, zstdDecompressSync } from 'node:zlib';
import { execFile } from '../../src/io/exec.ts';
import { RegistryClient } from '../../src/registry/client.ts';
import { startCacheServer } from '../helpers/cache-server.ts';
import { requireEngine } from '../helpers/engine.ts';
import { startModuleServer } from '../helpers/module-server.ts';
import { ROOT, runAction } from '../helpers/run-action.ts';

/** Every byte the registry holds for an image: index, manifests, configs, layers (unpacked). */
async function imageBytes(registry: string, repository: string, tag: string): Promise<Buffer[]> {
  const client = new RegistryClient();
  const ref = { registry, repository, tag };
  const top = await client.getManifest(ref);
  assert.ok(top, 'the image was pushed');
  const out: Buffer[] = [top.raw];
  const manifests = top.body.manifests
    ? await Promise.all(top.body.manifests.map((d) => client.getManifest(ref, d.digest)))
    : [top];
  for (const m of manifests) {
    assert.ok(m);
    out.push(m.raw);
    for (const d of [m.body.config, ...(m.body.layers ?? [])].filter((x) => x !== undefined)) {
      const blob = await client.getBlob(ref, d.digest, 256 << 20);
      out.push(/gzip/.test(d.mediaType) ? gunzipSync(blob) : blob);
    }
  }
  return out;
}

function unpackCacheArchive(data: Buffer): Buffer {
  // @actions/cache writes tar+zstd when zstd is on the runner, tar+gzip otherwise.
  if (data.subarray(0, 4).equals(Buffer.from([0x28, 0xb5, 0x2f, 0xfd])))
    return zstdDecompressSync(data);
  if (data[0] === 0x1f && data[1] === 0x8b) return gunzipSync(data);
  return data;
}

test(
  'private module through go-private and ca-bundle: built, and the token leaks nowhere',
  { timeout: 10 * 60_000 },
  async (t) => {
    const engine = await requireEngine(t);
    if (!engine) return;
    // Build containers reach the host through the bridge gateway.
    const gateway = (
      await execFile('docker', [
        'network',
        'inspect',
        'bridge',
        '--format',
        '{{(index .IPAM.Config 0).Gateway}}',
      ])
    ).stdout.trim();
    // A module cache left in the builder by an earlier run would spare the download under test.
    await execFile('docker', ['buildx', 'prune', '--all', '--force']);
    const token = `ghs_private_${randomBytes(12).toString('hex')}`;
    const moduleDir = path.join(ROOT, 'examples', 'go-private', 'greet-module');
    const modules = await startModuleServer({
      host: gateway,
      login: 'x-access-token',
      password: token,
      module: {
        path: 'example.internal/greet',
        version: 'v1.0.0',
        files: {
          'go.mod': readFileSync(path.join(moduleDir, 'go.mod'), 'utf8'),
          'greet.go': readFileSync(path.join(moduleDir, 'greet.go'), 'utf8'),
        },
      },
    });
    t.after(() => modules.close());
    const cache = await startCacheServer();
    t.after(() => cache.close());

    const svc = mkdtempSync(path.join(tmpdir(), 'bgi-private-'));
    cpSync(path.join(ROOT, 'examples', 'go-private'), svc, { recursive: true });
    assert.equal(
      readFileSync(path.join(svc, 'go.sum'), 'utf8'),
      modules.goSum,
      'examples/go-private/go.sum matches the served module',
    );
    const repo = `private-${randomBytes(4).toString('hex')}/service`;
    const tag = `${engine.registry}/${repo}:v1`;
    const host = new URL(modules.url).host;
    const res = await runAction({
      inputs: {
        context: svc,
        tags: tag,
        push: 'true',
        'build-args': [
          `BASE_REGISTRY=${engine.baseRegistry}`,
          `GOPROXY=${modules.url}`,
          'GONOPROXY=none',
        ].join('\n'),
        'go-version': engine.goVersion,
        'check-go-image': 'false',
        'go-private': 'example.internal/*',
        'go-private-token': token,
        // The netrc names the proxy host with and without its port.
        'go-private-hosts': `${gateway},${host}`,
        'ca-bundle': modules.certFile,
        'cache-helper-image': `${engine.baseRegistry}/busybox:1.37.0`,
        'size-report': 'false',
      },
      env: { ...cache.env('v2') },
    });
    assert.equal(res.main.exitCode, 0, res.main.stdout.slice(-4000) + res.main.stderr);
    assert.equal(res.post?.exitCode, 0);

    // The secret reached `go mod download`: the proxy served the module to authorised requests only.
    assert.ok(
      modules.requests.some((r) => r.authorised && r.path.endsWith('v1.0.0.zip')),
      JSON.stringify(modules.requests),
    );
    assert.ok(
      modules.requests.every((r) => r.authorised),
      'no request went without credentials',
    );
    // The built service prints what the private module returns (the amd64 image runs natively).
    const run = await execFile('docker', ['run', '--rm', '--platform', 'linux/amd64', tag]);
    assert.equal(run.stdout.trim(), 'hello from a private module');

    // Nowhere else.
    const needle = Buffer.from(token);
    for (const blob of await imageBytes(engine.registry, repo, 'v1'))
      assert.ok(!blob.includes(needle), 'the token is in a blob of the pushed image');
    for (const step of [res.main, res.post!]) {
      // `::add-mask::` lines are how the runner learns the value; it never shows them.
      const shown = step.stdout
        .split('\n')
        .filter((l) => !l.startsWith('::add-mask::'))
        .join('\n');
      assert.ok(!shown.includes(token) && !step.stderr.includes(token), 'token in the log');
      assert.ok(!JSON.stringify(step.outputs).includes(token), 'token in an output');
      assert.ok(!step.summary.includes(token), 'token in the summary');
    }
    assert.ok(!JSON.stringify(res.state).includes(token), 'token in the state');
    assert.ok(res.main.masks.includes(token), 'the token is masked');
    const saved = cache.entries.filter((e) => e.committed);
    assert.ok(saved.length >= 1, 'cache mounts (module and build cache) were saved');
    for (const e of saved)
      assert.ok(!unpackCacheArchive(e.data).includes(needle), `token in cache entry ${e.key}`);
    await execFile('docker', ['image', 'rm', '--force', tag], { allowFailure: true });
  },
);
