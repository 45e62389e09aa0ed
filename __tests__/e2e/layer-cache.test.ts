// The layer cache the action keeps without configuration (src/buildx/layer-cache.ts), end to end:
// BuildKit inside a docker-container builder talks to the cache stand-in with its own client
// (go-actions-cache, v2: Twirp + Azure blob block uploads). Run 1 on a fresh builder stores the
// final image's layers and the index under the documented scope; run 2 on a new, empty builder
// with the same sources is a full cache hit that pulls no base-image layer; a run with the user's
// own cache-to, and one on an untrusted event, write nothing to the Actions cache.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { execFile } from '../../src/io/exec.ts';
import { layerCacheScope } from '../../src/buildx/layer-cache.ts';
import { startCacheServer } from '../helpers/cache-server.ts';
import { requireBuildKitImage, requireEngine, uniqueRepo } from '../helpers/engine.ts';
import { pushBothPlatformsInputs, serviceCopy } from '../helpers/go-service.ts';
import { runAction } from '../helpers/run-action.ts';

/** Lines of BuildKit's plain progress that unpack a pulled layer. */
/**
 * A docker-container builder `name`, created anew (removed first if there), removed after the test;
 * network=host: its BuildKit reaches the registry and the stand-in on loopback.
 */
async function newBuilder(t: TestContext, name: string, image: string): Promise<void> {
  await execFile('docker', ['buildx', 'rm', '--force', name], { allowFailure: true });
  await execFile('docker', [
    ...['buildx', 'create', '--name', name, '--driver', 'docker-container'],
    ...['--driver-opt', `image=${image}`, '--driver-opt', 'network=host'],
    '--bootstrap',
  ]);
  t.after(() => execFile('docker', ['buildx', 'rm', '--force', name], { allowFailure: true }));
}

const unpacked = (log: string) => log.split('\n').filter((l) => /^#\d+ extracting sha256:/.test(l));

test(
  'layer cache without configuration: saved by a fresh builder, a full hit on the next, off with the user’s cache-to',
  { timeout: 20 * 60_000 },
  async (t) => {
    const engine = await requireEngine(t);
    if (!engine) return;
    const buildkitImage = requireBuildKitImage(t);
    if (!buildkitImage) return;
    const cache = await startCacheServer();
    t.after(() => cache.close());
    const builder = `bgi-layer-cache-${process.pid}`;
    // A new builder each time: its own empty BuildKit state and content store, as on a fresh runner.
    const freshBuilder = () => newBuilder(t, builder, buildkitImage);

    const svc = serviceCopy();
    const repo = uniqueRepo(engine, 'layercache');
    const inputs = pushBothPlatformsInputs(engine, svc, repo, {
      platforms: 'linux/amd64',
      builder,
      'go-version': engine.goVersion,
      'check-go-image': 'false',
      // Layer cache alone: what the stand-in holds is the layer cache's.
      'cache-mounts': 'false',
    });
    const scope = layerCacheScope({
      tags: [`${repo}:v1`],
      dockerfile: '',
      target: '',
      platforms: ['linux/amd64'],
      cacheKey: '',
    });
    assert.ok(scope.startsWith(`build-go-image-${repo.replace(/[:/]/g, '-')}-linux-amd64-`), scope);
    const committed = () => cache.entries.filter((e) => e.committed);
    const blobs = () => committed().filter((e) => e.key.startsWith('buildkit-blob-1-sha256:'));
    const indexes = () => committed().filter((e) => e.key.startsWith(`index-${scope}-1-`));
    // Every reservation BuildKit's client made, finished or not (the size report keeps its own
    // entries in the same service).
    const writes = () => cache.entries.filter((e) => /^(index-|buildkit-blob-)/.test(e.key)).length;

    // Run 1: a fresh builder, nothing cached anywhere; the build compiles and the cache is written.
    await freshBuilder();
    const first = await runAction({ inputs, env: cache.env() });
    assert.equal(first.main.exitCode, 0, first.main.stdout.slice(-4000));
    assert.match(
      first.main.stdout,
      new RegExp(`layer cache: Actions cache \\(gha, v2\\), scope ${scope}, read and written`),
    );
    assert.ok(unpacked(first.main.stdout).length > 0, 'a fresh builder pulls the golang image');
    assert.equal(indexes().length, 1, cache.entries.map((e) => e.key).join('\n'));
    assert.match(indexes()[0]!.key, new RegExp(`^index-${scope}-1-[0-9a-f]{8}#1$`));
    // mode=min: the final image's layer (the program on scratch), not the build stage's golang
    // layers, which are far larger.
    const index = JSON.parse(indexes()[0]!.data.toString('utf8')) as {
      layers: { blob: string }[];
    };
    const stored = new Set(blobs().map((e) => e.key.slice('buildkit-blob-1-'.length)));
    assert.ok(index.layers.length > 0 && index.layers.every((l) => stored.has(l.blob)));
    const storedBytes = blobs().reduce((n, e) => n + e.data.length, 0);
    assert.ok(storedBytes > 0 && storedBytes < 20 * 1024 * 1024, `${storedBytes} bytes stored`);
    assert.ok(
      committed().every((e) => !e.key.includes(cache.token)),
      'the token stays a header',
    );

    // Run 2: another new builder, same sources: every step comes from the layer cache, and the
    // golang image is only resolved, never pulled.
    await freshBuilder();
    const blobCount = blobs().length;
    const second = await runAction({ inputs: { ...inputs, tags: `${repo}:v2` }, env: cache.env() });
    assert.equal(second.main.exitCode, 0, second.main.stdout.slice(-4000));
    const log2 = second.main.stdout;
    assert.match(log2, /importing cache manifest from gha/);
    assert.match(log2, /\] RUN [^\n]*go build[^\n]*\n#\d+ CACHED/, log2.slice(-4000));
    assert.match(log2, /\] RUN [^\n]*go mod download[^\n]*\n#\d+ CACHED/);
    assert.deepEqual(unpacked(log2), [], 'no base-image layer pulled');
    assert.equal(blobs().length, blobCount, 'nothing new to store');

    // The user's own cache-to: the action adds nothing and writes nothing to the Actions cache.
    const before = writes();
    const dest = path.join(mkdtempSync(path.join(tmpdir(), 'bgi-user-cache-')), 'c');
    const own = await runAction({
      inputs: { ...inputs, tags: `${repo}:v3`, 'cache-to': `type=local,dest=${dest}` },
      env: cache.env(),
    });
    assert.equal(own.main.exitCode, 0, own.main.stdout.slice(-4000));
    assert.match(own.main.stdout, /layer cache: the cache-from\/cache-to given are used instead/);
    assert.doesNotMatch(own.main.stdout, /importing cache manifest from gha/);
    assert.ok(existsSync(path.join(dest, 'index.json')), 'the user’s cache-to was written');
    assert.equal(writes(), before, 'no write to the Actions cache');

    // An untrusted event (a fork's code may run): read, never written.
    const untrusted = await runAction({
      inputs: { ...inputs, tags: `${repo}:v4` },
      env: cache.env(),
      event: { name: 'pull_request_target', payload: {} },
    });
    assert.equal(untrusted.main.exitCode, 0, untrusted.main.stdout.slice(-4000));
    assert.match(untrusted.main.stdout, /read only/);
    assert.match(untrusted.main.stdout, /importing cache manifest from gha/);
    assert.equal(writes(), before, 'no write on an untrusted event');
  },
);

test(
  'a rerun whose cache-mount steps were all cached: post takes no mount out and saves nothing',
  { timeout: 20 * 60_000 },
  async (t) => {
    const engine = await requireEngine(t);
    if (!engine) return;
    const buildkitImage = requireBuildKitImage(t);
    if (!buildkitImage) return;
    const cache = await startCacheServer();
    t.after(() => cache.close());
    const builder = `bgi-cached-rerun-${process.pid}`;
    await newBuilder(t, builder, buildkitImage);
    const repo = uniqueRepo(engine, 'cachedrerun');
    const inputs = pushBothPlatformsInputs(engine, serviceCopy(), repo, {
      platforms: 'linux/amd64',
      builder,
      'go-version': engine.goVersion,
      'check-go-image': 'false',
      'layer-cache': 'off',
    });
    const saved = (r: Awaited<ReturnType<typeof runAction>>) =>
      Object.values(JSON.parse(r.post?.outputs['cache-saved'] ?? '{}') as Record<string, unknown>);

    // Run 1 compiles: its mounts are taken out and saved.
    const first = await runAction({ inputs, env: cache.env() });
    assert.equal(first.main.exitCode, 0, first.main.stdout.slice(-4000));
    assert.match(first.post?.stdout ?? '', /taken out of the builder/);
    assert.ok(saved(first).includes(true), first.post?.stdout);

    // Run 2 on the same builder, same sources: every step that mounts the caches is CACHED.
    const second = await runAction({ inputs: { ...inputs, tags: `${repo}:v2` }, env: cache.env() });
    assert.equal(second.main.exitCode, 0, second.main.stdout.slice(-4000));
    assert.match(second.main.stdout, /\] RUN [^\n]*go build[^\n]*\n#\d+ CACHED/);
    const post = second.post?.stdout ?? '';
    assert.match(post, /every build step that mounts them was cached/);
    assert.doesNotMatch(post, /taken out of the builder/);
    assert.ok(saved(second).length > 0 && saved(second).every((v) => v === false), post);
  },
);
