// Benchmark: measuring a two-platform image (compressed and unpacked sizes per layer) from the local
// registry and from an OCI layout export, next to `docker pull` of both platforms, side by side.
// Needs the build engine (bash scripts/build-engine.sh up). Run: npm run bench:size
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFile } from '../src/io/exec.ts';
import { readEngineEnv } from '../__tests__/helpers/engine.ts';
import { buildReference, median, time } from './timing.ts';
import { RegistryClient } from '../src/registry/client.ts';
import { parseImageReference } from '../src/registry/reference.ts';
import { measureImage } from '../src/sizereport/measure.ts';
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
  await execFile('docker', ['rmi', '-f', image], { allowFailure: true });
  pull.push(
    await time(async () => {
      for (const p of ['linux/amd64', 'linux/arm64'])
        await execFile('docker', ['pull', '-q', '--platform', p, image]);
    }),
  );
  await execFile('docker', ['rmi', '-f', image], { allowFailure: true });
}
const p = median(pull);
console.log(
  `measuring ${image} (2 platforms, compressed + unpacked per layer), ${ROUNDS} rounds, median seconds`,
);
console.log(`docker pull of both platforms          ${p.toFixed(3)} s`);
console.log(
  `measure from the registry, stored sizes   ${median(compressedOnly).toFixed(3)} s   ratio to pull ${(median(compressedOnly) / p).toFixed(2)}`,
);
console.log(
  `measure from the registry, + unpacked ${median(fromRegistry).toFixed(3)} s   ratio to pull ${(median(fromRegistry) / p).toFixed(2)}`,
);
console.log(
  `measure from the OCI layout, + unpacked${median(fromLayout).toFixed(3)} s   ratio to pull ${(median(fromLayout) / p).toFixed(2)}`,
);
rmSync(work, { recursive: true, force: true });
