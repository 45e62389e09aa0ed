// Benchmark: the action's own layer cache (layer-cache: auto, BuildKit's gha backend, mode=min) on
// a fresh runner, against the same fresh runner without it and a builder that never forgets, for
// (a) a rerun whose sources did not change and (b) a one-line change; the reference service, both
// platforms, the action's main and post as the runner runs them against the cache stand-in, with
// cache mounts restored and saved as by default. Prints each run's phases and what it stored.
// Needs the build engine. Run:
//   BGI_ACTION_ENTRY=src flock /tmp/bgi-e2e.lock npm run bench:layer-cache   (BENCH_ROUNDS=N, default 2)
//
// - fresh runner: docker buildx prune -af, the golang and busybox images removed from the engine
//   (they come from the local registry), cache-mount state restored from the stand-in;
// - persistent builder: never wiped, nothing restored or saved, no layer cache.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { changeOneLine } from '../__tests__/helpers/go-service.ts';
import { median } from './timing.ts';
import { freshRunnerSetup, runTimed } from './fresh-runner-setup.ts';
import { cachedStepCount } from '../src/buildx/cache-steps.ts';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 2);
/** BENCH_LOGS=<dir>: each run's main and post output is written there, for reading where time goes. */
const LOGS = process.env['BENCH_LOGS'];
const { svc, repo, cache, inputs, wipe } = await freshRunnerSetup('layer');

interface Run {
  base: number;
  build: number;
  main: number;
  post: number;
  total: number;
  /** Steps BuildKit took from a cache (its CACHED lines), of all steps it printed. */
  cached: string;
  /** Bytes the run added to the Actions cache: layer cache (blobs + index), cache mounts. */
  layerBytes: number;
  mountBytes: number;
}

const bytes = (re: RegExp) =>
  cache.entries.filter((e) => e.committed && re.test(e.key)).reduce((n, e) => n + e.data.length, 0);
const LAYER = /^(index-|buildkit-blob-)/;
const MOUNT = /^build-go-image-cm-/;

let tagN = 0;
async function run(extra: Record<string, string>): Promise<Run> {
  const [layer0, mount0] = [bytes(LAYER), bytes(MOUNT)];
  const r = await runTimed(
    { inputs: { ...inputs, ...extra, tags: `${repo}:r${++tagN}` }, env: cache.env() },
    `run ${tagN}`,
  );
  if (LOGS) {
    mkdirSync(LOGS, { recursive: true });
    writeFileSync(path.join(LOGS, `r${tagN}.log`), `${r.main.stdout}\n--- post\n${r.post.stdout}`);
  }
  const steps = cachedStepCount(r.main.stdout);
  return {
    base: r.base,
    build: r.build,
    main: r.mainS,
    post: r.postS,
    total: r.total,
    cached: steps ? `${steps.cached}/${steps.steps}` : '-',
    layerBytes: bytes(LAYER) - layer0,
    mountBytes: bytes(MOUNT) - mount0,
  };
}

const f = (n: number) => (Number.isFinite(n) ? n.toFixed(2).padStart(7) : '      -');
const mib = (n: number) => `${(n / 1048576).toFixed(2).padStart(6)} MiB`;
const row = (label: string, p: Run) =>
  `${label.padEnd(34)}${f(p.base)}${f(p.build)}${f(p.main)}${f(p.post)}${f(p.total)}  ${p.cached.padStart(6)}  ${mib(p.layerBytes)}  ${mib(p.mountBytes)}`;

console.log(
  `layer cache on a fresh runner, reference service, linux/amd64+linux/arm64, ${ROUNDS} rounds`,
);
console.log(
  `${''.padEnd(34)}   base   build    main    post   total  cached     layer cache     cache mounts`,
);
await wipe();
console.log(row('cold (fresh, empty, layer cache)', await run({})));

const VARIANTS: { label: string; extra: Record<string, string>; fresh: boolean }[] = [
  { label: 'fresh, no layer cache', extra: { 'layer-cache': 'off' }, fresh: true },
  { label: 'fresh, layer cache', extra: {}, fresh: true },
  {
    label: 'persistent builder',
    extra: { 'layer-cache': 'off', 'cache-mounts': 'false' },
    fresh: false,
  },
];
const results = new Map<string, Run[]>();
/** BENCH_SCENARIOS=one-line runs only the one-line change (unchanged, one-line: both). */
const SCENARIOS = (['unchanged', 'one-line change'] as const).filter((s) =>
  (process.env['BENCH_SCENARIOS'] ?? 'unchanged,one-line').includes(s.split(' ')[0]!),
);
for (const scenario of SCENARIOS) {
  for (let i = 1; i <= ROUNDS; i++)
    for (const v of VARIANTS) {
      // Each run of the one-line scenario builds a change of its own, as successive commits do.
      if (scenario === 'one-line change') changeOneLine(svc);
      if (v.fresh) await wipe();
      const r = await run(v.extra);
      const key = `${scenario}: ${v.label}`;
      results.set(key, [...(results.get(key) ?? []), r]);
      console.log(
        row(`${scenario === 'unchanged' ? 'unchanged' : 'one-line'} ${v.label} #${i}`, r),
      );
    }
}

console.log('');
for (const scenario of SCENARIOS) {
  const med = (label: string, k: 'total' | 'build' | 'layerBytes') =>
    median(results.get(`${scenario}: ${label}`)!.map((r) => r[k]));
  const [off, on, pe] = VARIANTS.map((v) => med(v.label, 'total'));
  console.log(
    `${scenario}: whole step (median) fresh without ${f(off!)} s, with ${f(on!)} s (${(on! / off!).toFixed(2)}x), persistent ${f(pe!)} s; fresh with layer cache = ${(on! / pe!).toFixed(2)}x persistent (without: ${(off! / pe!).toFixed(2)}x); layer cache stored per run ${mib(med('fresh, layer cache', 'layerBytes'))}`,
  );
}
const held = cache.entries.filter((e) => e.committed && LAYER.test(e.key));
console.log(
  `layer cache held after all runs: ${mib(held.reduce((n, e) => n + e.data.length, 0))} in ${held.length} entries (${held.filter((e) => e.key.startsWith('index-')).length} index entries); cache mounts: ${mib(bytes(MOUNT))}`,
);
await cache.close();
