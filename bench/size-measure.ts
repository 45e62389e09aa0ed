// Benchmark: measuring a two-platform image (compressed and unpacked sizes per layer) from the local
// registry and from an OCI layout export, next to `docker pull` of both platforms, side by side.
// Needs the build engine (bash scripts/build-engine.sh up). Run: npm run bench:size
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFile } from '../src/io/exec.ts';
import { pushBothPlatforms, readEngineEnv } from '../__tests__/helpers/engine.ts';
import { buildReference, median, time } from './timing.ts';
import { RegistryClient } from '../src/registry/client.ts';
import { parseImageReference } from '../src/registry/reference.ts';
import { knownLayerSizes, measureImage } from '../src/sizereport/measure.ts';
import { ociLayoutSource, registrySource } from '../src/sizereport/sources.ts';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5);
const env = readEngineEnv();
const image = `${env['BGI_REGISTRY']}/bench/go-service:size`;
const work = mkdtempSync(path.join(tmpdir(), 'bgi-bench-size-'));
const layout = path.join(work, 'oci');
const svc = path.join(import.meta.dirname, '..', 'examples', 'go-service');
await execFile('docker', buildReference(env, svc, ['--tag', image, '--push']));
await execFile(
  'docker',
  buildReference(env, svc, ['--output', `type=oci,dest=${layout},tar=false`]),
);

// Pulls are timed on a second, empty engine: the first one keeps the base image's blobs in its
// build cache, so a pull there would unpack without downloading.
const second = (
  await execFile('bash', [
    path.join(import.meta.dirname, '..', 'scripts', 'build-engine.sh'),
    'second-up',
  ])
).stdout
  .trim()
  .split('\n')
  .pop()!;
const onSecond = { env: { ...process.env, DOCKER_HOST: second } };

const compressedOnly: number[] = [];
const fromRegistry: number[] = [];
const fromLayout: number[] = [];
const pull: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  compressedOnly.push(
    await time(() =>
      measureImage(registrySource(new RegistryClient(), parseImageReference(image)), image),
    ),
  );
  fromRegistry.push(
    await time(() =>
      measureImage(registrySource(new RegistryClient(), parseImageReference(image)), image, {
        uncompressed: true,
      }),
    ),
  );
  fromLayout.push(
    await time(() => measureImage(ociLayoutSource(layout), image, { uncompressed: true })),
  );
  await execFile('docker', ['image', 'prune', '--all', '--force'], onSecond);
  pull.push(
    await time(async () => {
      for (const p of ['linux/amd64', 'linux/arm64'])
        await execFile('docker', ['pull', '-q', '--platform', p, image], onSecond);
    }),
  );
}
const p = median(pull);
console.log(
  `measuring ${image} (2 platforms, compressed + unpacked per layer), ${ROUNDS} rounds, median seconds`,
);
console.log(`docker pull of both platforms (empty engine) ${p.toFixed(3)} s`);
console.log(
  `measure from the registry, stored sizes   ${median(compressedOnly).toFixed(3)} s   ratio to pull ${(median(compressedOnly) / p).toFixed(2)}`,
);
console.log(
  `measure from the registry, + unpacked ${median(fromRegistry).toFixed(3)} s   ratio to pull ${(median(fromRegistry) / p).toFixed(2)}`,
);
console.log(
  `measure from the OCI layout, + unpacked${median(fromLayout).toFixed(3)} s   ratio to pull ${(median(fromLayout) / p).toFixed(2)}`,
);

// Part 2: a pull request's image on a large base (the golang image, ~300 MB per platform), where
// only the top layer changed. With the base branch's report, the layers it measured are not
// unpacked again: what a PR build pays.
const bigBase = `${env['BGI_BASE_REGISTRY']}/golang:${env['BGI_GO_VERSION']}`; // built on, not removed
const variant = async (name: string) => {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'app'), `${name} ${Date.now()}\n`);
  writeFileSync(path.join(dir, 'Dockerfile'), `FROM ${bigBase}\nCOPY app /app\n`);
  const ref = `${env['BGI_REGISTRY']}/bench/on-golang:${name}`;
  return pushBothPlatforms(dir, ref);
};
const mainRef = await variant('main');
const prRef = await variant('pr');
const baseReport = await measureImage(
  registrySource(new RegistryClient(), parseImageReference(mainRef)),
  mainRef,
  { uncompressed: true },
);
const known = knownLayerSizes(baseReport);

const prCold: number[] = [];
const prWarm: number[] = [];
const prPull: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  prCold.push(
    await time(() =>
      measureImage(registrySource(new RegistryClient(), parseImageReference(prRef)), prRef, {
        uncompressed: true,
      }),
    ),
  );
  prWarm.push(
    await time(() =>
      measureImage(registrySource(new RegistryClient(), parseImageReference(prRef)), prRef, {
        uncompressed: true,
        known,
      }),
    ),
  );
  await execFile('docker', ['image', 'prune', '--all', '--force'], onSecond);
  prPull.push(
    await time(async () => {
      for (const p of ['linux/amd64', 'linux/arm64'])
        await execFile('docker', ['pull', '-q', '--platform', p, prRef], onSecond);
    }),
  );
}
await execFile('docker', ['image', 'prune', '--all', '--force'], onSecond);
await execFile('bash', [
  path.join(import.meta.dirname, '..', 'scripts', 'build-engine.sh'),
  'second-down',
]);
const pp = median(prPull);
console.log(
  `\n${prRef} (golang base + one changed layer, 2 platforms), ${ROUNDS} rounds, median seconds`,
);
console.log(`docker pull of both platforms (empty engine) ${pp.toFixed(3)} s`);
console.log(
  `measure, stored + unpacked, no baseline   ${median(prCold).toFixed(3)} s   ratio to pull ${(median(prCold) / pp).toFixed(2)}`,
);
console.log(
  `measure, stored + unpacked, with the base branch's report ${median(prWarm).toFixed(3)} s   ratio to pull ${(median(prWarm) / pp).toFixed(2)}`,
);
rmSync(work, { recursive: true, force: true });
