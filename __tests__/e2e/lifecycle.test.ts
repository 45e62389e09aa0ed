// Lifecycle faults on the bundled action: a job cancelled (SIGINT/SIGTERM, as the runner sends)
// during restore, build and save leaves no half-written cache entry, no process still building or
// pushing, no lock or archive at the shared transfer path, and no image in the registry; post after
// a cancelled main does only what is safe. Two jobs saving one key both finish green.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { execFile } from '../../src/io/exec.ts';
import { RegistryClient } from '../../src/registry/client.ts';
import { startCacheServer, type CacheServer } from '../helpers/cache-server.ts';
import { requireEngine, type EngineInfo } from '../helpers/engine.ts';
import { startFaultProxy } from '../helpers/fault-proxy.ts';
import { runAction, type RunOptions } from '../helpers/run-action.ts';

const TWIRP = '/twirp/github.actions.results.api.v1.CacheService/';

function service(engine: EngineInfo, name: string) {
  const run = randomBytes(4).toString('hex');
  const dir = mkdtempSync(path.join(tmpdir(), `bgi-life-${name}-`));
  writeFileSync(path.join(dir, 'go.mod'), 'module example.com/life\n\ngo 1.24.1\n');
  writeFileSync(path.join(dir, 'hello'), `${name} ${run}\n`);
  writeFileSync(path.join(dir, '.dockerignore'), '.git\n');
  // No Go compile: the lifecycle is what is under test. The RUN pauses so a signal can land in it.
  writeFileSync(
    path.join(dir, 'Dockerfile'),
    [
      'ARG BASE_REGISTRY',
      'FROM ${BASE_REGISTRY}/busybox:1.37.0',
      'ARG PAUSE=0',
      `RUN --mount=type=cache,id=life-${run},target=/root/.cache/life \\`,
      // The run id in the command keeps the RUN out of the layer cache (mount ids are not in its key).
      `    echo ${run} > /root/.cache/life/stamp && sleep $PAUSE`,
      'COPY hello /hello',
      '',
    ].join('\n'),
  );
  const repo = `life-${name}-${run}/img`;
  return { run, dir, repo, tag: `${engine.registry}/${repo}:v1` };
}

function inputs(engine: EngineInfo, svc: ReturnType<typeof service>, pause: number) {
  return {
    context: svc.dir,
    platforms: 'linux/amd64',
    'go-version': '1.24.4',
    'check-go-image': 'false',
    'build-args': `BASE_REGISTRY=${engine.baseRegistry}\nPAUSE=${pause}`,
    tags: svc.tag,
    push: 'true',
    provenance: 'false',
    'cache-helper-image': `${engine.baseRegistry}/busybox:1.37.0`,
    'cache-timeout': '120',
    'size-report': 'false',
    advice: 'off',
    // The cache-mount entries are what is counted here; the layer cache keeps entries of its own.
    'layer-cache': 'off',
  };
}

/** What a cancelled job may leave behind, checked after each scenario. */
async function assertNothingLeft(
  engine: EngineInfo,
  svc: ReturnType<typeof service>,
  cache: CacheServer,
) {
  const procs = await execFile('pgrep', ['-af', svc.run], { allowFailure: true });
  assert.equal(procs.stdout.trim(), '', 'no docker process of this job still running');
  assert.ok(!existsSync(path.join(tmpdir(), 'build-go-image-cache-mount.lock')), 'lock released');
  assert.ok(
    !existsSync(path.join(tmpdir(), 'build-go-image-cache-mount', 'content.tar')),
    'no archive left at the shared transfer path',
  );
  assert.equal(
    cache.entries.filter((e) => e.committed).length,
    0,
    'no committed (and so restorable) entry from the cancelled job',
  );
  const manifest = await new RegistryClient().getManifest({
    registry: engine.registry,
    repository: svc.repo,
    tag: 'v1',
  });
  return manifest;
}

async function withCache<T>(fn: (cache: CacheServer) => Promise<T>): Promise<T> {
  const cache = await startCacheServer();
  try {
    return await fn(cache);
  } finally {
    await cache.close();
  }
}

const cacheEnv = (cache: CacheServer, base = cache.url) => ({
  ...cache.env('v2'),
  ACTIONS_RESULTS_URL: `${base}/`,
  ACTIONS_CACHE_URL: `${base}/`,
});

test('cancelled during restore: main fails at once, post saves nothing, nothing left behind', async (t) => {
  const engine = await requireEngine(t);
  if (!engine) return;
  await withCache(async (cache) => {
    const proxy = await startFaultProxy(cache.url);
    t.after(() => proxy.close());
    // The lookup hangs, as a slow cache service does.
    proxy.arm('slow', { delayMs: 60_000, match: (_m, p) => p.startsWith(TWIRP) });
    const svc = service(engine, 'restore');
    const started = Date.now();
    const { main, post } = await runAction({
      inputs: inputs(engine, svc, 0),
      env: cacheEnv(cache, proxy.url),
      interrupt: {
        step: 'main',
        signal: 'SIGINT',
        when: (out) => out.includes('Restore cache mounts'),
        delayMs: 1000,
      },
    });
    assert.equal(main.exitCode, 1);
    assert.ok(Date.now() - started < 45_000, 'the step ended promptly');
    assert.ok(
      main.annotations.some((a) => /cancelled \(SIGINT\) during phase "resolved"/.test(a.message)),
      main.stdout.slice(-2000),
    );
    assert.equal(post?.exitCode, 0);
    assert.match(post!.stdout, /main was cancelled during phase "resolved"/);
    // Nothing was restored, so there is nothing to save: post never reaches the cache service.
    assert.ok(!proxy.hits.some((h) => h.path.endsWith('CreateCacheEntry')));
    assert.equal(await assertNothingLeft(engine, svc, cache), undefined, 'no image pushed');
  });
});

test('cancelled during the build: the build stops, no image is pushed, post saves nothing', async (t) => {
  const engine = await requireEngine(t);
  if (!engine) return;
  await withCache(async (cache) => {
    const svc = service(engine, 'build');
    const started = Date.now();
    const { main, post } = await runAction({
      inputs: inputs(engine, svc, 120),
      env: cacheEnv(cache),
      interrupt: {
        step: 'main',
        signal: 'SIGINT',
        when: (out) => out.includes('sleep 120'),
        delayMs: 2000,
      },
    });
    assert.equal(main.exitCode, 1);
    assert.ok(Date.now() - started < 60_000, 'the RUN (sleep 120) was not waited for');
    assert.ok(
      main.annotations.some((a) => /cancelled \(SIGINT\) during phase "restored"/.test(a.message)),
    );
    assert.equal(post?.exitCode, 0);
    assert.match(post!.stdout, /not saved: main stopped at "restored"/);
    assert.equal(await assertNothingLeft(engine, svc, cache), undefined, 'no image pushed');
  });
});

test('cancelled during the save: post ends green, no entry is committed, nothing left behind', async (t) => {
  const engine = await requireEngine(t);
  if (!engine) return;
  await withCache(async (cache) => {
    const proxy = await startFaultProxy(cache.url);
    t.after(() => proxy.close());
    const svc = service(engine, 'save');
    const opts: RunOptions = {
      inputs: inputs(engine, svc, 0),
      env: cacheEnv(cache, proxy.url),
      // The upload reservation hangs once main is done; the job is cancelled while post waits.
      beforePost: () =>
        proxy.arm('slow', {
          delayMs: 60_000,
          match: (_m, p) => p.endsWith('CreateCacheEntry'),
        }),
      interrupt: {
        step: 'post',
        signal: 'SIGTERM',
        when: () => proxy.hits.some((h) => h.path.endsWith('CreateCacheEntry')),
        delayMs: 500,
      },
    };
    const { main, post } = await runAction(opts);
    assert.equal(main.exitCode, 0, main.stdout.slice(-3000));
    assert.equal(post?.exitCode, 0, 'a cancelled post step never fails the job');
    assert.ok(post!.annotations.some((a) => /post step cancelled \(SIGTERM\)/.test(a.message)));
    assert.ok(
      proxy.hits.some((h) => h.path.endsWith('CreateCacheEntry')),
      'the save had begun',
    );
    const pushed = await assertNothingLeft(engine, svc, cache);
    assert.ok(pushed, 'the image main pushed is still there');
  });
});

test('two jobs saving the same key both finish green; one entry is kept, whole', async (t) => {
  const engine = await requireEngine(t);
  if (!engine) return;
  await withCache(async (cache) => {
    const svc = service(engine, 'race');
    const runId = `race${svc.run}`;
    // Two runners would each have their own engine; on one engine two builds may not name the
    // same image at once, so the jobs push different tags. The cache key does not include tags.
    const job = (tag: string) =>
      runAction({
        inputs: { ...inputs(engine, svc, 0), tags: tag },
        env: { ...cacheEnv(cache), GITHUB_RUN_ID: runId },
      });
    const [a, b] = await Promise.all([job(`${svc.tag}a`), job(`${svc.tag}b`)]);
    for (const r of [a, b]) {
      assert.equal(r.main.exitCode, 0, r.main.stdout.slice(-2000));
      assert.equal(r.post?.exitCode, 0);
    }
    const committed = cache.entries.filter((e) => e.committed);
    assert.equal(committed.length, 1, 'one entry for the one key');
    assert.ok(committed[0]!.data.length > 0);
    const saved = [a, b].map((r) => JSON.parse(r.post!.outputs['cache-saved'] ?? '{}'));
    assert.equal(
      saved.filter((s) => Object.values(s).includes(true)).length,
      1,
      `exactly one job saved: ${JSON.stringify(saved)}`,
    );
    // The kept entry restores into a fresh job.
    const again = await runAction({
      inputs: inputs(engine, svc, 0),
      env: { ...cacheEnv(cache), GITHUB_RUN_ID: `${runId}b` },
      skipPost: true,
    });
    assert.match(again.main.outputs['cache-hit'] ?? '', /partial|exact/);
  });
});
