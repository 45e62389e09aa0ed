// Captures what the running build engine really prints, as fixtures for the unit tests that parse
// it (__tests__/unit/engine-fixtures.test.ts): `buildx version`, `buildx inspect` of the docker
// driver and of a docker-container builder, the metadata file of a two-platform push and of an OCI
// export, `imagetools inspect --raw` of the pushed index, and the build output of a push that the
// registry refuses with 404. One folder per engine version under __tests__/fixtures/engines/.
// Needs the engine (bash scripts/build-engine.sh up [current|oldest]; buildkit-image for the
// docker-container inspect). Run: npm run fixtures:engine
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFile } from '../src/io/exec.ts';
import { readEngineEnv } from '../__tests__/helpers/engine.ts';

const env = readEngineEnv();
const docker = env['BGI_DOCKER_VERSION'];
const buildx = env['BGI_BUILDX_VERSION'];
if (!docker || !buildx) throw new Error('engine.env names no versions: run build-engine.sh up');
const name = `docker-${docker}-buildx-${buildx}`;
const out = path.join(import.meta.dirname, '..', '__tests__', 'fixtures', 'engines', name);
// Written aside and moved into place at the end: a capture that fails keeps the old fixtures.
const draft = `${out}.capturing`;
rmSync(draft, { recursive: true, force: true });
mkdirSync(draft, { recursive: true });
const save = (file: string, text: string) => writeFileSync(path.join(draft, file), text);
const run = async (args: string[]) => (await execFile('docker', args)).stdout;
// Timings and local paths vary from run to run; the parsers never read them.
const scrub = (text: string) =>
  text
    .replaceAll(tmpdir(), '/tmp')
    .replace(/\b\d+\.\d+s\b/g, '0.0s')
    .replace(/^#(\d+) \d+\.\d+ /gm, '#$1 0.000 ');

save('buildx-version.txt', await run(['buildx', 'version']));
save(
  'engine.json',
  JSON.stringify(
    {
      engine: env['BGI_ENGINE'],
      docker,
      buildx,
      containerd: env['BGI_CONTAINERD_VERSION'],
      buildkit: env['BGI_BUILDKIT_VERSION'],
    },
    null,
    2,
  ) + '\n',
);
save('inspect-docker.txt', await run(['buildx', 'inspect', 'default', '--bootstrap']));

const buildkitImage = env['BGI_BUILDKIT_IMAGE'];
if (buildkitImage) {
  const builder = 'bgi-fixture-capture';
  await execFile('docker', ['buildx', 'rm', '--force', builder], { allowFailure: true });
  await run([
    ...['buildx', 'create', '--name', builder, '--driver', 'docker-container'],
    ...['--driver-opt', `image=${buildkitImage},network=host`, '--bootstrap'],
  ]);
  try {
    save('inspect-docker-container.txt', await run(['buildx', 'inspect', builder]));
  } finally {
    await execFile('docker', ['buildx', 'rm', '--force', builder], { allowFailure: true });
  }
}

const work = mkdtempSync(path.join(tmpdir(), 'bgi-fixtures-'));
try {
  writeFileSync(
    path.join(work, 'Dockerfile'),
    [
      `FROM ${env['BGI_BASE_REGISTRY']}/busybox:stable`,
      'ARG STAMP',
      'RUN --mount=type=cache,id=fixture,target=/cache echo "$STAMP" > /cache/x && cp /cache/x /built',
      '',
    ].join('\n'),
  );
  const ref = `${env['BGI_REGISTRY']}/fixtures/${name}:multi`;
  const build = async (extra: string[], metadata: string, allowFailure = false) => {
    const r = await execFile(
      'docker',
      [
        ...['buildx', 'build', '--progress', 'plain', '--build-arg', `STAMP=${Date.now()}`],
        ...['--metadata-file', path.join(work, metadata), ...extra, work],
      ],
      { allowFailure },
    );
    return { ...r, log: scrub(r.stderr) };
  };
  // What a user gets by default: attestations as buildx adds them on its own.
  const pushed = await build(
    ['--platform', 'linux/amd64,linux/arm64', '--tag', ref, '--push'],
    'push.json',
  );
  save('build-push.txt', pushed.log);
  save('metadata-push.json', readFileSync(path.join(work, 'push.json'), 'utf8'));
  save('imagetools-raw.json', await run(['buildx', 'imagetools', 'inspect', '--raw', ref]));

  const layout = path.join(work, 'layout.tar');
  await build(['--platform', 'linux/amd64', '--output', `type=oci,dest=${layout}`], 'oci.json');
  save('metadata-oci.json', readFileSync(path.join(work, 'oci.json'), 'utf8'));

  // Registries that answer /v2/ and then 404 to everything: with a message, as real registries
  // send it, and with a bare error code, as the fault matrix's `notfound` (BuildKit 0.25 then says
  // only "unknown").
  const bodies = {
    'build-push-notfound.txt':
      '{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}',
    'build-push-notfound-bare.txt': '{"errors":[{"code":"NAME_UNKNOWN"}]}',
  };
  for (const [file, body] of Object.entries(bodies)) {
    const registry = createServer((req, res) => {
      req.resume();
      if (req.url === '/v2/' || req.url === '/v2') {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        return;
      }
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(body);
    });
    await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve));
    try {
      const port = (registry.address() as AddressInfo).port;
      const refused = await build(
        ['--platform', 'linux/amd64', '--tag', `127.0.0.1:${port}/fixtures/refused:x`, '--push'],
        'refused.json',
        true,
      );
      if (refused.exitCode === 0) throw new Error('a push to a 404 registry succeeded');
      save(file, refused.log.replaceAll(`127.0.0.1:${port}`, '127.0.0.1:PORT'));
    } finally {
      registry.close();
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
rmSync(out, { recursive: true, force: true });
renameSync(draft, out);
console.log(`fixtures of ${name} in ${path.relative(process.cwd(), out)}`);
