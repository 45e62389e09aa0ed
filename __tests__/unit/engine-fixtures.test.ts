// What each engine version really prints, parsed by the action's own code. The fixtures are captured
// from the running engines by scripts/capture-engine-fixtures.ts (npm run fixtures:engine), one
// folder per engine: the oldest supported (Docker 26.1, buildx 0.13) and the current one (Docker
// 28.5, buildx 0.29). A format change in a new version shows up here as a failing parse.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import semver from 'semver';
import { parseBuilderInspect } from '../../src/buildx/builder.ts';
import { isTransientPushFailure } from '../../src/buildx/build.ts';
import { causelessPush } from '../../src/buildx/push-failure.ts';
import { MINIMUM_VERSIONS, parseBuildxVersion } from '../../src/buildx/versions.ts';
import { isAttestation, platformString, type Descriptor } from '../../src/registry/client.ts';

const ROOT = path.join(import.meta.dirname, '..', 'fixtures', 'engines');
const engines = readdirSync(ROOT).sort();

interface EngineFacts {
  engine: string;
  docker: string;
  buildx: string;
  containerd: string;
  buildkit: string;
}

const read = (dir: string, file: string) => readFileSync(path.join(ROOT, dir, file), 'utf8');
const facts = (dir: string) => JSON.parse(read(dir, 'engine.json')) as EngineFacts;

test('fixtures exist for the oldest supported engine and for the current one', () => {
  const kinds = engines.map((d) => facts(d).engine);
  assert.ok(kinds.includes('current'), `engines: ${engines.join(', ')}`);
  assert.ok(kinds.includes('oldest'), `engines: ${engines.join(', ')}`);
  for (const d of engines) {
    const f = facts(d);
    assert.equal(d, `docker-${f.docker}-buildx-${f.buildx}`);
    for (const v of [f.docker, f.buildx, f.buildkit]) assert.ok(semver.valid(v), `${d}: ${v}`);
  }
});

for (const dir of engines) {
  const f = facts(dir);

  test(`${dir}: buildx version and the docker driver's inspect output`, () => {
    assert.equal(parseBuildxVersion(read(dir, 'buildx-version.txt')), f.buildx);
    assert.ok(semver.gte(f.buildx, MINIMUM_VERSIONS.buildx));
    const info = parseBuilderInspect(read(dir, 'inspect-docker.txt'));
    assert.equal(info.name, 'default');
    assert.equal(info.driver, 'docker');
    assert.equal(info.nodes.length, 1);
    assert.equal(info.nodes[0]!.name, 'default');
    assert.equal(info.nativePlatform, 'linux/amd64');
    assert.ok(info.platforms.includes('linux/arm64'), 'QEMU registered: arm64 listed');
    // Debian's dockerd carries no BuildKit stamp: no version rather than 0.0.0.
    const bk = info.nodes[0]!.buildkit;
    assert.ok(bk === undefined || semver.valid(bk), String(bk));
  });

  test(`${dir}: a docker-container builder's inspect output names its BuildKit`, () => {
    const info = parseBuilderInspect(read(dir, 'inspect-docker-container.txt'));
    assert.equal(info.driver, 'docker-container');
    assert.equal(info.nodes[0]!.name, `${info.name}0`);
    const bk = info.nodes[0]!.buildkit;
    assert.ok(bk && semver.gte(bk, MINIMUM_VERSIONS.buildkit), `BuildKit ${bk}`);
    assert.equal(semver.minor(bk), semver.minor(f.buildkit), 'the image matches the engine');
  });

  test(`${dir}: metadata of a two-platform push names the index imagetools prints`, () => {
    const metadata = JSON.parse(read(dir, 'metadata-push.json')) as Record<string, unknown>;
    const digest = String(metadata['containerimage.digest']);
    assert.match(digest, /^sha256:[0-9a-f]{64}$/);
    const raw = read(dir, 'imagetools-raw.json');
    // imagetools prints the registry's bytes; a trailing new line may be its own.
    const candidates = [raw, raw.replace(/\n$/, '')].map(
      (r) => `sha256:${createHash('sha256').update(r).digest('hex')}`,
    );
    assert.ok(candidates.includes(digest), 'the metadata digest is the pushed index');
    const index = JSON.parse(raw) as { manifests: Descriptor[] };
    const images = index.manifests.filter((d) => d.platform && !isAttestation(d));
    assert.deepEqual(images.map((d) => platformString(d.platform!)).sort(), [
      'linux/amd64',
      'linux/arm64',
    ]);
    const oci = JSON.parse(read(dir, 'metadata-oci.json')) as Record<string, unknown>;
    assert.match(String(oci['containerimage.digest']), /^sha256:[0-9a-f]{64}$/);
  });

  test(`${dir}: push failures are told apart as the action needs`, () => {
    assert.equal(isTransientPushFailure(read(dir, 'build-push.txt')), false);
    const notFound = read(dir, 'build-push-notfound.txt');
    assert.match(notFound, /failed to push/);
    assert.equal(isTransientPushFailure(notFound), false, 'a 404 is not retried');
    assert.equal(causelessPush(notFound), undefined, 'the registry message is kept');
    const bare = read(dir, 'build-push-notfound-bare.txt');
    assert.equal(isTransientPushFailure(bare), false);
    // BuildKit 0.25 drops the status when the registry sends no message; 0.13 printed it.
    if (causelessPush(bare) === undefined) assert.match(bare, /404|not found/i);
    else assert.equal(causelessPush(bare), '127.0.0.1:PORT/fixtures/refused:x');
  });
}
