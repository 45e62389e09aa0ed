// The engine every other end-to-end test runs on, checked against what it claims to be. Hosted
// runners ship Docker 28-29 and buildx 0.3x: the main CI leg must run the `current` engine
// (Docker 28+, buildx 0.29+, containerd 2+, BuildKit 0.25+), and the oldest leg the oldest engine the
// action says it supports, so the minimums in src/buildx/versions.ts are tested, not assumed.
// BGI_EXPECT_ENGINE (set by .ci/run per leg) names the engine the leg must be on.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import semver from 'semver';
import { execFile } from '../../src/io/exec.ts';
import { MINIMUM_VERSIONS, parseBuildxVersion, plainVersion } from '../../src/buildx/versions.ts';
import { parseBuilderInspect } from '../../src/buildx/builder.ts';
import { readEngineEnv, requireEngine } from '../helpers/engine.ts';

/** The oldest versions each engine of scripts/build-engine.sh may run. */
const FLOOR: Record<
  string,
  { docker: string; buildx: string; containerd: string; buildkit: string }
> = {
  current: { docker: '28.0.0', buildx: '0.29.0', containerd: '2.0.0', buildkit: '0.25.0' },
  oldest: {
    docker: MINIMUM_VERSIONS.docker,
    buildx: MINIMUM_VERSIONS.buildx,
    containerd: '1.7.0',
    buildkit: MINIMUM_VERSIONS.buildkit,
  },
};

test('the engine under test is the one this leg promises, and reports its versions', async (t) => {
  if (!(await requireEngine(t))) return;
  const vars = readEngineEnv();
  const engine = vars['BGI_ENGINE'] ?? '';
  const expected =
    process.env['BGI_EXPECT_ENGINE'] ?? (process.env['CI'] === 'true' ? 'current' : engine);
  assert.equal(
    engine,
    expected,
    `this leg must run the ${expected} engine, engine.env says ${engine}`,
  );
  const floor = FLOOR[engine];
  assert.ok(floor, `unknown engine '${engine}' in engine.env`);

  // Read from the running programs, not from what the install script wrote down.
  const server = (await execFile('docker', ['version', '--format', '{{.Server.Version}}'])).stdout;
  const docker = plainVersion(server);
  const buildx = parseBuildxVersion((await execFile('docker', ['buildx', 'version'])).stdout);
  const info = parseBuilderInspect(
    (await execFile('docker', ['buildx', 'inspect', 'default'])).stdout,
  );
  // Debian's dockerd carries no BuildKit version stamp: then the BuildKit its source vendors,
  // which build-engine.sh read from that source, is the one that runs.
  const buildkit = info.nodes[0]?.buildkit ?? vars['BGI_BUILDKIT_VERSION'];
  const containerd = plainVersion(vars['BGI_CONTAINERD_VERSION'] ?? '');
  t.diagnostic(
    `engine ${engine}: dockerd ${docker}, buildx ${buildx}, containerd ${containerd}, BuildKit ${buildkit}`,
  );
  const have = { docker, buildx, containerd, buildkit };
  for (const [what, min] of Object.entries(floor)) {
    const v = have[what as keyof typeof have];
    assert.ok(v && semver.valid(v), `${what} version not readable: ${v}`);
    assert.ok(
      semver.gte(v, min),
      `${what} ${v} is older than ${min}, the ${engine} engine's floor`,
    );
  }
  assert.equal(docker, vars['BGI_DOCKER_VERSION'], 'engine.env names the dockerd that runs');
  assert.equal(buildx, vars['BGI_BUILDX_VERSION'], 'engine.env names the buildx that runs');
  if (engine === 'oldest') {
    // The minimums the action enforces are the versions this leg runs: no untested claim.
    const minor = (v: string) => `${semver.major(v)}.${semver.minor(v)}`;
    assert.equal(minor(docker!), minor(MINIMUM_VERSIONS.docker), 'Docker minimum = oldest leg');
    assert.equal(minor(buildx!), minor(MINIMUM_VERSIONS.buildx), 'buildx minimum = oldest leg');
    assert.equal(
      minor(buildkit!),
      minor(MINIMUM_VERSIONS.buildkit),
      'BuildKit minimum = oldest leg',
    );
  }
});
