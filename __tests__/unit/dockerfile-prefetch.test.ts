import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { parseDockerfile } from '../../src/dockerfile/parse.ts';
import {
  basesToPrefetch,
  prefetchDockerfile,
  stagesNeeded,
} from '../../src/dockerfile/prefetch.ts';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { prefetchArgs, startBasePrefetch } from '../../src/buildx/prefetch.ts';
import type { BuilderSetup } from '../../src/buildx/setup.ts';
import type { Inputs } from '../../src/inputs.ts';
import type { Logger } from '../../src/log.ts';

const SERVICE = path.resolve(import.meta.dirname, '..', '..', 'examples', 'go-service');

test('the reference service prefetches its golang base on the build platform only', () => {
  const df = parseDockerfile(readFileSync(path.join(SERVICE, 'Dockerfile'), 'utf8'));
  const bases = basesToPrefetch(
    df,
    new Map([
      ['GO_VERSION', '1.24.4'],
      ['BASE_REGISTRY', 'localhost:5000/library'],
    ]),
  );
  // The final stage is FROM scratch: nothing to pull there.
  assert.deepEqual(bases, [
    { image: 'localhost:5000/library/golang:1.24.4', platform: '$BUILDPLATFORM' },
  ]);
});

test('defaults of global ARGs apply when no build-arg is given', () => {
  const df = parseDockerfile('ARG V=1.23\nFROM golang:${V}\nRUN go version\n');
  assert.deepEqual(basesToPrefetch(df, new Map()), [{ image: 'golang:1.23', platform: undefined }]);
});

test('stages the target does not need, and stages without file-system work, are skipped', () => {
  const df = parseDockerfile(
    [
      'FROM alpine:3 AS unused',
      'RUN echo never built',
      'FROM golang:1.24 AS build',
      'RUN go build ./...',
      'FROM debian:12 AS tools',
      'RUN apt-get update',
      'FROM gcr.io/distroless/static AS final',
      'COPY --from=build /out/app /app',
      'FROM busybox AS labels-only',
      'LABEL a=b',
      '',
    ].join('\n'),
  );
  assert.deepEqual(
    stagesNeeded(df, 'final').map((s) => s.name),
    ['build', 'final'],
  );
  assert.deepEqual(
    basesToPrefetch(df, new Map(), 'final').map((b) => b.image),
    ['golang:1.24', 'gcr.io/distroless/static'],
  );
  // Without a target the last stage is built: it only sets a label, so nothing is unpacked.
  assert.deepEqual(basesToPrefetch(df, new Map()), []);
});

test('a chain of stages prefetches its root image once; mounts and numeric refs count', () => {
  const df = parseDockerfile(
    [
      'FROM golang:1.24 AS base',
      'FROM base AS deps',
      'RUN go mod download',
      'FROM base AS build',
      'RUN --mount=type=cache,target=/root/.cache --mount=type=bind,from=deps,target=/d go build',
      'FROM scratch',
      'COPY --from=2 /out /out',
      '',
    ].join('\n'),
  );
  assert.deepEqual(
    stagesNeeded(df).map((s) => s.name ?? String(s.index)),
    ['base', 'deps', 'build', '3'],
  );
  assert.deepEqual(basesToPrefetch(df, new Map()), [{ image: 'golang:1.24', platform: undefined }]);
});

test('images that still hold a variable, or scratch, are left to the build', () => {
  const df = parseDockerfile(
    'ARG IMG\nFROM ${IMG} AS a\nRUN true\nFROM scratch\nCOPY --from=a / /\n',
  );
  assert.deepEqual(basesToPrefetch(df, new Map()), []);
  assert.deepEqual(
    basesToPrefetch(df, new Map([['IMG', 'debian:12']])).map((b) => b.image),
    ['debian:12'],
  );
});

test('the prefetch Dockerfile unpacks each base by a file operation and joins them', () => {
  const text = prefetchDockerfile([
    { image: 'golang:1.24', platform: '$BUILDPLATFORM' },
    { image: 'debian:12' },
  ]);
  const df = parseDockerfile(text);
  assert.equal(df.stages.length, 3);
  assert.equal(df.stages[0]!.platform, '$BUILDPLATFORM');
  assert.equal(df.stages[0]!.instructions[0]!.keyword, 'WORKDIR');
  assert.equal(df.stages[1]!.image, 'debian:12');
  assert.deepEqual(
    stagesNeeded(df).map((s) => s.index),
    [0, 1, 2],
  );
  // No RUN: a base without a shell, or of an emulated platform, is unpacked all the same.
  assert.ok(!df.instructions.some((i) => i.keyword === 'RUN'));
});

test('the prefetch build sends nothing of the user and exports only to the build cache', () => {
  const a = prefetchArgs({
    builder: 'b1',
    platforms: ['linux/amd64', 'linux/arm64'],
    dir: '/tmp/x/prefetch',
    pull: false,
  });
  assert.deepEqual(a, [
    'buildx',
    'build',
    '--builder',
    'b1',
    '--file',
    '/tmp/x/prefetch/Dockerfile',
    '--platform',
    'linux/amd64,linux/arm64',
    '--output',
    'type=cacheonly',
    '--progress',
    'plain',
    '--',
    '/tmp/x/prefetch',
  ]);
  assert.ok(prefetchArgs({ platforms: ['linux/amd64'], dir: '/d', pull: true }).includes('--pull'));
});

test('a prefetch that cannot run is reported once the build ends, and never fails it', async () => {
  const lines: string[] = [];
  const log = { info: (m: string) => lines.push(m) } as unknown as Logger;
  const inputs = { target: '', platforms: ['linux/amd64'], pull: false } as unknown as Inputs;
  const builder = { name: 'build-go-image-no-such-builder' } as unknown as BuilderSetup;
  const workDir = mkdtempSync(path.join(tmpdir(), 'bgi-prefetch-'));
  const dockerfile = parseDockerfile('FROM localhost:1/none/golang:1.24\nRUN go build\n');
  // No base to unpack: nothing starts.
  const none = parseDockerfile('FROM scratch\nCOPY a /a\n');
  const opts = { inputs, builder, buildArgs: new Map(), workDir };
  assert.equal(startBasePrefetch({ log, env: {} }, { ...opts, dockerfile: none }), undefined);
  const prefetch = startBasePrefetch({ log, env: process.env }, { ...opts, dockerfile });
  assert.ok(prefetch);
  assert.match(lines[0]!, /pulling the base image localhost:1\/none\/golang:1.24 into the builder/);
  // Let it fail (no such builder, or no docker at all), then the build's end reports it.
  await new Promise((r) => setTimeout(r, 3000));
  await prefetch.finish();
  assert.match(
    lines.at(-1)!,
    /not pulled ahead \(.+\); the build pulled them itself|that pull was stopped/,
  );
});
