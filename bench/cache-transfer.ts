// Benchmark: what moving cache-mount state in and out of the builder costs, next to what archiving
// the same directory costs, measured side by side in one run (these machines are noisy: read the
// ratios). Needs the build engine (bash scripts/build-engine.sh up). Run: npm run bench:cache
//
//   1. inject  (one tar through the build context, unpacked into the cache mount) vs tar + zstd
//   2. extract (the cache mount archived and exported as one tar)                   vs tar + zstd
//   3. warm rebuild after a one-line change: builder wiped + state restored vs builder never wiped
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFile } from '../src/io/exec.ts';
import { extractMount, injectMount } from '../src/cachemounts/transfer.ts';
import type { CacheMount } from '../src/cachemounts/discover.ts';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const SIZE_MB = Number(process.env['BENCH_SIZE_MB'] ?? 200);
const engineEnv = readFileSync('/opt/build-go-image-engine/engine.env', 'utf8');
const env = Object.fromEntries(
  [...engineEnv.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1]!, m[2]!.replace(/^'|'$/g, '')]),
);
const helperImage = `${env['BGI_BASE_REGISTRY']}/busybox:stable`;
const work = mkdtempSync(path.join(tmpdir(), 'bgi-bench-'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
async function time(fn: () => Promise<unknown>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

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

const mount: CacheMount = {
  id: `bench-${process.pid}`,
  target: '/root/.cache/go-build',
  sharing: 'shared',
  where: 'bench',
};
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
  await execFile('docker', [
    'buildx',
    'build',
    '--platform',
    'linux/amd64,linux/arm64',
    '--build-arg',
    `BASE_REGISTRY=${env['BGI_BASE_REGISTRY']}`,
    '--build-arg',
    `GO_VERSION=${env['BGI_GO_VERSION']}`,
    '--output',
    'type=cacheonly',
    svcDir,
  ]);
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
  inject.push(
    await time(() =>
      injectMount({
        platform: 'linux/amd64',
        mount,
        helperImage,
        tarFile: path.join(out, 'content.tar'),
        workDir: out,
        runTag: `inject-${r}-${Date.now()}`,
      }),
    ),
  );
  extract.push(
    await time(() =>
      extractMount({
        platform: 'linux/amd64',
        mount,
        helperImage,
        outDir: path.join(out, 'x'),
        workDir: out,
        runTag: `extract-${r}-${Date.now()}`,
      }),
    ),
  );
  rmSync(out, { recursive: true, force: true });
}
const base = median(tarZstd);
console.log(`tar + zstd -3 of the directory   ${base.toFixed(2)} s`);
console.log(
  `inject into the builder          ${median(inject).toFixed(2)} s   ratio ${(median(inject) / base).toFixed(2)} (target <= 2)`,
);
console.log(
  `extract from the builder         ${median(extract).toFixed(2)} s   ratio ${(median(extract) / base).toFixed(2)} (target <= 2)`,
);

// Warm rebuild of the reference service after a one-line change.
const svc = path.join(work, 'svc');
cpSync(path.join(import.meta.dirname, '..', 'examples', 'go-service'), svc, { recursive: true });
const build = () =>
  execFile('docker', [
    'buildx',
    'build',
    '--platform',
    'linux/amd64,linux/arm64',
    '--build-arg',
    `BASE_REGISTRY=${env['BGI_BASE_REGISTRY']}`,
    '--build-arg',
    `GO_VERSION=${env['BGI_GO_VERSION']}`,
    '--output',
    'type=cacheonly',
    svc,
  ]);
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
const kept: number[] = [];
const restored: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  change(r * 2);
  kept.push(await time(build));
  const out = path.join(work, `w${r}`);
  await extractMount({
    platform: 'linux/amd64',
    mount: gocache,
    helperImage,
    outDir: path.join(out, 'c'),
    workDir: out,
    runTag: `wc-${r}-${Date.now()}`,
  });
  await extractMount({
    platform: 'linux/amd64',
    mount: gomod,
    helperImage,
    outDir: path.join(out, 'm'),
    workDir: out,
    runTag: `wm-${r}-${Date.now()}`,
  });
  await execFile('docker', ['buildx', 'prune', '--all', '--force']);
  change(r * 2 + 1);
  restored.push(
    await time(async () => {
      await injectMount({
        platform: 'linux/amd64',
        mount: gocache,
        helperImage,
        tarFile: path.join(out, 'c', 'content.tar'),
        workDir: out,
        runTag: `ic-${r}-${Date.now()}`,
      });
      await injectMount({
        platform: 'linux/amd64',
        mount: gomod,
        helperImage,
        tarFile: path.join(out, 'm', 'content.tar'),
        workDir: out,
        runTag: `im-${r}-${Date.now()}`,
      });
      await build();
    }),
  );
}
console.log(`warm rebuild, builder never wiped            ${median(kept).toFixed(2)} s`);
console.log(
  `warm rebuild, builder wiped + state injected ${median(restored).toFixed(2)} s   ratio ${(median(restored) / median(kept)).toFixed(2)} (target <= 1.5)`,
);
rmSync(work, { recursive: true, force: true });
