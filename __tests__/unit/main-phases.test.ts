// The pure parts of the main step's phases (src/main.ts sequences them): the state it hands to
// post, the inputs phase's checks, the builder phase's platform plan, the restore phase's mount
// choice, the outputs of the Go step, the summary and the part file. No Docker.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parseBuilderInspect, type BuilderInfo } from '../../src/buildx/builder.ts';
import { nodeGroups } from '../../src/buildx/nodes.ts';
import { containerBuilderName, platformRunsOn } from '../../src/buildx/setup.ts';
import { cacheMountsToRestore } from '../../src/cachemounts/step.ts';
import { parseDockerfile } from '../../src/dockerfile/parse.ts';
import { readBuildFiles } from '../../src/dockerfile/read.ts';
import { InputError } from '../../src/errors.ts';
import { goSumHash } from '../../src/go/gosum.ts';
import { withExtraBuildArgs } from '../../src/go/private.ts';
import { goVersionOutputs } from '../../src/go/step.ts';
import { readInputs, type Inputs } from '../../src/inputs.ts';
import type { Logger } from '../../src/log.ts';
import { handOverPart, readParts } from '../../src/merge/parts.ts';
import { maskSecrets } from '../../src/secrets.ts';
import { readBudgets } from '../../src/sizereport/budgets.ts';
import { initialState, parseState, stateWriter, type MainState } from '../../src/state.ts';
import { renderSummaryText, summaryFactsOf } from '../../src/summary.ts';

const inputsOf = (given: Record<string, string>): Inputs => readInputs((n) => given[n] ?? '');
const tempDir = () => mkdtempSync(path.join(tmpdir(), 'bgi-phases-'));

test('the first state: cache saves refused on the events that may run a fork, unless opted in', () => {
  const plain = inputsOf({ 'cache-size-limit': '100', 'cache-timeout': '30' });
  const optedIn = inputsOf({ 'cache-on-untrusted-events': 'true' });
  for (const event of ['pull_request_target', 'workflow_run', 'issue_comment']) {
    assert.equal(initialState(plain, { GITHUB_EVENT_NAME: event }).cacheSaveAllowed, false, event);
    assert.equal(initialState(optedIn, { GITHUB_EVENT_NAME: event }).cacheSaveAllowed, true, event);
  }
  for (const event of ['push', 'pull_request', undefined])
    assert.equal(initialState(plain, { GITHUB_EVENT_NAME: event }).cacheSaveAllowed, true);
  const first = initialState(plain, {});
  assert.equal(first.phase, 'started');
  assert.equal(first.sizeLimitBytes, 100 * 1024 * 1024);
  assert.equal(first.cacheTimeoutMs, 30_000);
});

test('the state is saved when first written and again with every change, as post reads it back', () => {
  const saved: string[] = [];
  const first: MainState = { phase: 'started', cacheSaveAllowed: true, sizeLimitBytes: 1 };
  const record = stateWriter((s) => saved.push(JSON.stringify(s)), first);
  assert.equal(saved.length, 1, 'saved before any phase runs');
  const builder = containerBuilderName('12345678901', 4242);
  record({ createdBuilder: builder });
  record({ phase: 'restored', cache: undefined, buildStartedAt: 7 });
  record({ phase: 'built' });
  assert.equal(saved.length, 4);
  const last = parseState(saved.at(-1)!);
  assert.ok(last, 'post accepts what main wrote');
  assert.equal(last.phase, 'built');
  assert.equal(last.createdBuilder, builder, 'a builder recorded earlier is kept');
  assert.equal(last.buildStartedAt, 7);
  assert.equal(parseState(saved[1]!)?.phase, 'started', 'the builder is recorded within its phase');
  assert.equal(first.phase, 'started', 'the first state given is not changed');
});

test('a builder this run creates has a name post accepts to remove, from any run id', () => {
  for (const runId of ['12345678901', String(Date.now()), 'run/Id with spaces'.repeat(2)]) {
    const name = containerBuilderName(runId, 99999);
    assert.match(name, /^build-go-image-[a-z0-9-]+$/);
    const state = parseState(
      JSON.stringify({
        phase: 'started',
        cacheSaveAllowed: true,
        sizeLimitBytes: 1,
        createdBuilder: name,
      }),
    );
    assert.equal(state?.createdBuilder, name, runId);
  }
  assert.notEqual(containerBuilderName('1', 1), containerBuilderName('1', 2), 'one per process');
});

const oneNode = (platforms: string): BuilderInfo =>
  parseBuilderInspect(
    `Name: default\nDriver: docker\n\nNodes:\nName: default\nEndpoint: default\nPlatforms: ${platforms}\n`,
  );

test('each platform runs natively, emulated (listed or registered) or needs QEMU, in the order asked', () => {
  const info = oneNode('linux/amd64, linux/amd64/v2, linux/386');
  const asked = ['linux/s390x', 'linux/arm64', 'linux/386', 'linux/amd64'];
  const registered = (arch: string) => arch === 'arm64';
  assert.deepEqual(platformRunsOn(info, nodeGroups(info, asked), asked, registered, 'arm64'), [
    { platform: 'linux/s390x', how: 'missing' },
    { platform: 'linux/arm64', how: 'emulated' },
    { platform: 'linux/386', how: 'native' },
    { platform: 'linux/amd64', how: 'native' },
  ]);
  // The node's own first platform decides what is native, not the machine the action runs on.
  const arm = oneNode('linux/arm64, linux/arm/v7');
  assert.deepEqual(
    platformRunsOn(
      arm,
      nodeGroups(arm, ['linux/amd64', 'linux/arm64']),
      ['linux/amd64', 'linux/arm64'],
      () => false,
      'amd64',
    ),
    [
      { platform: 'linux/amd64', how: 'missing' },
      { platform: 'linux/arm64', how: 'native' },
    ],
  );
});

test('on a builder with a node per platform, each platform runs natively on its own node', () => {
  const info = parseBuilderInspect(
    readFileSync(
      path.join(import.meta.dirname, '..', 'fixtures', 'buildx', 'inspect-two-nodes.txt'),
      'utf8',
    ),
  );
  const asked = ['linux/arm64', 'linux/amd64'];
  const groups = nodeGroups(info, asked);
  assert.equal(groups.length, 2);
  assert.deepEqual(
    platformRunsOn(info, groups, asked, () => false, 'amd64'),
    [
      { platform: 'linux/arm64', how: 'native' },
      { platform: 'linux/amd64', how: 'native' },
    ],
  );
});

test("the mounts restored: none when off or with no-cache, the Dockerfile's on auto, else the listed ones", () => {
  const dockerfile = parseDockerfile(
    'FROM golang:1.24\nRUN --mount=type=cache,target=/root/.cache/go-build go build ./...\n',
    'Dockerfile',
  );
  const ids = (given: Record<string, string>) =>
    cacheMountsToRestore(inputsOf(given), dockerfile).map((m) => m.target);
  assert.deepEqual(ids({ 'cache-mounts': 'auto' }), ['/root/.cache/go-build']);
  assert.deepEqual(ids({ 'cache-mounts': 'false' }), []);
  assert.deepEqual(ids({ 'cache-mounts': 'auto', 'no-cache': 'true' }), []);
  assert.deepEqual(ids({ 'cache-mounts': 'target=/go/pkg/mod,id=gomod' }), ['/go/pkg/mod']);
});

test('the build files are checked with the input that names them, before any work', () => {
  const dir = tempDir();
  writeFileSync(path.join(dir, 'Dockerfile'), 'FROM scratch\n');
  writeFileSync(path.join(dir, 'token'), 'x');
  const read = (given: Record<string, string>) => () => readBuildFiles(inputsOf(given));
  const inputError = (input: string) => (e: unknown) =>
    e instanceof InputError && e.input === input;
  assert.equal(read({ context: dir, 'secret-files': `t=${dir}/token` })().stages.length, 1);
  assert.throws(read({ context: path.join(dir, 'missing') }), inputError('context'));
  assert.throws(read({ context: dir, file: path.join(dir, 'Nope') }), inputError('file'));
  assert.throws(
    read({ context: dir, 'secret-files': `t=${dir}/nope` }),
    inputError('secret-files'),
  );
});

test('the budgets are read from their inputs; size-max takes no percentage', () => {
  assert.deepEqual(readBudgets(inputsOf({ 'size-warn': '5%', 'size-max': '1KiB' })), {
    warn: { kind: 'percent', value: 5 },
    fail: undefined,
    max: { kind: 'bytes', value: 1024 },
  });
  assert.throws(
    () => readBudgets(inputsOf({ 'size-max': '5%' })),
    (e: unknown) => e instanceof InputError && e.input === 'size-max',
  );
});

test('every secret is masked: tokens, URL credentials and the secrets values', () => {
  const masked: string[] = [];
  const given: Record<string, string> = {
    'github-token': 'ghs_token',
    'go-private-token': 'private_token',
    'go-proxy': 'https://proxyuser:proxypass@goproxy.example',
    secrets: 'A=first\n"B=two, parts"',
  };
  maskSecrets({
    input: (n) => given[n] ?? '',
    env: { HTTPS_PROXY: 'http://u:p%40ss@proxy:3128' },
    setSecret: (v) => masked.push(v),
  });
  for (const v of [
    'ghs_token',
    'private_token',
    'proxypass',
    'p%40ss',
    'p@ss',
    'first',
    'two, parts',
  ])
    assert.ok(masked.includes(v), `${v} masked`);
  const none: string[] = [];
  maskSecrets({ input: () => '', env: {}, setSecret: (v) => none.push(v) });
  assert.deepEqual(none, [], 'nothing empty is masked');
});

test("the build-args: the user's first and winning, then what the action adds", () => {
  const args = withExtraBuildArgs(
    new Map([
      ['HTTP_PROXY', 'user'],
      ['A', '1'],
    ]),
    {
      buildArgs: new Map([
        ['GOPROXY', 'x'],
        ['HTTP_PROXY', 'action'],
      ]),
    },
  );
  assert.deepEqual(
    [...args],
    [
      ['HTTP_PROXY', 'user'],
      ['A', '1'],
      ['GOPROXY', 'x'],
    ],
  );
});

test('the Go step sets the image and the minimum only when it has them', () => {
  assert.deepEqual(goVersionOutputs({ version: '1.24.1', from: 'build-args GO_VERSION' }), [
    ['go-version', '1.24.1'],
  ]);
  assert.deepEqual(
    goVersionOutputs({
      version: '1.24.3',
      minimum: '1.24.0',
      from: 'go.mod',
      image: 'golang:1.24.3',
    }),
    [
      ['go-image', 'golang:1.24.3'],
      ['go-version-minimum', '1.24.0'],
      ['go-version', '1.24.3'],
    ],
  );
});

test('the summary is made from what the phases returned', () => {
  const run = {
    tags: ['localhost:5000/app:1'],
    go: { version: '1.24.3', from: 'go.mod' },
    engine: 'Docker 28.5.2, buildx 0.29.1',
    platforms: [{ platform: 'linux/arm64', how: 'emulated' }],
    build: { seconds: 12.34, digest: `sha256:${'a'.repeat(64)}` },
  };
  const facts = summaryFactsOf({
    ...run,
    cache: { mounts: [{ label: 'gomod', hit: 'exact', restoredBytes: 2048 }] },
    layerCache: { reason: 'layer cache: Actions cache (gha, v2), scope s-1, read only' },
    cachedSteps: { cached: 3, steps: 5 },
  });
  assert.equal(facts.goImage, undefined);
  assert.deepEqual(facts.cacheMounts, [{ id: 'gomod', hit: 'exact', restoredBytes: 2048 }]);
  const text = renderSummaryText(facts);
  for (const part of [
    '1.24.3',
    'go.mod',
    'linux/arm64 (emulated)',
    'gomod: exact',
    '12.3 s',
    'app:1',
    'Actions cache (gha, v2), scope s-1, read only',
    '3 of 5',
  ])
    assert.ok(text.includes(part), `${part} in:\n${text}`);
  assert.ok(!/layer cache: Actions/.test(text), 'the row names itself once');
  assert.deepEqual(summaryFactsOf(run).cacheMounts, [], 'no mounts restored');
});

test('go.sum hash: the sums under the context, by path and content; none gives nosum', () => {
  const dir = tempDir();
  assert.equal(goSumHash(dir), 'nosum');
  mkdirSync(path.join(dir, 'vendor'));
  writeFileSync(path.join(dir, 'vendor', 'go.sum'), 'vendored');
  assert.equal(goSumHash(dir), 'nosum', 'vendor/ is not read');
  writeFileSync(path.join(dir, 'go.sum'), 'a v1 h1:x\n');
  const first = goSumHash(dir);
  assert.match(first, /^[0-9a-f]{16}$/);
  assert.equal(goSumHash(dir), first, 'stable');
  mkdirSync(path.join(dir, 'tools'));
  writeFileSync(path.join(dir, 'tools', 'go.work.sum'), 'b v2 h1:y\n');
  const withWork = goSumHash(dir);
  assert.notEqual(withWork, first);
  writeFileSync(path.join(dir, 'go.sum'), 'a v1 h1:z\n');
  assert.notEqual(goSumHash(dir), withWork, 'a changed sum changes the hash');
});

test('a per-platform job hands over a part file the merge job reads back', () => {
  const dir = tempDir();
  const outputs: Record<string, string> = {};
  const lines: string[] = [];
  const log = { info: (m: string) => lines.push(m) } as unknown as Logger;
  const digest = `sha256:${'b'.repeat(64)}`;
  const file = handOverPart(
    { setOutput: (k, v) => (outputs[k] = v), log },
    {
      inputs: { tags: ['localhost:5000/app:1'], platforms: ['linux/arm64'] },
      result: { digest },
      workDir: dir,
    },
    '1.24.3',
    undefined,
  );
  assert.equal(outputs['part-file'], file);
  assert.ok(lines.some((l) => l.includes(file)));
  const [part, ...more] = readParts(dir);
  assert.equal(more.length, 0);
  assert.deepEqual(
    [part!.repository, part!.digest, part!.platforms, part!.goVersion],
    ['localhost:5000/app', digest, ['linux/arm64'], '1.24.3'],
  );
});
