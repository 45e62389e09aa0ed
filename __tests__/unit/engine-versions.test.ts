// Version strings as Docker tools print them (releases and distribution builds), the minimums the
// action enforces, and how the summary names the engine.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  MINIMUM_VERSIONS,
  checkBuildKitVersions,
  checkVersions,
  describeEngine,
  parseBuildKitVersion,
  parseBuildxVersion,
  plainVersion,
} from '../../src/buildx/versions.ts';

test('plain versions from what docker, buildx and BuildKit print', () => {
  const cases: [string, string | undefined][] = [
    ['28.5.2+dfsg4', '28.5.2'],
    ['26.1.5+dfsg1', '26.1.5'],
    ['29.1.0', '29.1.0'],
    ['v0.13.1', '0.13.1'],
    ['0.29.1+ds1', '0.29.1'],
    ['v0.25.2-0.20251001', '0.25.2'],
    ['27.0', '27.0.0'],
    ['dev', undefined],
    ['', undefined],
  ];
  for (const [text, want] of cases) assert.equal(plainVersion(text), want, text);
});

test('buildx version lines of releases and of distribution builds', () => {
  assert.equal(
    parseBuildxVersion(
      'github.com/docker/buildx v0.13.1 788433953af10f2a698f5c07611dddce2e08c7a0\n',
    ),
    '0.13.1',
  );
  assert.equal(
    parseBuildxVersion('github.com/docker/buildx 0.29.1 Debian 0.29.1+ds1-4\n'),
    '0.29.1',
  );
  assert.equal(parseBuildxVersion('github.com/docker/buildx v0.36.0 d5d2a7f\n'), '0.36.0');
  assert.equal(parseBuildxVersion('nonsense'), undefined);
});

test("a dockerd built without BuildKit's version stamp reports no BuildKit version", () => {
  assert.equal(parseBuildKitVersion('v0.0.0+unknown'), undefined);
  assert.equal(parseBuildKitVersion('v0.25.2'), '0.25.2');
  assert.equal(parseBuildKitVersion('v0.13.2-debian'), '0.13.2');
  assert.equal(parseBuildKitVersion(''), undefined);
});

test('engines older than the minimums fail with the versions and the fix', () => {
  assert.equal(checkVersions({ docker: '28.5.2', buildx: '0.29.1' }), undefined);
  assert.equal(
    checkVersions({ docker: MINIMUM_VERSIONS.docker, buildx: MINIMUM_VERSIONS.buildx }),
    undefined,
  );
  const docker = checkVersions({ docker: '24.0.7', buildx: '0.29.1' });
  assert.match(docker ?? '', /Docker engine 24\.0\.7 \(needs 26\.1\.0 or newer/);
  assert.doesNotMatch(docker ?? '', /buildx 0\.29/);
  const buildx = checkVersions({ docker: '28.0.0', buildx: '0.10.4' });
  assert.match(
    buildx ?? '',
    /buildx 0\.10\.4 \(needs 0\.13\.0 or newer: add docker\/setup-buildx-action/,
  );
  const both = checkVersions({ docker: '20.10.24', buildx: '0.9.1' });
  assert.match(both ?? '', /Docker engine 20\.10\.24.*; buildx 0\.9\.1/);
});

test('builder nodes with an old BuildKit are named; nodes without a version pass', () => {
  assert.equal(
    checkBuildKitVersions([{ name: 'default' }, { name: 'n1', buildkit: '0.25.2' }]),
    undefined,
  );
  const err = checkBuildKitVersions([
    { name: 'n0', buildkit: '0.12.5' },
    { name: 'n1', buildkit: '0.25.2' },
    { name: 'n2', buildkit: '0.11.0' },
  ]);
  assert.match(
    err ?? '',
    /^builder nodes n0 runs BuildKit 0\.12\.5, n2 runs BuildKit 0\.11\.0, older than 0\.13\.0/,
  );
  assert.doesNotMatch(err ?? '', /n1/);
});

test('the summary names the engine, each distinct BuildKit once', () => {
  const v = { docker: '28.5.2', buildx: '0.29.1' };
  assert.equal(
    describeEngine(v, ['0.25.2', '0.25.2']),
    'Docker 28.5.2, buildx 0.29.1, BuildKit 0.25.2',
  );
  assert.equal(
    describeEngine(v, ['0.25.2', '0.13.2']),
    'Docker 28.5.2, buildx 0.29.1, BuildKit 0.25.2, 0.13.2',
  );
  assert.equal(
    describeEngine(v, [undefined]),
    'Docker 28.5.2, buildx 0.29.1, BuildKit version not reported',
  );
});
