// A `remote` builder with one node per platform: node 0 (linux/amd64) is a standalone buildkitd in
// its own container (the BuildKit image scripts/engine/buildkit-image.sh builds), reached over TLS
// with client certificates; node 1 (linux/arm64) is the second engine's own BuildKit reached over
// plain TCP through a relay (helpers/buildkit-relay.ts). buildx sends each platform to its node;
// the action restores and saves cache-mount state per node, so wiping one node and rebuilding after
// a one-line change restores that node's own state.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { execFile } from '../../src/io/exec.ts';
import { RegistryClient } from '../../src/registry/client.ts';
import { parseImageReference } from '../../src/registry/reference.ts';
import { startBuildKitRelay } from '../helpers/buildkit-relay.ts';
import { startCacheServer } from '../helpers/cache-server.ts';
import { mutualTls } from '../helpers/certificate.ts';
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

const GOCACHE = '/root/.cache/go-build';
const savedKeys = (stdout: string) =>
  Object.fromEntries(
    [...stdout.matchAll(/cache mount (\S+): saved \(saved as (\S+)\)/g)].map((m) => [m[1]!, m[2]!]),
  );
const restoredFrom = (stdout: string) =>
  Object.fromEntries(
    [...stdout.matchAll(/cache mount (\S+): restored \d+ files \([^)]*\) from (\S+)/g)].map((m) => [
      m[1]!,
      m[2]!,
    ]),
  );

/** A port nothing listens on now. */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * buildkitd in a container of its own on the host network, serving TLS with client certificates
 * (as `buildkitd --addr tcp://... --tlscacert ...` runs on a build host). Its state lives in an
 * anonymous volume that goes with the container.
 */
async function startBuildkitd(image: string, certs: ReturnType<typeof mutualTls>) {
  const port = await freePort();
  const name = `bgi-buildkitd-${randomBytes(3).toString('hex')}`;
  const dir = path.dirname(certs.caFile);
  const inContainer = (file: string) => `/certs/${path.basename(file)}`;
  await execFile('docker', [
    ...['run', '-d', '--rm', '--name', name, '--privileged', '--network', 'host'],
    ...['-v', `${dir}:/certs:ro`, '-v', '/var/lib/buildkit', image],
    ...['--addr', `tcp://127.0.0.1:${port}`, '--tlscacert', inContainer(certs.caFile)],
    ...['--tlscert', inContainer(certs.server.certFile)],
    ...['--tlskey', inContainer(certs.server.keyFile)],
  ]);
  return {
    name,
    endpoint: `tcp://127.0.0.1:${port}`,
    stop: () => execFile('docker', ['rm', '-f', '-v', name], { allowFailure: true }),
  };
}

test(
  'a remote builder with a node per platform builds one index and keeps cache mounts per node',
  { timeout: 15 * 60_000 },
  async (t) => {
    const engine = await requireEngine(t);
    if (!engine) return;
    const buildkitImage = requireBuildKitImage(t);
    if (!buildkitImage) return;
    const { host: secondHost, onEngine: onSecond } = await startSecondEngine(t);

    const certs = mutualTls('127.0.0.1');
    const amdNode = await startBuildkitd(buildkitImage, certs);
    t.after(() => amdNode.stop());
    const armNode = await startBuildKitRelay(secondHost.slice('unix://'.length));
    t.after(() => armNode.close());
    const builder = `bgi-remote-${randomBytes(3).toString('hex')}`;
    const tlsOpts = [
      `cacert=${certs.caFile}`,
      `cert=${certs.client.certFile}`,
      `key=${certs.client.keyFile}`,
      'servername=127.0.0.1',
    ].join(',');
    await execFile('docker', [
      ...['buildx', 'create', '--name', builder, '--driver', 'remote'],
      ...['--platform', 'linux/amd64', '--driver-opt', tlsOpts, amdNode.endpoint],
    ]);
    t.after(() => execFile('docker', ['buildx', 'rm', '--force', builder], { allowFailure: true }));
    await execFile('docker', [
      ...['buildx', 'create', '--append', '--name', builder, '--driver', 'remote'],
      ...['--platform', 'linux/arm64', armNode.endpoint],
    ]);

    // Both nodes start empty, so the first build is cold on each (node 0 is a new daemon).
    await execFile('docker', ['buildx', 'prune', '--all', '--force'], onSecond);
    const cache = await startCacheServer();
    t.after(() => cache.close());
    const svc = serviceCopy();
    const repo = uniqueRepo(engine, 'remote');
    const inputs = pushBothPlatformsInputs(engine, svc, repo, {
      builder,
      'go-version': engine.goVersion,
      'check-go-image': 'false',
    });

    const first = await runAction({ inputs, env: cache.env() });
    assert.equal(first.main.exitCode, 0, first.main.stdout.slice(-4000));
    assert.match(
      first.main.stdout,
      new RegExp(`${builder}0 builds linux/amd64; ${builder}1 builds linux/arm64`),
    );
    assert.ok(armNode.connections() > 0, 'node 1 was reached');
    // Node 0 is the standalone daemon: buildx reached it over TLS and reads its own version, the
    // one its image's buildkitd prints.
    const printed = (await execFile('docker', ['run', '--rm', buildkitImage, '--version'])).stdout;
    const imageVersion = /\sv(\d+\.\d+\.\d+)\s/.exec(printed)?.[1];
    assert.ok(imageVersion, `buildkitd --version names a version: ${printed}`);
    const nodes = (await execFile('docker', ['buildx', 'inspect', '--bootstrap', builder])).stdout;
    assert.match(
      nodes,
      new RegExp(
        `Endpoint:\\s+${amdNode.endpoint}[\\s\\S]*?BuildKit version:\\s+v${imageVersion.replaceAll('.', '\\.')}\\s`,
      ),
    );
    assert.deepEqual(JSON.parse(first.main.outputs['cache-hit'] ?? '{}'), {
      [`/go/pkg/mod@linux/amd64`]: 'miss',
      [`${GOCACHE}@linux/amd64`]: 'miss',
      [`/go/pkg/mod@linux/arm64`]: 'miss',
      [`${GOCACHE}@linux/arm64`]: 'miss',
    });
    const index = await new RegistryClient().resolvePlatforms(parseImageReference(`${repo}:v1`));
    assert.deepEqual(index?.map((p) => p.platform).sort(), ['linux/amd64', 'linux/arm64']);

    // Post saved each node's GOCACHE under a key of its own platform.
    assert.equal(first.post?.exitCode, 0, first.post?.stdout);
    const saved = savedKeys(first.post?.stdout ?? '');
    assert.deepEqual(
      Object.keys(saved).sort(),
      [`${GOCACHE}@linux/amd64`, `${GOCACHE}@linux/arm64`],
      first.post?.stdout.slice(-3000),
    );
    assert.notEqual(saved[`${GOCACHE}@linux/amd64`], saved[`${GOCACHE}@linux/arm64`]);

    // Wipe the arm64 node only (layer cache and cache mounts), change one line, build again.
    await execFile('docker', ['buildx', 'prune', '--all', '--force'], onSecond);
    changeOneLine(svc);
    const second = await runAction({
      inputs: { ...inputs, tags: `${repo}:v2` },
      env: cache.env(),
      skipPost: true,
    });
    assert.equal(second.main.exitCode, 0, second.main.stdout.slice(-4000));
    // Each node got its own node's state back.
    assert.deepEqual(restoredFrom(second.main.stdout), saved, second.main.stdout.slice(-4000));
    // The wiped arm64 node compiled only the changed package: its GOCACHE came back (the amd64
    // node kept its own, so anything else compiled here would be arm64's).
    const compiled = compiledPackages(second.main.stdout);
    assert.ok(compiled.has('example.com/go-service/internal/store'), [...compiled].join(', '));
    assert.ok(
      !compiled.has('net/http'),
      `standard library from GOCACHE: ${[...compiled].join(', ')}`,
    );
    assert.ok(!compiled.has('example.com/go-service/internal/metrics'));
    assert.ok(compiledPackages(first.main.stdout).has('net/http'), 'the first build was cold');
  },
);
