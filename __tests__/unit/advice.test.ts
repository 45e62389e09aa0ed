// Every advice rule by id: fixtures that trigger it (with the line) and fixtures that must not.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, test } from 'node:test';
import {
  adviseDockerfile,
  pinnedDigests,
  type Advice,
  type AdviceOptions,
} from '../../src/advice/advice.ts';
import { RULES } from '../../src/advice/rules.ts';
import { parseDockerfile } from '../../src/dockerfile/parse.ts';

const made: string[] = [];
after(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A context dir; by default its .dockerignore excludes .git, so only the rule under test speaks. */
function context(files: Record<string, string | Buffer> = { '.dockerignore': '.git\n' }): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'bgi-advice-test-'));
  made.push(dir);
  for (const [name, body] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), body);
  }
  return dir;
}

const DIGEST = `sha256:${'b'.repeat(64)}`;
const BUILD =
  'FROM --platform=$BUILDPLATFORM docker.io/library/golang:1.24 AS build\nRUN CGO_ENABLED=0 go build -o /app .\n';
const TAIL = 'FROM scratch\nCOPY --from=build /app /app\nUSER 65532:65532\nENTRYPOINT ["/app"]\n';
const TWO = ['linux/amd64', 'linux/arm64'];

function advise(text: string, opts: Partial<AdviceOptions> = {}, file?: string): Advice[] {
  return adviseDockerfile(parseDockerfile(text, file), {
    platforms: ['linux/amd64'],
    context: opts.context ?? context(),
    hostArch: 'amd64',
    ...opts,
  });
}
const only = (id: string, text: string, opts: Partial<AdviceOptions> = {}, file?: string) =>
  advise(text, opts, file).filter((a) => a.id === id);
const lines = (id: string, text: string, opts: Partial<AdviceOptions> = {}, file?: string) =>
  only(id, text, opts, file).map((a) => a.line);

test('rule ids are stable and in report order; the clean shape triggers none of them', () => {
  assert.deepEqual(
    RULES.map((r) => r.id),
    [
      'go-build-emulated',
      'cgo-without-libc',
      'copy-before-mod-download',
      'no-dockerignore',
      'context-sends-git',
      'single-platform-digest',
      'shell-form-entrypoint',
      'unqualified-image',
      'final-stage-root',
      'syntax-directive',
    ],
  );
  assert.deepEqual(advise(BUILD + TAIL, { platforms: TWO }), []);
});

test('go-build-emulated: go build on the target platform of a foreign arch', () => {
  const text = `FROM docker.io/library/golang:1.24 AS build\nRUN CGO_ENABLED=0 go build -o /app .\n${TAIL}`;
  const found = only('go-build-emulated', text, { platforms: TWO });
  assert.deepEqual(
    found.map((a) => [a.line, a.severity, a.title]),
    [[1, 'warning', 'Go compiles under emulation']],
  );
  assert.match(found[0]!.message, /--platform=\$BUILDPLATFORM/);
  assert.deepEqual(lines('go-build-emulated', text), [], 'host platform only');
  assert.deepEqual(lines('go-build-emulated', BUILD + TAIL, { platforms: TWO }), []);
});

test('cgo-without-libc: go build without CGO_ENABLED=0 for a scratch final stage', () => {
  const text = `FROM --platform=$BUILDPLATFORM docker.io/library/golang:1.24 AS build\nWORKDIR /src\nRUN go build -o /app .\n${TAIL}`;
  const found = only('cgo-without-libc', text);
  assert.deepEqual(
    found.map((a) => [a.line, a.title]),
    [[3, 'cgo binary in a final stage without libc']],
  );
  assert.match(found[0]!.message, /CGO_ENABLED=0/);
  assert.deepEqual(lines('cgo-without-libc', BUILD + TAIL), []);
  const debian = text.replace('FROM scratch', 'FROM docker.io/library/debian:12');
  assert.deepEqual(lines('cgo-without-libc', debian), [], 'the final stage has libc');
});

test('copy-before-mod-download: COPY . . ahead of go mod download', () => {
  const text = `FROM docker.io/library/golang:1.24 AS build\nWORKDIR /src\nCOPY . .\nRUN go mod download\nRUN CGO_ENABLED=0 go build -o /app .\n${TAIL}`;
  assert.deepEqual(lines('copy-before-mod-download', text), [3]);
  const good = text.replace(
    'COPY . .\nRUN go mod download',
    'COPY go.mod go.sum ./\nRUN go mod download\nCOPY . .',
  );
  assert.deepEqual(lines('copy-before-mod-download', good), []);
});

test('no-dockerignore: reports the context size, and the share in .git', () => {
  const dir = context({
    'big.bin': Buffer.alloc(3 * 1024 * 1024),
    '.git/HEAD': 'ref: refs/heads/main\n',
    '.git/objects/pack/p.pack': Buffer.alloc(4096),
  });
  const found = advise(BUILD + TAIL, { context: dir });
  assert.deepEqual(
    found.map((a) => [a.id, a.line, a.title, a.severity]),
    [['no-dockerignore', 1, 'no .dockerignore', 'warning']],
    'one annotation: no separate context-sends-git for the same fix',
  );
  assert.match(found[0]!.message, /\(3\.0 MiB, 4\.0 KiB of it in \.git\)/);
  assert.match(found[0]!.message, /Add a \.dockerignore listing \.git/);

  const noGit = context({ 'a.txt': Buffer.alloc(1536) });
  assert.match(
    only('no-dockerignore', BUILD + TAIL, { context: noGit })[0]!.message,
    /\(1\.5 KiB\)/,
  );

  assert.deepEqual(lines('no-dockerignore', BUILD + TAIL, { context: context() }), []);
  // BuildKit reads <Dockerfile>.dockerignore beside the Dockerfile before the context's.
  const beside = context({ 'Dockerfile.dockerignore': '.git\n', '.git/HEAD': 'x' });
  assert.deepEqual(advise(BUILD + TAIL, { context: beside }, path.join(beside, 'Dockerfile')), []);
});

test('context-sends-git: a .dockerignore that lets .git through', () => {
  const git = { '.git/HEAD': 'ref\n', '.git/objects/o': Buffer.alloc(2048 - 4) };
  for (const ignore of ['bin/\n', '.gitignore\n', '*\n!.git\n', '.git\n!.git/\n', '# .git\n']) {
    const dir = context({ '.dockerignore': ignore, ...git });
    const found = only('context-sends-git', BUILD + TAIL, { context: dir });
    assert.deepEqual(
      found.map((a) => [a.line, a.title]),
      [[1, '.git is sent to the builder']],
      ignore,
    );
    assert.match(found[0]!.message, /2\.0 KiB of repository history/);
    assert.match(found[0]!.message, /Add a line "\.git"/);
  }
  for (const ignore of ['.git\n', '.git/\n', '**/.git\n', '/.git\n', '*\n!cmd\n!go.mod\n']) {
    const dir = context({ '.dockerignore': ignore, ...git });
    assert.deepEqual(lines('context-sends-git', BUILD + TAIL, { context: dir }), [], ignore);
  }
  const noGit = context({ '.dockerignore': 'bin/\n' });
  assert.deepEqual(lines('context-sends-git', BUILD + TAIL, { context: noGit }), [], 'no .git');
  // The Dockerfile's own ignore file is the one in effect, even if the context's excludes .git.
  const beside = context({
    '.dockerignore': '.git\n',
    'Dockerfile.dockerignore': 'bin/\n',
    ...git,
  });
  const found = only(
    'context-sends-git',
    BUILD + TAIL,
    { context: beside },
    path.join(beside, 'Dockerfile'),
  );
  assert.equal(found.length, 1);
  assert.match(found[0]!.message, /Dockerfile\.dockerignore/);
});

test('single-platform-digest: a manifest digest pinned in a multi-platform build', () => {
  const text = `${BUILD}FROM gcr.io/distroless/static-debian12:nonroot@${DIGEST}\nCOPY --from=build /app /app\nENTRYPOINT ["/app"]\n`;
  assert.deepEqual(pinnedDigests(parseDockerfile(text)), [
    { ref: `gcr.io/distroless/static-debian12:nonroot@${DIGEST}`, digest: DIGEST, line: 3 },
  ]);
  const manifest = new Map([[DIGEST, 'manifest' as const]]);
  const found = only('single-platform-digest', text, { platforms: TWO, digestKinds: manifest });
  assert.deepEqual(
    found.map((a) => a.line),
    [3],
  );
  assert.match(
    found[0]!.message,
    /multi-platform index digest instead.*docker buildx imagetools inspect gcr\.io\/distroless\/static-debian12:nonroot"/,
  );
  const index = new Map([[DIGEST, 'index' as const]]);
  assert.deepEqual(
    lines('single-platform-digest', text, { platforms: TWO, digestKinds: index }),
    [],
  );
  assert.deepEqual(
    lines('single-platform-digest', text, { digestKinds: manifest }),
    [],
    'one platform',
  );
  assert.deepEqual(lines('single-platform-digest', text, { platforms: TWO }), [], 'kind unknown');
  // The build stage runs once, on the runner's platform: one manifest is all it needs.
  const onRunner = `FROM --platform=$BUILDPLATFORM docker.io/library/golang@${DIGEST} AS build\nRUN CGO_ENABLED=0 go build -o /app .\n${TAIL}`;
  assert.deepEqual(
    lines('single-platform-digest', onRunner, { platforms: TWO, digestKinds: manifest }),
    [],
  );
  assert.deepEqual(pinnedDigests(parseDockerfile(BUILD + TAIL)), []);
});

test('shell-form-entrypoint: shell form where there is no /bin/sh', () => {
  const scratch = `${BUILD}FROM scratch\nCOPY --from=build /app /app\nUSER 65532\nENTRYPOINT /app --serve\n`;
  const found = only('shell-form-entrypoint', scratch);
  assert.deepEqual(
    found.map((a) => [a.line, a.title]),
    [[6, 'shell-form ENTRYPOINT without a shell']],
  );
  assert.match(found[0]!.message, /cannot start.*ENTRYPOINT \["\/app", "--serve"\]/);
  // The final stage builds on a scratch stage: still no shell.
  const chained = `${BUILD}FROM scratch AS base\nCOPY --from=build /app /app\nFROM base\nUSER 65532\nCMD /app\n`;
  assert.deepEqual(lines('shell-form-entrypoint', chained), [7]);
  const distroless = `${BUILD}FROM gcr.io/distroless/base-debian12:nonroot\nCMD /app\n`;
  assert.deepEqual(lines('shell-form-entrypoint', distroless), [4]);

  assert.deepEqual(lines('shell-form-entrypoint', BUILD + TAIL), [], 'exec form');
  const alpine = `${BUILD}FROM docker.io/library/alpine:3.20\nCOPY --from=build /app /app\nENTRYPOINT /app\n`;
  assert.deepEqual(lines('shell-form-entrypoint', alpine), [], 'alpine has /bin/sh');
  const debugShell = `${BUILD}FROM gcr.io/distroless/static-debian12:debug-nonroot\nSHELL ["/busybox/sh", "-c"]\nENTRYPOINT /app\n`;
  assert.deepEqual(lines('shell-form-entrypoint', debugShell), [], 'SHELL names one');
});

test('unqualified-image: a notice once per FROM line, with the qualified spelling', () => {
  const text = [
    'ARG GO_VERSION=1.24',
    'FROM golang:${GO_VERSION} AS build',
    'RUN CGO_ENABLED=0 go build -o /app .',
    'FROM alpine AS certs',
    'FROM acme/tools:2 AS tools',
    TAIL,
  ].join('\n');
  const found = only('unqualified-image', text);
  assert.deepEqual(
    found.map((a) => [a.line, a.severity]),
    [
      [2, 'notice'],
      [4, 'notice'],
      [5, 'notice'],
    ],
  );
  assert.match(found[0]!.message, /Write docker\.io\/library\/golang:\$\{GO_VERSION\}$/);
  assert.match(found[1]!.message, /podman/);
  assert.match(found[1]!.message, /docker\.io\/library\/alpine/);
  assert.match(found[2]!.message, /docker\.io\/acme\/tools:2/);
  // Other rules stay warnings.
  assert.ok(
    advise(`FROM alpine\n`).every((a) => a.id === 'unqualified-image' || a.severity === 'warning'),
  );

  const quiet = [
    'ARG BASE_REGISTRY=docker.io/library',
    'ARG X=docker.io/library/alpine',
    'FROM $BASE_REGISTRY/golang:1.24 AS build',
    'RUN CGO_ENABLED=0 go build -o /app .',
    'FROM ${X} AS x',
    'FROM build AS again',
    'FROM docker.io/library/alpine:3.20 AS a',
    'FROM localhost:5000/library/busybox AS b',
    'FROM registry.example.com/team/img:1 AS c',
    TAIL,
  ].join('\n');
  assert.deepEqual(lines('unqualified-image', quiet), []);
});

test('final-stage-root: scratch or distroless without a non-root USER', () => {
  const rootZero = `${BUILD}FROM scratch\nCOPY --from=build /app /app\nUSER 0\nENTRYPOINT ["/app"]\n`;
  const s = only('final-stage-root', rootZero);
  assert.deepEqual(
    s.map((a) => [a.line, a.title]),
    [[5, 'final stage runs as root']],
  );
  assert.match(s[0]!.message, /USER 65532:65532/);
  const distroless = `${BUILD}FROM gcr.io/distroless/static-debian12\nCOPY --from=build /app /app\nENTRYPOINT ["/app"]\n`;
  const d = only('final-stage-root', distroless);
  assert.deepEqual(
    d.map((a) => a.line),
    [3],
  );
  assert.match(d[0]!.message, /gcr\.io\/distroless\/static-debian12:nonroot.*USER nonroot:nonroot/);
  const debug = distroless.replace('static-debian12', 'static-debian12:debug');
  assert.match(only('final-stage-root', debug)[0]!.message, /static-debian12:debug-nonroot/);
  const rootUser = distroless.replace('ENTRYPOINT', 'USER root:root\nENTRYPOINT');
  assert.deepEqual(lines('final-stage-root', rootUser), [5]);

  assert.deepEqual(lines('final-stage-root', BUILD + TAIL), []);
  assert.deepEqual(
    lines('final-stage-root', distroless.replace('ENTRYPOINT', 'USER nonroot:nonroot\nENTRYPOINT')),
    [],
  );
  assert.deepEqual(
    lines('final-stage-root', distroless.replace('static-debian12', 'static-debian12:nonroot')),
    [],
  );
  // The USER of the stage the final one builds FROM still applies.
  const inherited = `${BUILD}FROM scratch AS base\nUSER 65532:65532\nFROM base\nCOPY --from=build /app /app\nENTRYPOINT ["/app"]\n`;
  assert.deepEqual(lines('final-stage-root', inherited), []);
  const alpine = `${BUILD}FROM docker.io/library/alpine:3.20\nCOPY --from=build /app /app\nENTRYPOINT ["/app"]\n`;
  assert.deepEqual(lines('final-stage-root', alpine), [], 'not a shell-less base');
});

test('syntax-directive: pins nothing, or its registry did not answer', () => {
  const body = BUILD + TAIL;
  for (const value of [
    'docker/dockerfile',
    'docker/dockerfile:latest',
    'docker.io/docker/dockerfile:labs',
  ]) {
    const found = only('syntax-directive', `# syntax=${value}\n${body}`);
    assert.deepEqual(
      found.map((a) => [a.line, a.title]),
      [[1, '# syntax pins nothing']],
      value,
    );
    assert.match(found[0]!.message, /fetches|pulls/);
    assert.match(found[0]!.message, /air-gapped/);
    assert.match(found[0]!.message, /Remove the line/);
  }
  assert.deepEqual(
    lines('syntax-directive', `# escape=\`\n# syntax=docker/dockerfile\n${body}`),
    [2],
  );
  const unreachable = only('syntax-directive', `# syntax=docker/dockerfile:1.7\n${body}`, {
    syntaxReachable: false,
  });
  assert.deepEqual(
    unreachable.map((a) => [a.line, a.title]),
    [[1, '# syntax frontend is unreachable']],
  );
  assert.match(
    unreachable[0]!.message,
    /Remove the line when the builder's built-in frontend suffices/,
  );

  for (const value of [
    'docker/dockerfile:1',
    'docker/dockerfile:1.7',
    `docker/dockerfile@${DIGEST}`,
  ])
    assert.deepEqual(lines('syntax-directive', `# syntax=${value}\n${body}`), [], value);
  assert.deepEqual(
    lines('syntax-directive', `# syntax=docker/dockerfile:1\n${body}`, { syntaxReachable: true }),
    [],
  );
  assert.deepEqual(lines('syntax-directive', body), [], 'no directive');
});
