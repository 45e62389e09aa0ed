// An engine whose docker driver cannot build several platforms at once (Docker's classic image
// store, as on many runners): the action creates its own docker-container builder from
// driver-opts, builds and pushes both platforms through it, moves cache-mount state in and out of
// it, and removes it in post. Each run's builder starts empty, as on a fresh runner, so the second
// run's incremental build comes only from the state the first one saved.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { execFile } from '../../src/io/exec.ts';
import { RegistryClient } from '../../src/registry/client.ts';
import { parseImageReference } from '../../src/registry/reference.ts';
import { startCacheServer } from '../helpers/cache-server.ts';
import {
  requireBuildKitImage,
  requireEngine,
  startSecondEngine,
  uniqueRepo,
} from '../helpers/engine.ts';
import {
  changeOneLine,
  compiledPackages,
  pushBothPlatformsInputs,
  serviceCopy,
} from '../helpers/go-service.ts';
import { runAction } from '../helpers/run-action.ts';

const createdBuilder = (stdout: string) =>
  /cannot build several platforms; creating docker-container builder (\S+)/.exec(stdout)?.[1];

test(
  'a docker driver without multi-platform support: the action makes its own builder and removes it in post',
  { timeout: 15 * 60_000 },
  async (t) => {
    const engine = await requireEngine(t);
    if (!engine) return;
    const buildkitImage = requireBuildKitImage(t);
    if (!buildkitImage) return;
    const { host, onEngine } = await startSecondEngine(t, 'classic');
    const info = await execFile('docker', ['info', '--format', '{{json .DriverStatus}}'], onEngine);
    assert.doesNotMatch(info.stdout, /io\.containerd\.snapshotter/, 'the classic image store');

    const cache = await startCacheServer();
    t.after(() => cache.close());
    const svc = serviceCopy();
    const repo = uniqueRepo(engine, 'container');
    const inputs = pushBothPlatformsInputs(engine, svc, repo, {
      'go-version': engine.goVersion,
      'check-go-image': 'false',
      // network=host: the builder's BuildKit reaches the test registry on localhost.
      'driver-opts': `image=${buildkitImage}\nnetwork=host`,
    });
    const env = { ...cache.env(), DOCKER_HOST: host };
    const builderGone = async (name: string) => {
      const ls = await execFile('docker', ['buildx', 'ls'], onEngine);
      const ps = await execFile('docker', ['ps', '-a', '--format', '{{.Names}}'], onEngine);
      return !ls.stdout.includes(name) && !ps.stdout.includes(`buildx_buildkit_${name}`);
    };

    const first = await runAction({ inputs, env });
    assert.equal(first.main.exitCode, 0, first.main.stdout.slice(-4000));
    const name = createdBuilder(first.main.stdout);
    assert.ok(name, first.main.stdout.slice(-3000));
    const index = await new RegistryClient().resolvePlatforms(parseImageReference(`${repo}:v1`));
    assert.deepEqual(index?.map((p) => p.platform).sort(), ['linux/amd64', 'linux/arm64']);
    // Cache-mount state left the builder before post removed it.
    assert.equal(first.post?.exitCode, 0, first.post?.stdout);
    const saved = /cache mount \/root\/\.cache\/go-build: saved \(saved as (\S+)\)/.exec(
      first.post?.stdout ?? '',
    )?.[1];
    assert.ok(saved, first.post?.stdout.slice(-3000));
    assert.match(first.post?.stdout ?? '', new RegExp(`removed builder ${name}`));
    assert.ok(await builderGone(name), `builder ${name} and its container are gone`);

    // A new run makes a new, empty builder: the state goes into it and the build stays incremental.
    changeOneLine(svc);
    const second = await runAction({ inputs: { ...inputs, tags: `${repo}:v2` }, env });
    assert.equal(second.main.exitCode, 0, second.main.stdout.slice(-4000));
    const again = createdBuilder(second.main.stdout);
    assert.ok(again && again !== name, 'a builder of its own for this run');
    assert.match(
      second.main.stdout,
      new RegExp(
        `cache mount /root/\\.cache/go-build: restored \\d+ files \\([^)]*\\) from ${saved}`,
      ),
    );
    // The builder's BuildKit shares the host's network (network=host): the state moves through
    // the loopback channel, not the build context and export.
    assert.match(
      second.main.stdout,
      /cache mounts put into the builder through the loopback channel/,
    );
    assert.match(
      `${first.post?.stdout}\n${second.post?.stdout}`,
      /taken out of the builder through the loopback channel[^]*taken out of the builder through the loopback channel/,
    );
    const compiled = compiledPackages(second.main.stdout);
    assert.ok(compiled.has('example.com/go-service/internal/store'), [...compiled].join(', '));
    assert.ok(
      !compiled.has('net/http'),
      `standard library from GOCACHE: ${[...compiled].join(', ')}`,
    );
    assert.ok(compiledPackages(first.main.stdout).has('net/http'), 'the first build was cold');
    assert.equal(second.post?.exitCode, 0, second.post?.stdout);
    assert.ok(await builderGone(again!), `builder ${again} is gone too`);
  },
);
