// Each advice rule on a fixture that must trigger it (with its line) and one that must not.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { adviseDockerfile, pinnedDigests, type AdviceOptions } from '../../src/advice/advice.ts';
import { ignoresGit, treeSize } from '../../src/advice/rules.ts';
import { humanBytes } from '../../src/format.ts';
import { parseDockerfile } from '../../src/dockerfile/parse.ts';

/** A context with a .dockerignore that excludes .git, so only the rule under test speaks. */
function context(ignore = '.git\n'): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'bgi-advice-'));
  if (ignore !== '') writeFileSync(path.join(dir, '.dockerignore'), ignore);
  return dir;
}

const DIGEST = `sha256:${'a'.repeat(64)}`;
const GOOD_TAIL =
  'FROM scratch\nCOPY --from=build /app /app\nUSER 65532:65532\nENTRYPOINT ["/app"]\n';
const GOOD_BUILD =
  'FROM --platform=$BUILDPLATFORM docker.io/library/golang:1.24 AS build\nRUN CGO_ENABLED=0 go build -o /app .\n';

function advise(text: string, opts: Partial<AdviceOptions> = {}) {
  return adviseDockerfile(parseDockerfile(text), {
    platforms: ['linux/amd64'],
    context: context(),
    hostArch: 'amd64',
    ...opts,
  });
}
const ids = (text: string, opts: Partial<AdviceOptions> = {}) =>
  advise(text, opts).map((a) => `${a.id}@${a.line}`);

test('the recommended shape triggers nothing', () => {
  assert.deepEqual(ids(GOOD_BUILD + GOOD_TAIL, { platforms: ['linux/amd64', 'linux/arm64'] }), []);
});

test('single-platform digest: flagged only in a multi-platform build and only for a manifest', () => {
  const text = `FROM docker.io/library/golang@${DIGEST} AS build\nRUN CGO_ENABLED=0 go build -o /app .\n${GOOD_TAIL}`;
  assert.deepEqual(pinnedDigests(parseDockerfile(text)), [
    { ref: `docker.io/library/golang@${DIGEST}`, digest: DIGEST, line: 1 },
  ]);
  const multi = { platforms: ['linux/amd64', 'linux/arm64'], hostArch: 'amd64' };
  const found = advise(text, { ...multi, digestKinds: new Map([[DIGEST, 'manifest']]) }).filter(
    (a) => a.id === 'single-platform-digest',
  );
  assert.equal(found.length, 1);
  assert.equal(found[0]!.line, 1);
  assert.match(found[0]!.message, /imagetools inspect/);
  const none = (o: Partial<AdviceOptions>) =>
    advise(text, o).filter((a) => a.id === 'single-platform-digest');
  assert.deepEqual(none({ ...multi, digestKinds: new Map([[DIGEST, 'index']]) }), []);
  assert.deepEqual(none({ digestKinds: new Map([[DIGEST, 'manifest']]) }), [], 'one platform');
  assert.deepEqual(none(multi), [], 'unknown kind: silent');
});

test('shell-form ENTRYPOINT/CMD in a shell-less final stage', () => {
  const bad = `${GOOD_BUILD}FROM scratch\nCOPY --from=build /app /app\nUSER 65532\nENTRYPOINT /app --serve\nCMD ["-v"]\n`;
  assert.deepEqual(ids(bad), ['shell-form-entrypoint@6']);
  const distroless = `${GOOD_BUILD}FROM gcr.io/distroless/static:nonroot\nCOPY --from=build /app /app\nUSER nonroot\nCMD /app\n`;
  assert.deepEqual(ids(distroless), ['shell-form-entrypoint@6']);
  // A base with a shell runs shell form fine.
  const alpine = `${GOOD_BUILD}FROM docker.io/library/alpine:3.20\nCOPY --from=build /app /app\nENTRYPOINT /app\n`;
  assert.deepEqual(ids(alpine), []);
});

test('build context: missing .dockerignore gives the context size; .git not excluded is flagged', () => {
  const bare = context('');
  writeFileSync(path.join(bare, 'big.bin'), Buffer.alloc(3 * 1024 * 1024));
  const missing = advise(GOOD_BUILD + GOOD_TAIL, { context: bare });
  assert.deepEqual(
    missing.map((a) => a.title),
    ['no .dockerignore'],
  );
  assert.match(missing[0]!.message, /\(3\.0 MiB\)/);
  const withGit = context('bin/\n');
  mkdirSync(path.join(withGit, '.git', 'objects'), { recursive: true });
  writeFileSync(path.join(withGit, '.git', 'objects', 'pack'), Buffer.alloc(2048));
  const git = advise(GOOD_BUILD + GOOD_TAIL, { context: withGit });
  assert.deepEqual(
    git.map((a) => [a.title, a.line]),
    [['.git is sent to the builder', 1]],
  );
  assert.match(git[0]!.message, /2\.0 KiB/);
  writeFileSync(path.join(withGit, '.dockerignore'), 'bin/\n/.git/\n');
  assert.deepEqual(ids(GOOD_BUILD + GOOD_TAIL, { context: withGit }), []);
  // An ignore file that is a link to a device or a folder is not read (it was, without end).
  for (const target of ['/dev/zero', '/']) {
    rmSync(path.join(withGit, '.dockerignore'));
    symlinkSync(target, path.join(withGit, '.dockerignore'));
    const started = Date.now();
    assert.deepEqual(ids(GOOD_BUILD + GOOD_TAIL, { context: withGit }), [], target);
    assert.ok(Date.now() - started < 2000, `${target}: ${Date.now() - started} ms`);
  }
  assert.ok(ignoresGit(['*', '!cmd', '!go.mod']));
  assert.ok(!ignoresGit(['.git', '!.git']), 'last match wins');
  assert.equal(treeSize(withGit, 1).complete, false, 'bounded walk');
  assert.equal(humanBytes(1536), '1.5 KiB');
});

test('unqualified image references are a notice, stage names and variables are not', () => {
  const text = `FROM golang:1.24 AS build\nRUN CGO_ENABLED=0 go build -o /app .\nFROM build AS test\nFROM \${BASE}/alpine\nFROM acme/tools:1 AS tools\n${GOOD_TAIL}`;
  const found = advise(text).filter((a) => a.id === 'unqualified-image');
  assert.deepEqual(
    found.map((a) => [a.line, a.severity]),
    [
      [1, 'notice'],
      [5, 'notice'],
    ],
  );
  assert.match(found[0]!.message, /docker\.io\/library\/golang:1\.24/);
  assert.match(found[1]!.message, /docker\.io\/acme\/tools:1/);
  assert.deepEqual(ids(`FROM localhost:5000/golang AS build\n${GOOD_TAIL}`), []);
});

test('final stage as root: flagged on scratch and distroless without a non-root USER', () => {
  const scratch = `${GOOD_BUILD}FROM scratch\nCOPY --from=build /app /app\nENTRYPOINT ["/app"]\n`;
  const s = advise(scratch).filter((a) => a.id === 'final-stage-root');
  assert.equal(s[0]?.line, 3);
  assert.match(s[0]!.message, /USER 65532:65532/);
  const distroless = `${GOOD_BUILD}FROM gcr.io/distroless/static-debian12\nCOPY --from=build /app /app\nUSER root\nENTRYPOINT ["/app"]\n`;
  const d = advise(distroless).filter((a) => a.id === 'final-stage-root');
  assert.equal(d[0]?.line, 5);
  assert.match(d[0]!.message, /:nonroot/);
  assert.deepEqual(ids(GOOD_BUILD + GOOD_TAIL), []);
  const nonroot = `${GOOD_BUILD}FROM gcr.io/distroless/static-debian12:nonroot\nCOPY --from=build /app /app\nENTRYPOINT ["/app"]\n`;
  assert.deepEqual(ids(nonroot), [], 'the :nonroot tag sets the user');
  // --target names the exported stage: a root build stage is fine when it is not exported.
  assert.deepEqual(
    ids(
      scratch.replace('FROM scratch', 'FROM scratch AS final') + 'FROM scratch AS other\nUSER 1\n',
      { target: 'other' },
    ),
    [],
  );
});

test('# syntax: flagged when it pins nothing, or when its registry did not answer', () => {
  const body = GOOD_BUILD + GOOD_TAIL;
  assert.deepEqual(ids(`# syntax=docker/dockerfile\n${body}`), ['syntax-directive@1']);
  assert.deepEqual(ids(`# syntax=docker/dockerfile:latest\n${body}`), ['syntax-directive@1']);
  assert.deepEqual(ids(`# syntax=docker/dockerfile:1.7\n${body}`), [], 'pinned and reachable');
  const unreachable = advise(`# syntax=docker/dockerfile:1.7\n${body}`, { syntaxReachable: false });
  assert.deepEqual(
    unreachable.map((a) => a.title),
    ['# syntax frontend is unreachable'],
  );
  assert.match(unreachable[0]!.message, /Remove the line/);
  assert.deepEqual(ids(body), []);
});
