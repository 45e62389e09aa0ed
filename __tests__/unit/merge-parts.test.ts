// Scale-out pieces without Docker: the part files per-platform jobs hand on (untrusted when read
// back from an artifact), the merge's checks, and the push-by-digest build arguments.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { buildxArgs } from '../../src/buildx/args.ts';
import { readInputs } from '../../src/inputs.ts';
import { indexAnnotations } from '../../src/merge/step.ts';
import {
  parsePart,
  partTagFor,
  readParts,
  repositoryOf,
  writePart,
  type PartFile,
} from '../../src/merge/parts.ts';

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const part = (over: Partial<PartFile> = {}): PartFile => ({
  schema: 1,
  kind: 'build-go-image-part',
  repository: 'ghcr.io/acme/svc',
  digest: digest('a'),
  platforms: ['linux/amd64'],
  goVersion: '1.24.5',
  ...over,
});

test('repositoryOf strips the tag and digest, keeps a registry port', () => {
  assert.equal(repositoryOf('ghcr.io/acme/svc:1.2'), 'ghcr.io/acme/svc');
  assert.equal(repositoryOf('localhost:5000/a/b'), 'localhost:5000/a/b');
  assert.equal(repositoryOf(`localhost:5000/a/b:t@${digest('c')}`), 'localhost:5000/a/b');
  assert.equal(
    partTagFor('123', ['linux/arm64', 'linux/arm/v7']),
    'build-go-image-part-123-linux-arm64_linux-arm-v7',
  );
});

test('parts: written and read back from nested artifact folders; re-downloads count once', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bgi-parts-'));
  for (const [sub, p] of [
    ['a', part()],
    ['b', part({ digest: digest('b'), platforms: ['linux/arm64'] })],
    ['c', part()],
  ] as const) {
    mkdirSync(path.join(dir, sub));
    writePart(path.join(dir, sub), p);
  }
  const parts = readParts(dir);
  assert.deepEqual(parts.map((p) => p.platforms[0]).sort(), ['linux/amd64', 'linux/arm64']);
});

test('parts: hostile or inconsistent files are refused with the merge input named', () => {
  const bad = (over: Record<string, unknown>) => JSON.stringify({ ...part(), ...over });
  for (const [text, why] of [
    ['not json', /not JSON/],
    [bad({ kind: 'other' }), /schema/],
    [bad({ digest: 'sha256:short' }), /digest/],
    [bad({ repository: 'ghcr.io/acme/svc:tag' }), /repository/],
    [bad({ repository: 'Upper/Case' }), /repository/],
    // Text around a reference is not trimmed away: it would reach imagetools as given.
    [bad({ repository: 'ghcr.io/acme/svc\n' }), /repository/],
    [bad({ repository: ' ghcr.io/acme/svc' }), /repository/],
    [bad({ repository: 'ghcr.io/acme/svc\u00a0' }), /repository/],
    [bad({ repository: '\tghcr.io/acme/svc' }), /repository/],
    [bad({ platforms: ['linux/amd64; rm -rf /'] }), /platforms/],
    [bad({ platforms: [] }), /platforms/],
  ] as const)
    assert.throws(
      () => parsePart(text, 'p.json'),
      (e: Error) => /"merge"/.test(e.message) && why.test(e.message),
      text,
    );

  // The Go version only labels the result: a bad one is dropped, not trusted and not fatal.
  for (const goVersion of [42, '1.24.5\n@org/team', '1.24.5 | x', '<!-- m -->', '1.24.5abc'])
    assert.equal(parsePart(bad({ goVersion }), 'p.json').goVersion, '', String(goVersion));
  assert.equal(parsePart(bad({ goVersion: '1.25rc1' }), 'p.json').goVersion, '1.25rc1');

  const two = mkdtempSync(path.join(tmpdir(), 'bgi-parts-'));
  writePart(two, part());
  writePart(two, part({ digest: digest('b'), repository: 'ghcr.io/acme/other' }));
  assert.throws(() => readParts(two), /different repositories/);
  const dup = mkdtempSync(path.join(tmpdir(), 'bgi-parts-'));
  writePart(dup, part());
  writePart(dup, part({ digest: digest('b') }));
  assert.throws(() => readParts(dup), /linux\/amd64 is in two parts/);
  const empty = mkdtempSync(path.join(tmpdir(), 'bgi-parts-'));
  writeFileSync(path.join(empty, 'notes.txt'), 'x');
  assert.throws(() => readParts(empty), /no part-\*\.json files/);
  assert.throws(
    () => readParts(path.join(empty, 'missing')),
    /input "merge": .*missing does not exist/,
  );
});

test('push-by-digest: untagged push on container builders, a per-run tag on the docker driver, no --tag', () => {
  const inputs = readInputs(
    (n) =>
      ({ tags: 'ghcr.io/acme/svc:v1', 'push-by-digest': 'true', platforms: 'linux/arm64' })[n] ??
      '',
  );
  const plan = { dockerfile: 'Dockerfile', buildArgs: new Map(), metadataFile: '/m.json' };
  const byDigest = buildxArgs(inputs, plan);
  assert.ok(
    byDigest.includes(
      'type=image,"name=ghcr.io/acme/svc",push-by-digest=true,name-canonical=true,push=true',
    ),
  );
  assert.ok(!byDigest.includes('--tag') && !byDigest.includes('--push'));
  const tagged = buildxArgs(inputs, { ...plan, partTag: 'build-go-image-part-9-linux-arm64' });
  assert.ok(
    tagged.includes(
      'type=image,"name=ghcr.io/acme/svc:build-go-image-part-9-linux-arm64",push=true',
    ),
  );
  assert.throws(() => readInputs((n) => ({ 'push-by-digest': 'true' })[n] ?? ''), /"tags"/);
  assert.throws(
    () =>
      readInputs(
        (n) => ({ 'push-by-digest': 'true', tags: 'a/b:c', outputs: 'type=local,dest=x' })[n] ?? '',
      ),
    /"push-by-digest"/,
  );
  assert.throws(() => readInputs((n) => ({ merge: 'parts' })[n] ?? ''), /"tags".*final tags/);
});

test('merge annotations: plain ones go on the index, ones that name their level are kept as written', () => {
  assert.deepEqual(
    indexAnnotations([
      'org.opencontainers.image.title=svc',
      'index:org.example.a=1',
      'manifest:org.example.b=2',
      'manifest[linux/arm64]:org.example.c=3',
      'index,manifest:org.example.d=4',
      'index-descriptor:org.example.e=5',
      'org.example.url=https://x.example/a:b',
      'indexer:k=v',
    ]),
    [
      'index:org.opencontainers.image.title=svc',
      'index:org.example.a=1',
      'manifest:org.example.b=2',
      'manifest[linux/arm64]:org.example.c=3',
      'index,manifest:org.example.d=4',
      'index-descriptor:org.example.e=5',
      'index:org.example.url=https://x.example/a:b',
      'index:indexer:k=v',
    ],
  );
});
