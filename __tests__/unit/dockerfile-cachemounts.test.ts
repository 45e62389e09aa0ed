import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDockerfile } from '../../src/dockerfile/parse.ts';
import { expandWord, resolveFromImage } from '../../src/dockerfile/args.ts';
import { cacheMountsFromInput, discoverCacheMounts } from '../../src/cachemounts/discover.ts';
import { cacheKeys } from '../../src/cachemounts/store/keys.ts';
import { goVersionFromLines } from '../../src/go/image-check.ts';
import { adviseDockerfile } from '../../src/advice/advice.ts';

const SERVICE = path.resolve(import.meta.dirname, '..', '..', 'examples', 'go-service');
const reference = () =>
  parseDockerfile(readFileSync(path.join(SERVICE, 'Dockerfile'), 'utf8'), 'Dockerfile');

test('variable substitution follows BuildKit', () => {
  const vars = new Map([
    ['A', 'x'],
    ['E', ''],
  ]);
  const cases: [string, string][] = [
    ['$A/${A}', 'x/x'],
    ['${B:-def}', 'def'],
    ['${E:-def}', 'def'],
    ['${E-def}', ''],
    ['${A:+set}', 'set'],
    ['${B+set}', ''],
    ['\\$A', '$A'],
    ['$UNKNOWN-', '-'],
  ];
  for (const [input, want] of cases) assert.equal(expandWord(input, vars), want, input);
});

test('reference Dockerfile: stages, FROM with build args, the Go version line', () => {
  const df = reference();
  assert.equal(df.stages.length, 2);
  assert.equal(df.stages[0]!.name, 'build');
  assert.equal(df.stages[0]!.platform, '$BUILDPLATFORM');
  assert.equal(
    resolveFromImage(df, df.stages[0]!, new Map([['GO_VERSION', '1.24.4']])),
    'docker.io/library/golang:1.24.4',
  );
  assert.equal(
    resolveFromImage(df, df.stages[0]!, new Map([['BASE_REGISTRY', 'localhost:5000/library']])),
    'localhost:5000/library/golang:1.24',
  );
  assert.deepEqual(
    goVersionFromLines(df, 'GO_VERSION').map((l) => l.line),
    [df.stages[0]!.from.line],
  );
  assert.deepEqual(goVersionFromLines(df, 'OTHER'), []);
});

test('continuations, comments inside them, exec form, escape directive', () => {
  const df = parseDockerfile(
    '# escape=`\nFROM a AS Base\nRUN echo one `\n# a comment\n  two\nCMD ["x", "y"]\n',
    'D',
  );
  assert.equal(df.escape, '`');
  assert.equal(df.stages[0]!.name, 'base');
  const run = df.stages[0]!.instructions[0]!;
  assert.equal(run.args.replace(/\s+/g, ' ').trim(), 'echo one two');
  assert.equal(run.line, 3);
  assert.equal(run.endLine, 5);
  assert.deepEqual(df.stages[0]!.instructions[1]!.json, ['x', 'y']);
  assert.throws(() => parseDockerfile('RUN x\nFROM a\n', 'D'), /D:1: RUN before the first FROM/);
});

test('discovers GOCACHE and GOMODCACHE with ARG-expanded targets', () => {
  const mounts = discoverCacheMounts(reference(), new Map());
  assert.deepEqual(
    mounts.map((m) => [m.id, m.target, m.sharing]),
    [
      ['/go/pkg/mod', '/go/pkg/mod', 'shared'],
      ['/root/.cache/go-build', '/root/.cache/go-build', 'shared'],
    ],
  );
  const overridden = discoverCacheMounts(reference(), new Map([['GOCACHE', '/cache/go']]));
  assert.ok(overridden.some((m) => m.target === '/cache/go'));
});

test('discovery across stages with ids, uid/gid/mode, and mounts seeded from a stage left alone', () => {
  const df = parseDockerfile(
    [
      'FROM a AS one',
      'ARG CACHE=/c',
      'RUN --mount=type=cache,id=gomod,target=/go/pkg/mod,sharing=locked,uid=1000,gid=1000,mode=0755 x',
      'FROM b',
      'RUN --mount=type=cache,id=gomod,target=/other x',
      'RUN --mount=type=cache,target=${CACHE:-/fallback} --mount=type=bind,target=. y',
      'RUN --mount=type=cache,target=/seeded,from=one z',
    ].join('\n'),
    'Dockerfile',
  );
  const mounts = discoverCacheMounts(df, new Map());
  assert.deepEqual(
    mounts.map((m) => m.id),
    ['gomod', '/fallback'],
  );
  assert.deepEqual(
    [mounts[0]!.uid, mounts[0]!.gid, mounts[0]!.mode, mounts[0]!.sharing],
    [1000, 1000, '0755', 'locked'],
  );
});

for (const [spec, msg] of [
  ['type=cache,target=relative', /must be an absolute path/],
  ['type=cache,target=/x,mode=999', /must be octal/],
  ['type=cache,target=/x,uid=root', /uid "root" must be a number/],
  ['type=cache,target=/x,sharing=sometimes', /sharing "sometimes"/],
  ['type=cache,target=/x,colour=red', /unknown cache mount option "colour"/],
  ['type=cache,id=a;b,target=/x', /characters this action does not carry/],
] as const) {
  test(`invalid mount spec fails with the line: ${spec}`, () => {
    const df = parseDockerfile(`FROM a\n\nRUN --mount=${spec} true\n`, 'svc/Dockerfile');
    assert.throws(
      () => discoverCacheMounts(df, new Map()),
      (e: Error) => e.message.startsWith('svc/Dockerfile:3:') && msg.test(e.message),
    );
  });
}

test('cache-mounts input overrides discovery and validates', () => {
  assert.deepEqual(
    cacheMountsFromInput(
      'target=/root/.cache/go-build,id=gocache\n\nid=mod,target=/go/pkg/mod',
    ).map((m) => m.id),
    ['gocache', 'mod'],
  );
  assert.throws(
    () => cacheMountsFromInput('id=x'),
    /input "cache-mounts": cache mount without target/,
  );
});

test('keys: unique per run, restore prefixes from specific to general, separate per mount', () => {
  const [gomod, gocache] = discoverCacheMounts(reference(), new Map());
  const parts = {
    goVersion: '1.24.4',
    goSumHash: 'abc',
    platforms: ['linux/arm64', 'linux/amd64'],
    userKey: '',
    runId: '77',
    runAttempt: '2',
  };
  const a = cacheKeys({ ...parts, mount: gocache! });
  const b = cacheKeys({ ...parts, mount: gomod! });
  assert.ok(a.key.endsWith('-1.24.4-abc-77-2'));
  assert.ok(
    a.key.startsWith(a.restoreKeys[0]!) &&
      a.restoreKeys[0]!.startsWith(a.restoreKeys[1]!) &&
      a.restoreKeys[1]!.startsWith(a.restoreKeys[2]!),
  );
  assert.notEqual(a.restoreKeys[2], b.restoreKeys[2]);
  assert.equal(
    cacheKeys({ ...parts, platforms: ['linux/amd64', 'linux/arm64'], mount: gocache! })
      .restoreKeys[0],
    a.restoreKeys[0],
    'platform order does not matter',
  );
  assert.notEqual(
    cacheKeys({ ...parts, platforms: ['linux/amd64'], mount: gocache! }).restoreKeys[2],
    a.restoreKeys[2],
    'per-platform jobs keep separate caches',
  );
});

test('advice flags the QEMU Dockerfile and not the cross-compiling one', () => {
  const qemu = parseDockerfile(
    readFileSync(path.join(SERVICE, 'Dockerfile.qemu'), 'utf8'),
    'Dockerfile.qemu',
  );
  const opts = { platforms: ['linux/amd64', 'linux/arm64'], context: SERVICE, hostArch: 'amd64' };
  const flagged = adviseDockerfile(qemu, opts);
  assert.deepEqual(
    flagged.map((a) => [a.title, a.line]),
    [['Go compiles under emulation', qemu.stages[0]!.from.line]],
  );
  assert.deepEqual(adviseDockerfile(reference(), opts), []);
  assert.deepEqual(
    adviseDockerfile(qemu, { ...opts, platforms: ['linux/amd64'] }),
    [],
    'no emulation for the host platform alone',
  );
});

test('advice: cgo in a scratch final stage, COPY . . before go mod download, missing .dockerignore', () => {
  const df = parseDockerfile(
    'FROM --platform=$BUILDPLATFORM golang AS b\nCOPY . .\nRUN go mod download\nRUN go build -o /x .\nFROM scratch\nCOPY --from=b /x /x\n',
    'D',
  );
  const titles = adviseDockerfile(df, {
    platforms: ['linux/amd64'],
    context: '/nonexistent',
    hostArch: 'amd64',
  }).map((a) => `${a.title}@${a.line}`);
  assert.deepEqual(titles.sort(), [
    'COPY . . before go mod download@2',
    'cgo binary in a final stage without libc@4',
    'final stage runs as root@5',
    'image reference without registry@1',
    'no .dockerignore@1',
  ]);
});
