// The bundled action, run as the Actions runner runs it, against the real build engine, the local
// registry and the local Actions cache service.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from '../../src/io/exec.ts';
import { startCacheServer } from '../helpers/cache-server.ts';
import { requireEngine, uniqueRepo } from '../helpers/engine.ts';
import {
  changeOneLine,
  compiledPackages,
  pushBothPlatformsInputs,
  serviceCopy,
} from '../helpers/go-service.ts';
import { startReleaseServer } from '../helpers/release-server.ts';
import { runAction } from '../helpers/run-action.ts';

/** Runs the image for a platform, waits for it to answer on /version, returns the answer. */
async function serve(image: string, platform: string): Promise<unknown> {
  const run = await execFile('docker', [
    'run',
    '-d',
    '--rm',
    '--pull',
    'always',
    '--platform',
    platform,
    '-p',
    '127.0.0.1::8080',
    image,
  ]);
  const id = run.stdout.trim();
  try {
    const port = (await execFile('docker', ['port', id, '8080'])).stdout
      .trim()
      .split('\n')[0]!
      .split(':')
      .pop();
    for (let i = 0; i < 100; i++) {
      const res = await fetch(`http://127.0.0.1:${port}/version`).catch(() => undefined);
      if (res?.ok) return await res.json();
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`${image} (${platform}) did not answer on /version`);
  } finally {
    await execFile('docker', ['rm', '-f', id], { allowFailure: true });
  }
}

test(
  'builds both platforms, pushes one index, keeps cache mounts across a wiped builder',
  { timeout: 15 * 60_000 },
  async (t) => {
    const engine = await requireEngine(t);
    if (!engine) return;
    const [major = 1, minor = 24, patch = 0] = engine.goVersion.split('.').map(Number);
    const newer = `${major}.${minor}.${patch + 1}`;
    // The release list says a newer patch exists; the registry has no image for it yet.
    const releases = await startReleaseServer([
      newer,
      engine.goVersion,
      `${major}.${minor}.0`,
      `${major}.${minor - 1}.9`,
    ]);
    const cache = await startCacheServer();
    t.after(() => Promise.all([releases.close(), cache.close()]));
    const svc = serviceCopy();
    const repo = uniqueRepo(engine, 'e2e');
    const inputs = pushBothPlatformsInputs(engine, svc, repo, {
      'go-release-source': releases.goDevUrl,
      'go-proxy': releases.proxyUrl,
      'cache-helper-image': `${engine.baseRegistry}/busybox:stable`,
    });

    // Start from an empty builder, so the first build is cold and the second can only be warm
    // through what the action saved and restored.
    await execFile('docker', ['buildx', 'prune', '--all', '--force']);
    const first = await runAction({ inputs, env: cache.env() });
    assert.equal(first.main.exitCode, 0, first.main.stdout.slice(-4000));
    assert.equal(
      first.main.outputs['go-version'],
      engine.goVersion,
      'falls back to the patch that has an image',
    );
    assert.equal(first.main.outputs['go-version-minimum'], '1.24.1');
    assert.ok(
      first.main.annotations.some(
        (a) =>
          a.level === 'warning' &&
          a.message.includes(`Go ${newer} is released but no image exists`),
      ),
      'warns about the missing image',
    );
    assert.match(first.main.outputs['digest'] ?? '', /^sha256:[0-9a-f]{64}$/);

    // The registry holds one index with both platforms, and the outputs name the same digests.
    const raw = await execFile('docker', [
      'buildx',
      'imagetools',
      'inspect',
      '--raw',
      `${repo}:v1`,
    ]);
    const index = JSON.parse(raw.stdout) as {
      manifests: { digest: string; platform: { os: string; architecture: string } }[];
    };
    const byPlatform = Object.fromEntries(
      index.manifests
        .filter((m) => m.platform.os !== 'unknown')
        .map((m) => [`${m.platform.os}/${m.platform.architecture}`, m.digest]),
    );
    assert.deepEqual(Object.keys(byPlatform).sort(), ['linux/amd64', 'linux/arm64']);
    assert.deepEqual(JSON.parse(first.main.outputs['platform-digests'] ?? '{}'), byPlatform);

    // Each platform's image serves HTTP (arm64 under QEMU) and was built with the chosen Go.
    for (const platform of ['linux/amd64', 'linux/arm64']) {
      assert.deepEqual(await serve(`${repo}:v1`, platform), {
        go: `go${engine.goVersion}`,
        platform,
      });
    }
    assert.ok(
      first.main.summary.includes('linux/arm64 (emulated)') ||
        first.main.summary.includes('linux/arm64 (native)'),
    );

    // Post saved GOCACHE through the real @actions/cache client; GOMODCACHE stays empty (the service
    // has no module dependencies) and an empty mount is never saved.
    assert.equal(first.post?.exitCode, 0, first.post?.stdout);
    const saved = cache.entries.filter(
      (e) => e.committed && e.key.startsWith('build-go-image-cm-v1-'),
    );
    assert.equal(saved.length, 1, first.post?.stdout);
    assert.match(
      first.post?.stdout ?? '',
      /cache mount \/go\/pkg\/mod: not saved \(the cache mount is empty after the build\)/,
    );

    // Wipe the builder completely (layer cache and cache mounts), change one line in one package.
    await execFile('docker', ['buildx', 'prune', '--all', '--force']);
    changeOneLine(svc);

    const second = await runAction({ inputs: { ...inputs, tags: `${repo}:v2` }, env: cache.env() });
    assert.equal(second.main.exitCode, 0, second.main.stdout.slice(-4000));
    // On the docker driver of a local engine the state moves through the loopback channel.
    assert.match(first.post?.stdout ?? '', /taken out of the builder through the loopback channel/);
    assert.match(second.main.stdout, /put into the builder through the loopback channel/);
    const hits = JSON.parse(second.main.outputs['cache-hit'] ?? '{}') as Record<string, string>;
    assert.deepEqual(hits, { '/go/pkg/mod': 'miss', '/root/.cache/go-build': 'partial' });
    const compiled = compiledPackages(second.main.stdout);
    assert.ok(
      compiled.has('example.com/go-service/internal/store'),
      `the changed package is compiled: ${[...compiled].join(', ')}`,
    );
    assert.ok(
      !compiled.has('net/http'),
      `the standard library comes from the restored GOCACHE: ${[...compiled].join(', ')}`,
    );
    assert.ok(
      !compiled.has('example.com/go-service/internal/metrics'),
      'unchanged packages come from the restored GOCACHE',
    );
    const compiledFirst = compiledPackages(first.main.stdout);
    assert.ok(
      compiledFirst.has('net/http'),
      'the first, cold build did compile the standard library',
    );
    const run = await execFile('docker', [
      'run',
      '--rm',
      '--pull',
      'always',
      '--platform',
      'linux/arm64',
      `${repo}:v2`,
      '-version',
    ]);
    assert.equal(run.stdout.trim(), `go${engine.goVersion} linux/arm64`);
  },
);
