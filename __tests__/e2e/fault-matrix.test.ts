// The fault matrix: every external dependency x every fault kind, each cell a test against the
// real clients (http-client, @actions/cache, Octokit, the docker CLI and daemon) with the fault
// injected on the wire by a proxy in front of the local stand-ins. The columns:
//   refused   nothing listens on the port
//   timeout   the server accepts and never answers (the client's bound must end the wait)
//   5xx       every request answers 503 (a persistent outage)
//   429       the first request is rate limited with retry-after: 1
//   malformed 200 with a body that is not what the protocol says (and truncated, where it differs)
//   auth      401 on every request
//   notfound  404 on every request
// The matrix and its counts are printed when the file is done.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { installBinfmt } from '../../src/buildx/qemu.ts';
import { runBuild } from '../../src/buildx/build.ts';
import { withPushExplanation } from '../../src/buildx/push-failure.ts';
import { checkEngine, inspectBuilder } from '../../src/buildx/builder.ts';
import type { CacheMount } from '../../src/cachemounts/discover.ts';
import {
  restoreCacheMounts,
  saveCacheMounts,
  type CacheRestoreState,
} from '../../src/cachemounts/index.ts';
import { injectMount } from '../../src/cachemounts/transport/index.ts';
import { parseDockerfile } from '../../src/dockerfile/parse.ts';
import { upsertComment } from '../../src/github/comment.ts';
import { checkGoImage } from '../../src/go/image-check.ts';
import { resolveGoVersion } from '../../src/go/index.ts';
import { clearReleaseCache } from '../../src/go/releases.ts';
import { parseGoVersion } from '../../src/go/version.ts';
import { execFile } from '../../src/io/exec.ts';
import type { Logger } from '../../src/log.ts';
import { RegistryClient } from '../../src/registry/client.ts';
import { measurePushedImage } from '../../src/sizereport/step.ts';
import { startCacheServer, type CacheServer } from '../helpers/cache-server.ts';
import { probeEngine, type EngineInfo } from '../helpers/engine.ts';
import {
  cell,
  notApplicable,
  promisedTable,
  skipCellsBecause,
  type FaultColumn,
} from '../helpers/fault-matrix.ts';
import {
  refusedUrl,
  startFaultProxy,
  type FaultKind,
  type FaultProxy,
} from '../helpers/fault-proxy.ts';
import { startGitHubApi, type GitHubApi } from '../helpers/github-api.ts';
import { startReleaseServer, type ReleaseServer } from '../helpers/release-server.ts';

const work = mkdtempSync(path.join(tmpdir(), 'bgi-faults-'));
const run = randomBytes(4).toString('hex');
const probe = await probeEngine();
if (!probe.engine && process.env['CI'] === 'true')
  throw new Error(
    `end-to-end tests must run in CI, but the build engine is not ready: ${probe.reason}`,
  );
skipCellsBecause(probe.engine ? undefined : probe.reason);
const engine = probe.engine as EngineInfo;

function captureLog(): { log: Logger; warnings: string[] } {
  const warnings: string[] = [];
  return {
    warnings,
    log: {
      info: () => {},
      warning: (m) => warnings.push(m),
      notice: () => {},
      error: (m) => warnings.push(m),
      debug: () => {},
      group: (_n, fn) => fn(),
    },
  };
}

/** Arms the proxy for a matrix column; `refused` is a closed port instead (see below). */
function arm(proxy: FaultProxy, fault: FaultColumn, match?: (m: string, p: string) => boolean) {
  proxy.clear();
  const kinds: Record<Exclude<FaultColumn, 'refused'>, [FaultKind, number]> = {
    timeout: ['timeout', Infinity],
    '5xx': ['5xx', Infinity],
    '429': ['429', 1],
    malformed: ['malformed', Infinity],
    auth: ['auth', Infinity],
    notfound: ['notfound', Infinity],
  };
  if (fault === 'refused') return;
  const [kind, times] = kinds[fault];
  proxy.arm(kind, { times, match, retryAfterSeconds: 1 });
}

async function elapsed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = Date.now();
  const v = await fn();
  return [v, Date.now() - t0];
}

after(() => rmSync(work, { recursive: true, force: true }));

// ---------------------------------------------------------------------------------------------
// Go release list (go.dev JSON): with an exact go.mod the build goes on with that release;
// without one it fails fast (a separate assertion in the refused cell).
{
  const row = 'go release list';
  let releases: ReleaseServer;
  let proxy: FaultProxy;
  const mod = path.join(work, 'gomod');
  before(async () => {
    releases = await startReleaseServer(['1.24.1', '1.24.4', '1.24.5', '1.25.0']);
    proxy = await startFaultProxy(releases.url);
    mkdirSync(mod, { recursive: true });
    writeFileSync(path.join(mod, 'go.mod'), 'module example.com/svc\n\ngo 1.24.1\n');
  });
  after(async () => {
    await proxy.close();
    await releases.close();
  });
  const resolve = (base: string, context = mod) => {
    clearReleaseCache();
    return resolveGoVersion({
      context,
      sources: {
        releaseSource: `${base}/dl/?mode=json&include=all`,
        goProxy: 'off',
        retryBackoffMs: 50,
        timeoutMs: 800,
      },
      env: {},
    });
  };
  const degraded = async (base: string, cause: RegExp, maxMs = 8000) => {
    const [r, ms] = await elapsed(() => resolve(base));
    assert.equal(r.version.patch, 1, 'builds with the exact release go.mod names');
    assert.equal(r.source, 'none reachable');
    assert.match(r.warnings.join('\n'), cause);
    assert.ok(ms < maxMs, `bounded: ${ms} ms`);
  };
  cell(row, 'refused', 'degrade', async () => {
    const url = await refusedUrl();
    await degraded(url, /ECONNREFUSED/);
    const loose = path.join(work, 'gomod-loose');
    mkdirSync(loose, { recursive: true });
    writeFileSync(path.join(loose, 'go.mod'), 'module example.com/svc\n\ngo 1.24\n');
    await assert.rejects(resolve(url, loose), /names no exact release.*go-version/s);
  });
  cell(row, 'timeout', 'retry>degrade', async () => {
    arm(proxy, 'timeout');
    await degraded(proxy.url, /timeout/i);
    assert.equal(proxy.faulted(), 3, 'three attempts, each bounded');
  });
  cell(row, '5xx', 'retry>degrade', async () => {
    arm(proxy, '5xx');
    await degraded(proxy.url, /HTTP 503/);
    assert.equal(proxy.faulted(), 3);
  });
  cell(row, '429', 'retry>ok', async () => {
    arm(proxy, '429');
    const [r, ms] = await elapsed(() => resolve(proxy.url));
    assert.equal(r.version.patch, 5, 'newest 1.24.x after the retry');
    assert.ok(ms >= 900, `waited for retry-after (${ms} ms)`);
    assert.equal(proxy.hits.length, 2);
  });
  cell(row, 'malformed', 'degrade', async () => {
    arm(proxy, 'malformed');
    await degraded(proxy.url, /not a JSON release list/);
    arm(proxy, 'malformed');
    proxy.clear();
    proxy.arm('truncated');
    await degraded(proxy.url, /release list|aborted|socket|JSON/i);
  });
  cell(row, 'auth', 'degrade', async () => {
    arm(proxy, 'auth');
    await degraded(proxy.url, /HTTP 401/);
    assert.equal(proxy.faulted(), 1, 'an auth failure is not retried');
  });
  cell(row, 'notfound', 'degrade', async () => {
    arm(proxy, 'notfound');
    await degraded(proxy.url, /HTTP 404/);
    assert.equal(proxy.faulted(), 1);
  });
}

// ---------------------------------------------------------------------------------------------
// Registry, golang image check: the check is a courtesy; only "no image for any accepted release"
// stops the build.
{
  const row = 'registry: golang image check';
  let proxy: FaultProxy;
  before(async () => {
    if (!engine) return;
    proxy = await startFaultProxy(`http://${engine.registry.replace('localhost', '127.0.0.1')}`);
  });
  after(() => proxy?.close());
  const check = (host: string) => {
    const df = parseDockerfile(
      `ARG GO_VERSION\nFROM ${host}/library/golang:\${GO_VERSION} AS build\nFROM scratch\n`,
    );
    return checkGoImage({
      dockerfile: df,
      buildArgs: new Map(),
      buildArgName: 'GO_VERSION',
      candidates: [parseGoVersion(engine.goVersion)!],
      platforms: ['linux/amd64', 'linux/arm64'],
      registry: new RegistryClient({ retryBackoffMs: 50, timeoutMs: 800 }),
    });
  };
  const degraded = async (host: string, cause: RegExp) => {
    const [r, ms] = await elapsed(() => check(host));
    assert.ok(r);
    assert.equal(r.version.patch, parseGoVersion(engine.goVersion)!.patch);
    assert.match(r.warnings.join('\n'), /could not check/);
    assert.match(r.warnings.join('\n'), cause);
    assert.match(r.warnings.join('\n'), /check-go-image: false/);
    assert.ok(ms < 8000, `bounded: ${ms} ms`);
  };
  cell(row, 'refused', 'degrade', async () => {
    await degraded(new URL(await refusedUrl()).host, /ECONNREFUSED/);
  });
  cell(row, 'timeout', 'retry>degrade', async () => {
    arm(proxy, 'timeout');
    await degraded(proxy.host, /timeout/i);
  });
  cell(row, '5xx', 'retry>degrade', async () => {
    arm(proxy, '5xx');
    await degraded(proxy.host, /503/);
    assert.equal(proxy.faulted(), 3);
  });
  cell(row, '429', 'retry>ok', async () => {
    arm(proxy, '429');
    const r = await check(proxy.host);
    assert.deepEqual(r?.warnings, [], 'the image was found after the retry');
    assert.equal(proxy.faulted(), 1);
  });
  cell(row, 'malformed', 'degrade', async () => {
    arm(proxy, 'malformed');
    await degraded(proxy.host, /not JSON/);
  });
  cell(row, 'auth', 'degrade', async () => {
    arm(proxy, 'auth');
    await degraded(proxy.host, /refused access.*log in/);
  });
  cell(row, 'notfound', 'fail-fast', async () => {
    arm(proxy, 'notfound');
    await assert.rejects(check(proxy.host), /no golang image exists.*check-go-image: false/s);
  });
}

// ---------------------------------------------------------------------------------------------
// Registry, size measure of the pushed image: a failing registry costs the report, not the build.
{
  const row = 'registry: size measure';
  let proxy: FaultProxy;
  let repo = '';
  before(async () => {
    if (!engine) return;
    proxy = await startFaultProxy(`http://${engine.registry.replace('localhost', '127.0.0.1')}`);
    repo = `fault-measure-${run}/img`;
    await execFile('docker', [
      'buildx',
      'imagetools',
      'create',
      '--tag',
      `${engine.registry}/${repo}:v1`,
      `${engine.baseRegistry}/busybox:1.37.0`,
    ]);
  });
  after(() => proxy?.close());
  const measure = (host: string) => {
    const { log, warnings } = captureLog();
    const registry = new RegistryClient({ retryBackoffMs: 50, timeoutMs: 800 });
    return measurePushedImage(registry, `${host}/${repo}:v1`, '', log).then((r) => ({
      r,
      warnings,
    }));
  };
  const degraded = async (host: string, cause: RegExp) => {
    const [{ r, warnings }, ms] = await elapsed(() => measure(host));
    assert.equal(r, undefined);
    assert.match(warnings.join('\n'), /size report/);
    assert.match(warnings.join('\n'), cause);
    assert.ok(ms < 8000, `bounded: ${ms} ms`);
  };
  cell(row, 'refused', 'degrade', async () => {
    await degraded(new URL(await refusedUrl()).host, /ECONNREFUSED/);
  });
  cell(row, 'timeout', 'retry>degrade', async () => {
    arm(proxy, 'timeout');
    await degraded(proxy.host, /timeout/i);
  });
  cell(row, '5xx', 'retry>degrade', async () => {
    arm(proxy, '5xx');
    await degraded(proxy.host, /503/);
  });
  cell(row, '429', 'retry>ok', async () => {
    arm(proxy, '429');
    const { r, warnings } = await measure(proxy.host);
    assert.deepEqual(warnings, []);
    assert.ok(r && r.platforms.length >= 2, 'both platforms measured');
    assert.ok(r.platforms.every((p) => p.compressed > 0 && (p.uncompressed ?? 0) > 0));
  });
  cell(row, 'malformed', 'degrade', async () => {
    arm(proxy, 'malformed');
    await degraded(proxy.host, /not JSON/);
  });
  cell(row, 'auth', 'degrade', async () => {
    arm(proxy, 'auth');
    await degraded(proxy.host, /refused access/);
  });
  cell(row, 'notfound', 'degrade', async () => {
    arm(proxy, 'notfound');
    await degraded(proxy.host, /not found in its registry/);
  });
}

// ---------------------------------------------------------------------------------------------
// Registry, push (the build's own export): transient errors are retried, auth never.
{
  const row = 'registry: push';
  let proxy: FaultProxy;
  const ctx = path.join(work, 'push-ctx');
  before(async () => {
    if (!engine) return;
    proxy = await startFaultProxy(`http://${engine.registry.replace('localhost', '127.0.0.1')}`);
    mkdirSync(ctx, { recursive: true });
    writeFileSync(
      path.join(ctx, 'Dockerfile'),
      `FROM ${engine.baseRegistry}/busybox:1.37.0\nCOPY hello /hello\n`,
    );
    writeFileSync(path.join(ctx, 'hello'), `fault matrix ${run}\n`);
  });
  after(() => proxy?.close());
  const push = async (host: string, tag: string) => {
    let output = '';
    const retries: string[] = [];
    const meta = path.join(work, `meta-${tag}.json`);
    const result = await runBuild({
      args: [
        'buildx',
        'build',
        '--platform',
        'linux/amd64',
        '--provenance=false',
        '--metadata-file',
        meta,
        '--tag',
        `${host}/fault-push-${run}/img:${tag}`,
        '--push',
        ctx,
      ],
      env: process.env,
      metadataFile: meta,
      attempts: 2,
      onOutput: (c) => {
        output += c.toString();
      },
      onRetry: (next, of, why) => retries.push(`${next}/${of} ${why}`),
    }).catch(async (e: unknown) => (await withPushExplanation(e, new RegistryClient())) as Error);
    // Each run of buildx opens with one "#0 building with <builder>" line. (A step's name, such as
    // "load build definition", is printed again when its output resumes after another step's.)
    const attempts = (output.match(/^#0 building with /gm) ?? []).length;
    return { result, attempts, retries };
  };
  const failed = async (host: string, tag: string, cause: RegExp, attempts: number) => {
    const r = await push(host, tag);
    assert.ok(r.result instanceof Error, 'the build fails');
    assert.match(r.result.message, /docker buildx build failed/);
    assert.match(r.result.message, cause);
    assert.equal(r.attempts, attempts, `build attempts: ${r.attempts}`);
    // Each retry is announced, with the registry's own error line.
    assert.equal(r.retries.length, attempts - 1, r.retries.join('\n'));
    for (const [i, line] of r.retries.entries()) {
      assert.ok(line.startsWith(`${i + 2}/2 `), line);
      assert.match(line, cause);
    }
  };
  cell(row, 'refused', 'fail-fast', async () => {
    await failed(new URL(await refusedUrl()).host, 'refused', /connection refused/, 1);
  });
  notApplicable(
    row,
    'timeout',
    'the push is BuildKit\u2019s own; a silent registry is bounded by the job\u2019s timeout-minutes, and cancelling then stops the build (lifecycle tests)',
  );
  cell(row, '5xx', 'retry>fail', async () => {
    arm(proxy, '5xx');
    await failed(proxy.host, 'outage', /503|Service Unavailable/i, 2);
  });
  cell(row, '429', 'retry>ok', async () => {
    arm(proxy, '429');
    const r = await push(proxy.host, 'ratelimited');
    assert.ok(!(r.result instanceof Error), String(r.result));
    assert.match(r.result.digest, /^sha256:/);
    const pushed = await new RegistryClient().getManifest({
      registry: engine.registry,
      repository: `fault-push-${run}/img`,
      tag: 'ratelimited',
    });
    assert.equal(pushed?.digest, r.result.digest, 'the registry holds the pushed image');
  });
  cell(row, 'malformed', 'fail-fast', async () => {
    arm(proxy, 'malformed');
    const r = await push(proxy.host, 'malformed');
    assert.ok(r.result instanceof Error);
    assert.match(r.result.message, /docker buildx build failed/);
  });
  cell(row, 'auth', 'fail-fast', async () => {
    arm(proxy, 'auth');
    await failed(proxy.host, 'auth', /401|unauthorized/i, 1);
  });
  cell(row, 'notfound', 'fail-fast', async () => {
    arm(proxy, 'notfound');
    await failed(proxy.host, 'notfound', /404|not found/i, 1);
  });
}

// ---------------------------------------------------------------------------------------------
// Actions cache service: restore (main) and save (post). Never fatal; bounded by cache-timeout.
{
  let server: CacheServer;
  let proxy: FaultProxy;
  const mount: CacheMount = {
    id: `fault-matrix-${run}`,
    target: '/root/.cache/fault-matrix',
    sharing: 'locked',
    where: 'test',
  };
  const saved = { ...process.env };
  before(async () => {
    if (!engine) return;
    server = await startCacheServer();
    proxy = await startFaultProxy(server.url);
    // Content in the builder's cache mount for the save cells.
    const src = path.join(work, 'mount-src');
    mkdirSync(src, { recursive: true });
    writeFileSync(path.join(src, 'entry'), `cached ${run}\n`);
    mkdirSync(path.join(work, 'mount-tar'), { recursive: true });
    const tar = path.join(work, 'mount-tar', 'content.tar');
    await execFile('tar', ['-cf', tar, '-C', src, '.']);
    await injectMount({
      platform: 'linux/amd64',
      mount,
      helperImage: `${engine.baseRegistry}/busybox:1.37.0`,
      tarFile: tar,
      workDir: path.join(work, 'inject'),
      runTag: run,
    });
  });
  after(async () => {
    process.env = saved;
    await proxy?.close();
    await server?.close();
  });
  const useService = (base: string) => {
    Object.assign(process.env, server.env('v2'), {
      ACTIONS_RESULTS_URL: `${base}/`,
      ACTIONS_CACHE_URL: `${base}/`,
    });
  };
  const lockFree = () =>
    assert.ok(!existsSync(path.join(tmpdir(), 'build-go-image-cache-mount.lock')), 'lock released');

  const restoreRow = 'cache service: restore';
  const restore = async (base: string) => {
    useService(base);
    const { log, warnings } = captureLog();
    const [state, ms] = await elapsed(() =>
      restoreCacheMounts(
        [mount],
        {
          goVersion: '1.24.4',
          goSumHash: run,
          platforms: ['linux/amd64'],
          userKey: '',
          runId: run,
          runAttempt: '1',
        },
        {
          groups: [{ node: '', platforms: ['linux/amd64'], helperPlatform: 'linux/amd64' }],
          helperImage: `${engine.baseRegistry}/busybox:1.37.0`,
          workDir: path.join(work, 'restore'),
          log,
          timeoutMs: 4000,
        },
      ),
    );
    lockFree();
    assert.ok(ms < 9000, `bounded by cache-timeout: ${ms} ms`);
    return { state, warnings };
  };
  // @actions/cache turns most failures into its own warning and "no entry"; either way the build
  // runs cold and nothing throws.
  const cold = async (base: string) => {
    const { state } = await restore(base);
    assert.ok(['miss', 'error', 'skipped'].includes(state.mounts[0]!.hit), state.mounts[0]!.hit);
    assert.equal(state.mounts[0]!.restoredBytes, 0);
    return state;
  };
  cell(restoreRow, 'refused', 'degrade', async () => {
    await cold(await refusedUrl());
  });
  cell(restoreRow, 'timeout', 'degrade', async () => {
    arm(proxy, 'timeout');
    const { state, warnings } = await restore(proxy.url);
    assert.equal(state.mounts[0]!.hit, 'error');
    assert.match(warnings.join('\n'), /did not finish within 4 s/);
  });
  cell(restoreRow, '5xx', 'retry>degrade', async () => {
    arm(proxy, '5xx');
    await cold(proxy.url);
    assert.ok(proxy.faulted() >= 2, `retried: ${proxy.faulted()}`);
  });
  cell(restoreRow, '429', 'degrade', async () => {
    arm(proxy, '429');
    await cold(proxy.url);
  });
  cell(restoreRow, 'malformed', 'degrade', async () => {
    arm(proxy, 'malformed');
    await cold(proxy.url);
  });
  cell(restoreRow, 'auth', 'degrade', async () => {
    arm(proxy, 'auth');
    await cold(proxy.url);
  });
  cell(restoreRow, 'notfound', 'degrade', async () => {
    arm(proxy, 'notfound');
    await cold(proxy.url);
  });

  const saveRow = 'cache service: save';
  const save = async (base: string, key: string) => {
    useService(base);
    const { log, warnings } = captureLog();
    const state: CacheRestoreState = {
      helperImage: `${engine.baseRegistry}/busybox:1.37.0`,
      workDir: path.join(work, `save-${key}`),
      mounts: [
        {
          ...{ mount, label: mount.id, node: '', platforms: ['linux/amd64'] },
          ...{ helperPlatform: 'linux/amd64', key, restoreKeys: [], hit: 'miss' },
          ...{ restoredBytes: 0, seconds: 0 },
        },
      ],
    };
    const [results, ms] = await elapsed(() =>
      saveCacheMounts(state, {
        buildStartedAt: Date.now(),
        sizeLimitBytes: 1 << 30,
        log,
        timeoutMs: 6000,
      }),
    );
    lockFree();
    assert.ok(ms < 12000, `bounded by cache-timeout: ${ms} ms`);
    return { r: results[0]!, warnings };
  };
  const notSaved = async (base: string, fault: string) => {
    const key = `bgi-fault-${run}-${fault}`;
    const { r } = await save(base, key);
    assert.equal(r.saved, false);
    assert.ok(r.reason.length > 0);
    assert.equal(
      server.entries.filter((e) => e.key === key && e.committed).length,
      0,
      'no committed entry',
    );
    return r;
  };
  cell(saveRow, 'refused', 'degrade', async () => {
    await notSaved(await refusedUrl(), 'refused');
  });
  cell(saveRow, 'timeout', 'degrade', async () => {
    arm(proxy, 'timeout');
    const r = await notSaved(proxy.url, 'timeout');
    assert.match(r.reason, /did not finish within/);
  });
  cell(saveRow, '5xx', 'retry>degrade', async () => {
    arm(proxy, '5xx');
    await notSaved(proxy.url, '5xx');
    assert.ok(proxy.faulted() >= 2, `retried: ${proxy.faulted()}`);
  });
  cell(saveRow, '429', 'degrade', async () => {
    arm(proxy, '429');
    await notSaved(proxy.url, '429');
  });
  cell(saveRow, 'malformed', 'degrade', async () => {
    arm(proxy, 'malformed');
    await notSaved(proxy.url, 'malformed');
  });
  cell(saveRow, 'auth', 'degrade', async () => {
    arm(proxy, 'auth');
    await notSaved(proxy.url, 'auth');
  });
  cell(saveRow, 'notfound', 'degrade', async () => {
    arm(proxy, 'notfound');
    await notSaved(proxy.url, 'notfound');
  });
}

// ---------------------------------------------------------------------------------------------
// GitHub REST API (the PR comment): never fatal; the report stays in the summary and outputs.
{
  const row = 'GitHub REST API';
  let api: GitHubApi;
  let proxy: FaultProxy;
  before(async () => {
    api = await startGitHubApi({
      'ghp-bot': { login: 'ci-bot', id: 7, type: 'User', write: true },
    });
    proxy = await startFaultProxy(api.url);
  });
  after(async () => {
    await proxy.close();
    await api.close();
  });
  let issue = 100;
  const comment = async (base: string) => {
    issue++;
    const [outcome, ms] = await elapsed(() =>
      upsertComment({
        token: 'ghp-bot',
        baseUrl: base,
        owner: 'o',
        repo: 'r',
        issue,
        marker: '<!-- fault-matrix -->',
        body: '<!-- fault-matrix -->\nreport',
        timeoutMs: 2500,
        retryBackoffMs: 50,
      }),
    );
    assert.ok(ms < 8000, `bounded: ${ms} ms`);
    return outcome;
  };
  const noComment = async (base: string, action: 'failed' | 'denied', cause: RegExp) => {
    const outcome = await comment(base);
    assert.equal(outcome.action, action);
    assert.ok('reason' in outcome);
    assert.match(outcome.reason, cause);
    assert.equal(api.comments.get(issue)?.length ?? 0, 0, 'no comment written');
  };
  cell(row, 'refused', 'retry>degrade', async () => {
    await noComment(await refusedUrl(), 'failed', /ECONNREFUSED|fetch failed/);
  });
  cell(row, 'timeout', 'degrade', async () => {
    arm(proxy, 'timeout');
    await noComment(proxy.url, 'failed', /abort|timeout/i);
  });
  cell(row, '5xx', 'retry>degrade', async () => {
    arm(proxy, '5xx');
    await noComment(proxy.url, 'failed', /unavailable|503/i);
    assert.equal(proxy.faulted(), 3);
  });
  cell(row, '429', 'retry>ok', async () => {
    arm(proxy, '429');
    const outcome = await comment(proxy.url);
    assert.equal(outcome.action, 'created');
    assert.equal(api.comments.get(issue)?.length, 1, 'exactly one comment');
  });
  cell(row, 'malformed', 'degrade', async () => {
    arm(proxy, 'malformed');
    const outcome = await comment(proxy.url);
    assert.equal(outcome.action, 'failed');
    assert.equal(api.comments.get(issue)?.length ?? 0, 0);
  });
  cell(row, 'auth', 'degrade', async () => {
    arm(proxy, 'auth');
    await noComment(proxy.url, 'denied', /HTTP 401.*two-workflow/);
    assert.equal(proxy.faulted(), 1, 'not retried');
  });
  cell(row, 'notfound', 'degrade', async () => {
    arm(proxy, 'notfound');
    await noComment(proxy.url, 'denied', /HTTP 404/);
  });
}

// ---------------------------------------------------------------------------------------------
// Docker engine (and buildx): nothing can be built without it, so every fault fails fast with the
// daemon's own words and the fix. A fake engine API on a unix socket answers with the fault.
{
  const row = 'Docker engine';
  const fakeEngine = async (fault: FaultColumn) => {
    const sock = path.join(work, `docker-${fault}.sock`);
    const server = createServer((req, res) => {
      req.resume();
      const json = (status: number, message: string) =>
        res
          .writeHead(status, { 'content-type': 'application/json' })
          .end(JSON.stringify({ message }));
      if (fault === 'timeout') return;
      if (fault === '5xx') return json(500, 'injected: daemon failure');
      if (fault === '429') return json(429, 'injected: too many requests');
      if (fault === 'auth') return json(403, 'authorization denied by plugin injected-authz');
      res.writeHead(200, { 'content-type': 'application/json', 'api-version': '1.45' });
      res.end('<html>injected: not the engine API</html>');
    });
    await new Promise<void>((r) => server.listen(sock, r));
    return {
      env: { ...process.env, DOCKER_HOST: `unix://${sock}` },
      close: () => new Promise<void>((r) => server.close(() => r())),
    };
  };
  const fails = async (fault: FaultColumn, cause: RegExp, timeoutMs = 10_000) => {
    const fake = await fakeEngine(fault);
    try {
      const [err, ms] = await elapsed(() =>
        checkEngine(fake.env, timeoutMs).then(
          () => undefined,
          (e: unknown) => e as Error,
        ),
      );
      assert.ok(err instanceof Error, 'fails');
      assert.match(err.message, /DOCKER_HOST=unix:/);
      assert.match(err.message, cause);
      assert.ok(ms < timeoutMs + 6000, `bounded: ${ms} ms`);
    } finally {
      await fake.close();
    }
  };
  cell(row, 'refused', 'fail-fast', async () => {
    const err = await checkEngine(
      { ...process.env, DOCKER_HOST: `unix://${path.join(work, 'no-engine.sock')}` },
      10_000,
    ).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    assert.match(String(err?.message), /cannot be used.*Cannot connect.*start Docker/s);
  });
  cell(row, 'timeout', 'fail-fast', async () => {
    await fails('timeout', /did not answer within 2 s/, 2000);
  });
  cell(row, '5xx', 'fail-fast', async () => {
    await fails('5xx', /cannot be used.*start Docker/s);
  });
  cell(row, '429', 'fail-fast', async () => {
    await fails('429', /cannot be used/);
  });
  cell(row, 'malformed', 'fail-fast', async () => {
    await fails('malformed', /cannot be used/);
  });
  cell(row, 'auth', 'fail-fast', async () => {
    await fails('auth', /authorization denied by plugin injected-authz/);
  });
  cell(row, 'notfound', 'fail-fast', async () => {
    // The engine answers but the named builder does not exist: the input is named with the fix.
    await assert.rejects(
      inspectBuilder(`bgi-no-such-builder-${run}`),
      (e: Error & { input?: string }) =>
        /builder "bgi-no-such-builder-.*docker buildx ls/s.test(e.message),
    );
  });
}

// ---------------------------------------------------------------------------------------------
// binfmt/QEMU installer image: registering emulation is needed for the build to run at all, so a
// failure fails fast, naming the image and the alternatives; rate limits and 5xx are retried.
{
  const row = 'binfmt/QEMU installer';
  let proxy: FaultProxy;
  const repo = `fault-binfmt-${run}/binfmt`;
  const pulled: string[] = [];
  before(async () => {
    if (!engine) return;
    proxy = await startFaultProxy(`http://${engine.registry.replace('localhost', '127.0.0.1')}`);
    // busybox stands in for the installer: it pulls like one, then rejects "--install".
    await execFile('docker', [
      'buildx',
      'imagetools',
      'create',
      '--tag',
      `${engine.registry}/${repo}:c429`,
      `${engine.baseRegistry}/busybox:1.37.0`,
    ]);
  });
  after(async () => {
    await proxy?.close();
    for (const image of pulled)
      await execFile('docker', ['image', 'rm', '--force', image], { allowFailure: true });
  });
  const install = async (image: string, timeoutMs = 20_000) => {
    pulled.push(image);
    const [err, ms] = await elapsed(() =>
      installBinfmt(image, ['riscv64'], { timeoutMs, attempts: 2, backoffMs: 200 }).then(
        () => undefined,
        (e: unknown) => e as Error,
      ),
    );
    assert.ok(err instanceof Error, 'fails');
    assert.ok(err.message.includes(image), 'names the image');
    assert.match(err.message, /set binfmt-image.*docker\/setup-qemu-action/s);
    assert.ok(ms < timeoutMs * 2 + 5000, `bounded: ${ms} ms`);
    return err;
  };
  cell(row, 'refused', 'fail-fast', async () => {
    await install(`${new URL(await refusedUrl()).host}/${repo}:refused`);
  });
  cell(row, 'timeout', 'fail-fast', async () => {
    arm(proxy, 'timeout');
    const err = await install(`${proxy.host}/${repo}:timeout`, 3000);
    assert.match(err.message, /no result within 3 s/);
  });
  cell(row, '5xx', 'retry>fail', async () => {
    arm(proxy, '5xx');
    const err = await install(`${proxy.host}/${repo}:c5xx`);
    assert.match(err.message, /50[03]|Service Unavailable/i);
    assert.ok(proxy.faulted() >= 2, `pulled twice: ${proxy.faulted()}`);
  });
  cell(row, '429', 'retry>fail', async () => {
    // Rate limited once, then pulled; the stand-in image is no installer, which fails the step.
    arm(proxy, '429');
    await install(`${proxy.host}/${repo}:c429`);
    assert.equal(proxy.faulted(), 1);
    assert.ok(proxy.hits.length > 1, 'pulled after the rate limit');
  });
  cell(row, 'malformed', 'fail-fast', async () => {
    arm(proxy, 'malformed');
    await install(`${proxy.host}/${repo}:malformed`);
  });
  cell(row, 'auth', 'fail-fast', async () => {
    arm(proxy, 'auth');
    const err = await install(`${proxy.host}/${repo}:auth`);
    assert.match(err.message, /401|unauthorized|denied/i);
  });
  cell(row, 'notfound', 'fail-fast', async () => {
    arm(proxy, 'notfound');
    await install(`${proxy.host}/${repo}:notfound`);
  });
}

// The documentation promises what these cells test, cell for cell.
test('docs/failure-modes.md states the promises this matrix tests', () => {
  const doc = path.join(import.meta.dirname, '..', '..', 'docs', 'failure-modes.md');
  const text = readFileSync(doc, 'utf8');
  const m = /<!-- fault-matrix:start -->\s*\n([\s\S]*?)\n\s*<!-- fault-matrix:end -->/.exec(text);
  assert.ok(m, 'the doc has the fault-matrix block');
  const normalise = (t: string) =>
    t
      .split('\n')
      .filter((l) => l.trim() !== '' && !/^\|\s*-/.test(l))
      .map((l) =>
        l
          .split('|')
          .map((c) => c.trim())
          .join('|'),
      );
  if (process.env['UPDATE_GOLDEN'] === '1')
    writeFileSync(doc, text.replace(m[1]!, promisedTable()));
  else assert.deepEqual(normalise(m[1]!), normalise(promisedTable()));
});
