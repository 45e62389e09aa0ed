// The main -> post hand-over read back as untrusted: truncated or tampered state never makes post
// throw, delete outside the run's scratch folder, or save under a key or mount main did not write.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { discoverCacheMounts } from '../../src/cachemounts/discover.ts';
import { restoreCacheMounts } from '../../src/cachemounts/restore.ts';
import { cacheKeys } from '../../src/cachemounts/store/keys.ts';
import { parseDockerfile } from '../../src/dockerfile/parse.ts';
import { makeWorkDir } from '../../src/io/workdir.ts';
import { runPost } from '../../src/post.ts';
import { parseState, type MainState } from '../../src/state.ts';
import { recorder } from '../helpers/log-recorder.ts';

const mount = {
  id: 'gocache',
  target: '/root/.cache/go-build',
  sharing: 'shared',
  where: 'Dockerfile:9',
} as const;
const keys = cacheKeys({
  mount,
  goVersion: '1.24.5',
  goSumHash: '0123456789abcdef',
  platforms: ['linux/amd64', 'linux/arm64'],
  userKey: 'svc a, b',
  runId: '12345',
  runAttempt: '1',
});

/** A state as main writes it after a build with one cache mount restored. */
function mainState(workDir = '/home/runner/work/_temp/build-go-image-4242'): MainState {
  return {
    phase: 'built',
    createdBuilder: 'build-go-image-4242-1',
    buildStartedAt: 1_765_000_000_000,
    cacheStepsRan: true,
    cacheSaveAllowed: true,
    sizeLimitBytes: 2048 * 1024 * 1024,
    cacheTimeoutMs: 600_000,
    cache: {
      builder: 'build-go-image-4242-1',
      direct: true,
      helperImage: 'docker.io/library/busybox:stable',
      helperRoot: 'scratch',
      workDir,
      mounts: [
        {
          mount: { ...mount },
          label: 'gocache',
          node: 'build-go-image-4242-10',
          platforms: ['linux/amd64', 'linux/arm64'],
          helperPlatform: 'linux/amd64',
          key: keys.key,
          restoreKeys: keys.restoreKeys,
          hit: 'partial',
          matchedKey: keys.key.replace(/-12345-1$/, '-12000-2'),
          deltaKey: 'build-go-image-cm-d1-0123456789abcdef01234567-12300-1',
          manifestFile: `${workDir}/m0/manifest.json`,
          runSuffix: '12345-1',
          restoredBytes: 1234,
          seconds: 1.5,
        },
      ],
    },
  };
}

test('state as main writes it reads back unchanged', () => {
  const s = mainState();
  assert.deepEqual(parseState(JSON.stringify(s)), s);
  const cli = mainState(path.join(process.cwd(), '.tmp', 'build-go-image-7'));
  assert.deepEqual(parseState(JSON.stringify(cli)), cli);
});

test('the cache state the restore writes (no cache service here) reads back unchanged', async () => {
  const mounts = discoverCacheMounts(
    parseDockerfile(
      'FROM golang:1.24\nRUN --mount=type=cache,target=/root/.cache/go-build,id=gocache,sharing=locked \\\n  --mount=type=cache,target=/go/pkg/mod,uid=1000,gid=1000,mode=0755 go build\n',
    ),
    new Map(),
  );
  const workDir = makeWorkDir({ RUNNER_TEMP: mkdtempSync(path.join(tmpdir(), 'bgi-state-')) });
  const log = recorder();
  const cache = await restoreCacheMounts(
    mounts,
    {
      goVersion: '1.25rc1',
      goSumHash: 'nosum',
      platforms: [],
      userKey: 'a b,c',
      runId: '99',
      runAttempt: '3',
    },
    {
      builder: 'default',
      groups: [
        { node: 'n0', platforms: ['linux/amd64'], helperPlatform: 'linux/amd64' },
        { node: 'n1', platforms: ['linux/arm64', 'linux/arm/v7'], helperPlatform: 'linux/arm64' },
      ],
      helperImage: 'docker.io/library/busybox:stable',
      workDir,
      log,
    },
  );
  assert.equal(cache.mounts.length, 4);
  const s = { ...mainState(), cache };
  assert.deepEqual(parseState(JSON.stringify(s)), JSON.parse(JSON.stringify(s)));
});

test('truncated or non-object state is no state: parseState never throws', () => {
  const whole = JSON.stringify(mainState());
  for (const text of [
    whole.slice(0, whole.length - 1),
    whole.slice(0, 40),
    '{',
    'null',
    '[]',
    '42',
    '"built"',
    'true',
    '\u0000',
  ])
    assert.equal(parseState(text), undefined, JSON.stringify(text));
});

test('top-level fields of another type or out of range: no state', () => {
  for (const over of [
    { sizeLimitBytes: -1 },
    { sizeLimitBytes: 0 },
    { sizeLimitBytes: '2147483648' },
    { cacheTimeoutMs: 0 },
    { cacheTimeoutMs: 'soon' },
    { buildStartedAt: 'yesterday' },
    { cancelled: 'yes' },
    { cacheSaveAllowed: 'true' },
  ])
    assert.equal(
      parseState(JSON.stringify({ ...mainState(), ...over })),
      undefined,
      JSON.stringify(over),
    );
});

// Each change makes the cache part one main never writes: it is dropped, the builder is kept.
const TAMPERED: [string, (s: MainState) => void][] = [
  ['workDir /', (s) => (s.cache!.workDir = '/')],
  ['workDir the home folder', (s) => (s.cache!.workDir = '/home/runner')],
  ['workDir with ..', (s) => (s.cache!.workDir = '/tmp/build-go-image-1/../build-go-image-2')],
  ['workDir relative', (s) => (s.cache!.workDir = 'build-go-image-1')],
  ['workDir another name', (s) => (s.cache!.workDir = '/tmp/build-go-image-x')],
  ['workDir not a string', (s) => ((s.cache as { workDir: unknown }).workDir = ['/tmp'])],
  ['target with a newline', (s) => (s.cache!.mounts[0]!.mount.target = '/c\nRUN id')],
  ['target with a shell word', (s) => (s.cache!.mounts[0]!.mount.target = '/c/$(id)')],
  ['id with a comma', (s) => (s.cache!.mounts[0]!.mount.id = 'a,target=/etc')],
  ['relative target', (s) => (s.cache!.mounts[0]!.mount.target = 'etc')],
  ['mode not octal', (s) => (s.cache!.mounts[0]!.mount.mode = '0999')],
  ['uid not a number', (s) => ((s.cache!.mounts[0]!.mount as { uid: unknown }).uid = '0')],
  ['key of another entry kind', (s) => (s.cache!.mounts[0]!.key = 'setup-go-Linux-x64-go-1.24')],
  ['restore key of another kind', (s) => (s.cache!.mounts[0]!.restoreKeys = ['node-cache-'])],
  ['delta key with a slash', (s) => (s.cache!.mounts[0]!.deltaKey = 'build-go-image-cm-d1-a/b')],
  ['helper image an option', (s) => (s.cache!.helperImage = '--privileged')],
  ['helper image with a line', (s) => (s.cache!.helperImage = 'busybox\nRUN id')],
  ['builder an option', (s) => (s.cache!.builder = '-x')],
  ['platform with a shell word', (s) => (s.cache!.mounts[0]!.platforms = ['linux/amd64;id'])],
  ['node name with a space', (s) => (s.cache!.mounts[0]!.node = 'a b')],
  ['unknown hit', (s) => (s.cache!.mounts[0]!.hit = 'owned')],
  ['mounts not a list', (s) => ((s.cache as { mounts: unknown }).mounts = { 0: 1 })],
  [
    'thousands of mounts',
    (s) => (s.cache!.mounts = Array.from({ length: 5000 }, () => s.cache!.mounts[0]!)),
  ],
];

for (const [what, tamper] of TAMPERED)
  test(`tampered cache state (${what}): the cache part is dropped, the builder is still removed`, () => {
    const s = mainState();
    tamper(s);
    const read = parseState(JSON.stringify(s));
    assert.ok(read, 'the rest of the state is kept');
    assert.equal(read.cache, undefined);
    assert.equal(read.cacheDropped, true);
    assert.equal(read.createdBuilder, 'build-go-image-4242-1');
  });

test('post on a tampered workDir deletes nothing there and warns', async () => {
  // A folder post did not create, holding what a save would first clear: extract-0.
  const victim = mkdtempSync(path.join(tmpdir(), 'bgi-victim-'));
  mkdirSync(path.join(victim, 'extract-0'));
  writeFileSync(path.join(victim, 'extract-0', 'keep.txt'), 'user data');
  const s = mainState(victim);
  delete s.createdBuilder;
  const log = recorder();
  const outputs: Record<string, string> = {};
  await runPost(parseState(JSON.stringify(s)), log, (k, v) => (outputs[k] = v));
  assert.ok(existsSync(path.join(victim, 'extract-0', 'keep.txt')));
  assert.deepEqual(outputs, {});
  assert.equal(log.lines.length, 1);
  assert.match(
    log.lines[0]!,
    /^warning post: cache mounts not saved: the cache state main handed over is not valid/,
  );
});
