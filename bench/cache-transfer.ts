// Benchmark: what moving cache-mount state in and out of the builder costs, next to what archiving
// the same directory costs, measured side by side in one run (these machines are noisy: read the
// ratios). Needs the build engine (bash scripts/build-engine.sh up). Run: npm run bench:cache
//
//   0. the host's own tar -x of the archive: the floor under any inject
//   1. inject  (loopback, and one tar through the build context, unpacked into the mount) vs tar + zstd
//   2. extract (loopback, and the mount archived and exported by the build)               vs tar + zstd
//   3. warm rebuild after a one-line change: builder wiped + state restored vs builder never wiped
import {
  cpSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { docker } from '../src/buildx/command.ts';
import { execFile } from '../src/io/exec.ts';
import { readEngineEnv } from '../__tests__/helpers/engine.ts';
import { buildReference, median, time } from './timing.ts';
import {
  extractMount,
  extractMounts,
  injectMount,
  injectMounts,
} from '../src/cachemounts/transport/index.ts';
import type { CacheMount } from '../src/cachemounts/discover.ts';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const SIZE_MB = Number(process.env['BENCH_SIZE_MB'] ?? 200);
const env = readEngineEnv();
const helperImage = `${env['BGI_BASE_REGISTRY']}/busybox:stable`;
const work = mkdtempSync(path.join(tmpdir(), 'bgi-bench-'));

// A GOCACHE-shaped directory: 256 two-hex-digit folders of entries, sizes like Go's (many small, some
// large), content half random and half text so compression behaves like real object files.
function makeCache(dir: string): number {
  let total = 0;
  let i = 0;
  while (total < SIZE_MB * 1024 * 1024) {
    const size = i % 10 === 0 ? 400_000 : 20_000 + (i % 7) * 9000;
    const buf = Buffer.concat([randomBytes(size / 2), Buffer.alloc(size / 2, `package p${i}\n`)]);
    const sub = path.join(dir, (i % 256).toString(16).padStart(2, '0'));
    mkdirSync(sub, { recursive: true });
    writeFileSync(path.join(sub, `${i.toString(16).padStart(8, '0')}-d`), buf);
    total += size;
    i++;
  }
  writeFileSync(
    path.join(dir, 'README'),
    'This directory holds cached build artifacts from the Go build system.\n',
  );
  return i;
}

// A fresh cache mount for each round and path, as after a wipe: unpacking over an earlier copy
// (unlinking each file first) is not what a restore does.
const benchMount = (r: number, direct: boolean): CacheMount => ({
  id: `bench-${process.pid}-${r}-${direct}`,
  target: '/root/.cache/go-build',
  sharing: 'shared',
  where: 'bench',
});
const src = path.join(work, 'gocache');
mkdirSync(src);
let count: number;
let what: string;
if (process.env['BENCH_SYNTHETIC'] === '1') {
  count = makeCache(src);
  what = `a synthetic ${SIZE_MB} MB GOCACHE-shaped directory`;
} else {
  // The real GOCACHE of a cold two-platform build of the reference service (about 180 MB).
  const svcDir = path.join(import.meta.dirname, '..', 'examples', 'go-service');
  await execFile('docker', ['buildx', 'prune', '--all', '--force']);
  await execFile('docker', buildReference(env, svcDir, ['--output', 'type=cacheonly']));
  const real: CacheMount = {
    id: '/root/.cache/go-build',
    target: '/root/.cache/go-build',
    sharing: 'shared',
    where: 'bench',
  };
  await extractMount({
    platform: 'linux/amd64',
    mount: real,
    helperImage,
    outDir: path.join(work, 'real'),
    workDir: work,
    runTag: `real-${Date.now()}`,
  });
  await execFile('tar', ['-x', '-f', path.join(work, 'real', 'content.tar'), '-C', src]);
  count = Number(readFileSync(path.join(work, 'real', 'files'), 'utf8').trim());
  what = 'the real GOCACHE of a two-platform build of examples/go-service';
}
const bytes = Number((await execFile('du', ['-sb', src])).stdout.split('\t')[0]);
console.log(
  `cache-mount transfer of ${what}: ${(bytes / 1e6).toFixed(0)} MB in ${count} files, ${ROUNDS} rounds (median seconds)`,
);

const tarZstd: number[] = [];
const inject: number[] = [];
const extract: number[] = [];
const injectLoop: number[] = [];
const extractLoop: number[] = [];
const unpackFloor: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const out = path.join(work, `r${r}`);
  mkdirSync(out);
  tarZstd.push(
    await time(() =>
      execFile('tar', [
        '-c',
        '--use-compress-program',
        'zstd -3 -T0',
        '-f',
        path.join(out, 'plain.tar.zst'),
        '-C',
        src,
        '.',
      ]),
    ),
  );
  // The restored cache entry is already one tar (content.tar): the inject is what follows it.
  await execFile('tar', [
    '-c',
    '--numeric-owner',
    '-f',
    path.join(out, 'content.tar'),
    '-C',
    src,
    '.',
  ]);
  // The floor under any inject: unpacking the same archive with the host's own tar into an empty
  // directory on the same disk as the engine's data, with no build around it.
  const floorDir = path.join(out, 'floor');
  mkdirSync(floorDir);
  unpackFloor.push(
    await time(() => execFile('tar', ['-x', '-f', path.join(out, 'content.tar'), '-C', floorDir])),
  );
  // Both paths side by side: the build context (any builder) and the loopback channel (the
  // docker driver on a local engine, what the action tries first there).
  for (const direct of [false, true]) {
    const took = await time(async () => {
      const how = await injectMount({
        platform: 'linux/amd64',
        mount: benchMount(r, direct),
        helperImage,
        tarFile: path.join(out, 'content.tar'),
        workDir: out,
        runTag: `inject-${r}-${direct}-${Date.now()}`,
        direct,
      });
      if (how !== (direct ? 'loopback' : 'context')) throw new Error(`inject went by ${how}`);
    });
    (direct ? injectLoop : inject).push(took);
  }
  for (const direct of [false, true]) {
    const took = await time(async () => {
      const how = await extractMount({
        platform: 'linux/amd64',
        mount: benchMount(r, direct),
        helperImage,
        outDir: path.join(out, `x-${direct}`),
        workDir: out,
        runTag: `extract-${r}-${direct}-${Date.now()}`,
        direct,
      });
      if (how !== (direct ? 'loopback' : 'context')) throw new Error(`extract went by ${how}`);
    });
    (direct ? extractLoop : extract).push(took);
  }
  // Round outputs stay until the end: deleting hundreds of MB here would have the disk busy
  // discarding blocks while the next round is timed.
}
const base = median(tarZstd);
console.log(`tar + zstd -3 of the directory   ${base.toFixed(2)} s`);
console.log(
  `host tar -x of the archive         ${median(unpackFloor).toFixed(2)} s   ratio ${(median(unpackFloor) / base).toFixed(2)} (the floor under an inject)`,
);
for (const [label, runs] of [
  ['inject, through the build context ', inject],
  ['inject, through the loopback      ', injectLoop],
  ['extract, exported by the build    ', extract],
  ['extract, through the loopback     ', extractLoop],
] as const)
  console.log(
    `${label}   ${median(runs).toFixed(2)} s   ratio ${(median(runs) / base).toFixed(2)} (target <= 2)`,
  );

// Warm rebuild of the reference service after a one-line change.
const svc = path.join(work, 'svc');
cpSync(path.join(import.meta.dirname, '..', 'examples', 'go-service'), svc, { recursive: true });
// Started as the action starts its build (the buildx plugin directly, src/buildx/command.ts), so
// both sides of the ratio pay the same for starting buildx.
const build = () => docker(buildReference(env, svc, ['--output', 'type=cacheonly']));
const store = path.join(svc, 'internal', 'store', 'store.go');
const change = (n: number) =>
  writeFileSync(
    store,
    readFileSync(store, 'utf8').replace(/note not found[^"]*"/, `note not found ${n}"`),
  );
const gocache: CacheMount = {
  id: '/root/.cache/go-build',
  target: '/root/.cache/go-build',
  sharing: 'shared',
  where: 'bench',
};
const gomod: CacheMount = {
  id: '/go/pkg/mod',
  target: '/go/pkg/mod',
  sharing: 'shared',
  where: 'bench',
};
await build();
// As the action does on the docker driver: only mounts that had content were saved, and they go
// in with one helper build, through the loopback channel.
async function injectSaved(out: string, r: number): Promise<void> {
  const items = [gocache, gomod]
    .map((m, i) => ({ mount: m, dir: path.join(out, `mount-${i}`) }))
    .filter((it) => Number(readFileSync(path.join(it.dir, 'files'), 'utf8').trim()) > 0)
    .map((it) => {
      // A link of its own for each use: the inject deletes what it is handed, as after a restore.
      const use = path.join(it.dir, `use-${Date.now()}.tar`);
      linkSync(path.join(it.dir, 'content.tar'), use);
      return { mount: it.mount, tarFile: use };
    });
  await injectMounts({
    platform: 'linux/amd64',
    helperImage,
    items,
    workDir: out,
    runTag: `i-${r}-${Date.now()}`,
    direct: true,
    // As after a restore: the archives are deleted once unpacked.
    consumeArchives: true,
  });
}
const kept: number[] = [];
const mountsLost: number[] = [];
const restored: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  change(r * 3);
  kept.push(await time(build));
  const out = path.join(work, `w${r}`);
  await extractMounts({
    platform: 'linux/amd64',
    items: [{ mount: gocache }, { mount: gomod }],
    helperImage,
    outDir: out,
    workDir: path.join(work, `wd${r}`),
    runTag: `w-${r}-${Date.now()}`,
    direct: true,
  });
  // Only the cache mounts lost (layer cache and base images kept): the cost of the state itself.
  await execFile('docker', ['buildx', 'prune', '--force', '--filter', 'type=exec.cachemount']);
  change(r * 3 + 1);
  mountsLost.push(
    await time(async () => {
      await injectSaved(out, r);
      await build();
    }),
  );
  // Everything lost, as on a fresh runner (base image layers are unpacked again too).
  await execFile('docker', ['buildx', 'prune', '--all', '--force']);
  change(r * 3 + 2);
  restored.push(
    await time(async () => {
      await injectSaved(out, r);
      await build();
    }),
  );
}
const k = median(kept);
console.log(`warm rebuild after a one-line change, builder never wiped         ${k.toFixed(2)} s`);
// What the 1.5x target leaves for the inject, next to the host's unpack of the same archive alone.
console.log(
  `  time left for the inject within 1.5x: ${(k / 2).toFixed(2)} s; host tar -x alone: ${median(unpackFloor).toFixed(2)} s`,
);
console.log(
  `  cache mounts wiped, state injected (layer cache and base kept)  ${median(mountsLost).toFixed(2)} s   ratio ${(median(mountsLost) / k).toFixed(2)} (target <= 1.5)`,
);
console.log(
  `  builder wiped completely, state injected                        ${median(restored).toFixed(2)} s   ratio ${(median(restored) / k).toFixed(2)} (target <= 1.5)`,
);
// For scale: the same rebuild with no state at all (one round: it is slow).
await execFile('docker', ['buildx', 'prune', '--all', '--force']);
change(9999);
const cold = await time(build);
console.log(
  `  builder wiped completely, no state (cold)                       ${cold.toFixed(2)} s   ratio ${(cold / k).toFixed(2)}`,
);
rmSync(work, { recursive: true, force: true });
