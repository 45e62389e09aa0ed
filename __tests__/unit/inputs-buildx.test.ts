import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readInputs, parseList } from '../../src/inputs.ts';
import { buildxArgs, secretEnv } from '../../src/buildx/args.ts';
import { parseBuilderInspect, canBuildMultiPlatform } from '../../src/buildx/builder.ts';
import { platformRuns } from '../../src/buildx/qemu.ts';
import { isTransientPushFailure } from '../../src/buildx/build.ts';

const reader = (values: Record<string, string>) => (name: string) => values[name] ?? '';
const plan = {
  dockerfile: 'svc/Dockerfile',
  buildArgs: new Map([['GO_VERSION', '1.24.5']]),
  metadataFile: '/tmp/m.json',
};

test('lists: newlines and commas, quoted commas kept (docker/metadata-action output works as is)', () => {
  assert.deepEqual(parseList('ghcr.io/o/r:1.2.3\nghcr.io/o/r:latest\n'), [
    'ghcr.io/o/r:1.2.3',
    'ghcr.io/o/r:latest',
  ]);
  assert.deepEqual(parseList('a,b\n c '), ['a', 'b', 'c']);
  assert.deepEqual(parseList('"type=local,dest=x",b'), ['type=local,dest=x', 'b']);
});

const ARGS: { name: string; inputs: Record<string, string>; has: string[][]; lacks?: string[] }[] =
  [
    {
      name: 'defaults: both platforms, no push, metadata file, plain progress',
      inputs: {},
      has: [
        ['--platform', 'linux/amd64,linux/arm64'],
        ['--metadata-file', '/tmp/m.json'],
        ['--progress', 'plain'],
        ['--build-arg', 'GO_VERSION=1.24.5'],
        ['--file', 'svc/Dockerfile'],
      ],
      lacks: ['--push', '--load', '--no-cache'],
    },
    {
      name: 'push with tags, labels and annotations',
      inputs: {
        push: 'true',
        tags: 'ghcr.io/o/r:1\nghcr.io/o/r:latest',
        labels: 'org.opencontainers.image.title=svc',
        annotations: 'index:org.opencontainers.image.description=d',
      },
      has: [
        ['--push'],
        ['--tag', 'ghcr.io/o/r:1'],
        ['--tag', 'ghcr.io/o/r:latest'],
        ['--label', 'org.opencontainers.image.title=svc'],
        ['--annotation', 'index:org.opencontainers.image.description=d'],
      ],
    },
    {
      name: 'load one platform',
      inputs: { load: 'true', platforms: 'linux/arm64' },
      has: [['--load'], ['--platform', 'linux/arm64']],
    },
    {
      name: 'outputs override push',
      inputs: { push: 'true', tags: 'r/x:1', outputs: 'type=oci,dest=/tmp/o.tar' },
      has: [['--output', 'type=oci,dest=/tmp/o.tar']],
      lacks: ['--push'],
    },
    {
      name: 'cache, attestations, target, builder, pull, no-cache',
      inputs: {
        'cache-from': 'type=gha',
        'cache-to': 'type=gha,mode=max',
        provenance: 'mode=max',
        sbom: 'true',
        target: 'build',
        builder: 'b1',
        pull: 'true',
        'no-cache': 'true',
      },
      has: [
        ['--cache-from', 'type=gha'],
        ['--cache-to', 'type=gha,mode=max'],
        ['--provenance=mode=max'],
        ['--sbom=true'],
        ['--target', 'build'],
        ['--builder', 'b1'],
        ['--pull'],
        ['--no-cache'],
      ],
    },
  ];
for (const c of ARGS) {
  test(`buildx args: ${c.name}`, () => {
    const args = buildxArgs(readInputs(reader(c.inputs)), plan);
    const joined = `\0${args.join('\0')}\0`;
    for (const h of c.has)
      assert.ok(joined.includes(`\0${h.join('\0')}\0`), `${h.join(' ')} in ${args.join(' ')}`);
    for (const l of c.lacks ?? []) assert.ok(!args.includes(l), `${l} not in ${args.join(' ')}`);
    assert.equal(args.at(-1), '.');
  });
}

test('secret values stay out of argv and travel in the child environment', () => {
  const inputs = readInputs(
    reader({ secrets: 'netrc=machine x login y password s3cr3t\ngithub_token=ghp_abc' }),
  );
  const args = buildxArgs(inputs, plan);
  assert.ok(!args.join(' ').includes('s3cr3t') && !args.join(' ').includes('ghp_abc'));
  assert.ok(args.includes('id=netrc,env=BGI_SECRET_0'));
  assert.deepEqual(secretEnv(inputs), {
    BGI_SECRET_0: 'machine x login y password s3cr3t',
    BGI_SECRET_1: 'ghp_abc',
  });
});

const ERRORS: [Record<string, string>, RegExp][] = [
  [{ platforms: 'linux/amd65' }, /input "platforms": "linux\/amd65" is not a platform/],
  [{ platforms: 'linux/amd64,linux/amd64' }, /listed twice/],
  [{ platforms: ' , \n ,' }, /input "platforms": is empty/],
  [{ push: 'yes' }, /input "push": "yes" is not a boolean/],
  [
    { push: 'true', load: 'true', tags: 'a/b:c' },
    /input "load": cannot be used together with push/,
  ],
  [{ load: 'true' }, /input "load": .* platforms has 2/],
  [{ push: 'true' }, /input "tags": push is true but no tags/],
  [{ tags: 'Ghcr.io/O/R:1' }, /input "tags": "Ghcr.io\/O\/R:1" is not a valid image reference/],
  [{ 'build-args': 'NOVALUE' }, /input "build-args": "NOVALUE" is not NAME=value/],
  [{ 'build-args': 'BAD-NAME=1' }, /input "build-args": "BAD-NAME" is not a valid build-arg name/],
  [{ 'cache-size-limit': '1.5' }, /input "cache-size-limit"/],
  [{ advice: 'loud' }, /input "advice": "loud" is not one of warning, error, off/],
  [{ 'compare-to': 'UPPER:case' }, /input "compare-to"/],
  [{ 'go-version-build-arg': 'GO VERSION' }, /input "go-version-build-arg"/],
  [{ 'driver-opts': 'image moby/buildkit' }, /input "driver-opts"/],
  [{ 'driver-opts': '--privileged=true' }, /input "driver-opts"/],
];
for (const [values, message] of ERRORS) {
  test(`input error: ${JSON.stringify(values)}`, () => {
    assert.throws(() => readInputs(reader(values)), message);
  });
}

test('driver-opts: one key=value per line, values may hold commas', () => {
  const inputs = readInputs(
    reader({ 'driver-opts': 'image=localhost:5000/moby/buildkit:v0.13\nnetwork=host\nenv.A=1,2' }),
  );
  assert.deepEqual(inputs.driverOpts, [
    'image=localhost:5000/moby/buildkit:v0.13',
    'network=host',
    'env.A=1,2',
  ]);
});

test('builder decisions from captured docker buildx inspect output', () => {
  const docker = parseBuilderInspect(
    'Name:          default\nDriver:        docker\n\nNodes:\nName:      default\nEndpoint:  default\nStatus:    running\nBuildKit:  v0.13.2\nPlatforms: linux/amd64, linux/amd64/v2, linux/arm64, linux/386\n',
  );
  assert.deepEqual(
    [docker.name, docker.driver, docker.nativePlatform],
    ['default', 'docker', 'linux/amd64'],
  );
  assert.equal(
    canBuildMultiPlatform(docker, false),
    false,
    'docker driver without the containerd store',
  );
  assert.equal(canBuildMultiPlatform(docker, true), true);
  const container = parseBuilderInspect(
    'Name:   builder-1\nDriver: docker-container\nNodes:\nName: builder-10\nPlatforms: linux/arm64*, linux/amd64\n',
  );
  assert.equal(container.nativePlatform, 'linux/arm64');
  assert.equal(canBuildMultiPlatform(container, false), true);
});

test('QEMU only for platforms that cannot run natively or through a registered handler', () => {
  assert.deepEqual(
    platformRuns(['linux/amd64', 'linux/arm64'], 'amd64', () => false).map((r) => r.how),
    ['native', 'missing'],
  );
  assert.deepEqual(
    platformRuns(['linux/amd64', 'linux/arm64'], 'amd64', (a) => a === 'arm64').map((r) => r.how),
    ['native', 'emulated'],
  );
  assert.deepEqual(
    platformRuns(['linux/arm64'], 'arm64', () => false).map((r) => r.how),
    ['native'],
    'native arm64 runners skip QEMU',
  );
});

test('push retries only on transient registry errors, never on auth errors', () => {
  assert.equal(
    isTransientPushFailure(
      '#12 pushing layer\nERROR: failed to push: unexpected status: 503 Service Unavailable',
    ),
    true,
  );
  assert.equal(
    isTransientPushFailure(
      '#12 pushing manifest\nERROR: failed to push: read: connection reset by peer',
    ),
    true,
  );
  assert.equal(
    isTransientPushFailure('#12 pushing layer\nERROR: failed to push: 401 Unauthorized'),
    false,
  );
  assert.equal(
    isTransientPushFailure(
      '#12 pushing\nERROR: denied: requested access to the resource is denied',
    ),
    false,
  );
  assert.equal(
    isTransientPushFailure(
      '#8 ERROR: process "go build" did not complete successfully: exit code: 1',
    ),
    false,
  );
  // Two jobs pushing one blob at once: the registry refuses one commit; pushed again, it is there.
  const race =
    '#14 pushing layers\nERROR: failed to push localhost:5000/o/svc:pr-1: failed commit on ref "layer-sha256:ab12": unexpected status from PUT request to http://localhost:5000/v2/o/svc/blobs/uploads/x?digest=sha256%3Aab12: 400 Bad Request: digest invalid: provided digest did not match uploaded content';
  assert.equal(isTransientPushFailure(race), true);
  assert.equal(
    isTransientPushFailure(race.replace('400 Bad Request', '401 Unauthorized')),
    false,
    'an auth failure beside it is never retried',
  );
  assert.equal(
    isTransientPushFailure(
      '#8 ERROR: process "sh -c echo provided digest did not match uploaded content" did not complete successfully',
    ),
    false,
    'the words in a build step that is no push are not a push race',
  );
});
