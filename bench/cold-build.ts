// Benchmark: the cold build (a fresh runner with nothing cached: empty cache mounts, no layer cache,
// builder pruned, base images pulled from the local registry) with this tree's action against the
// action as it was before the fresh-runner work (delta saves, the layer cache, the base-image
// prefetch, post skipping unchanged mounts), side by side in one run, rounds interleaved (which
// goes first alternates), medians. The whole step is main + post as the runner runs them, against
// the cache stand-in, for the reference service on both platforms. Needs the build engine. Run:
//   flock /tmp/bgi-e2e.lock npm run bench:cold-build
// BENCH_ROUNDS=N (default 3); BENCH_BEFORE_REF=<commit> (default f40e17d, the last commit before
// that work): bundled into a temporary git worktree. BGI_ACTION_ENTRY=src runs this tree's sources
// instead of dist/.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { changeOneLine } from '../__tests__/helpers/go-service.ts';
import { median } from './timing.ts';
import { freshRunnerSetup, runTimed } from './fresh-runner-setup.ts';
import { startCacheServer } from '../__tests__/helpers/cache-server.ts';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 3);
const BEFORE_REF = process.env['BENCH_BEFORE_REF'] ?? 'f40e17d';
const ROOT = path.join(import.meta.dirname, '..');

/** The action at `ref`, bundled in a worktree of its own: the path of its entry and a cleanup. */
function bundleAt(ref: string): { entry: string; remove: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'bgi-cold-before-'));
  rmSync(dir, { recursive: true });
  const git = (...args: string[]) => execFileSync('git', ['-C', ROOT, ...args], { stdio: 'pipe' });
  git('worktree', 'add', '--detach', dir, ref);
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
  execFileSync('npm', ['run', 'bundle'], { cwd: dir, stdio: 'pipe' });
  const entry = path.join(dir, 'dist', 'index.js');
  if (!existsSync(entry)) throw new Error(`no bundle at ${entry}`);
  return { entry, remove: () => git('worktree', 'remove', '--force', dir) };
}

interface Run {
  base: number;
  /** The layer cache's export in the build (the action before this work kept none). */
  cacheExport: number;
  build: number;
  main: number;
  post: number;
  total: number;
  /** The whole step less the build: what the action itself does around it, main and post. */
  outside: number;
}

const before = bundleAt(BEFORE_REF);
// What "now" runs: the sources, or dist/ as last bundled (the tree's HEAD may be newer than that).
const fromSources = process.env['BGI_ACTION_ENTRY'] === 'src';
const head = execFileSync('git', [
  '-C',
  ROOT,
  'log',
  '-1',
  '--format=%h',
  ...(fromSources ? [] : ['--', 'dist']),
])
  .toString()
  .trim();
const { svc, repo, cache: unused, inputs, wipe } = await freshRunnerSetup('cold');
await unused.close();
const variants = [
  { name: `before (${BEFORE_REF})`, entry: before.entry },
  {
    name: `now (${fromSources ? `sources at ${head}` : `dist of ${head}`})`,
    entry: undefined,
  },
];

let n = 0;
async function coldRun(entry: string | undefined): Promise<Run> {
  n++;
  await wipe();
  // A cache service of its own, empty: nothing to restore, neither cache mounts nor layer cache.
  const cache = await startCacheServer();
  const r = await runTimed(
    {
      inputs: { ...inputs, tags: `${repo}:c${n}` },
      env: cache.env(),
      ...(entry ? { entry } : {}),
    },
    `cold run ${n}`,
  ).finally(() => cache.close());
  return {
    base: r.base,
    cacheExport: r.cacheExport,
    build: r.build,
    main: r.mainS,
    post: r.postS,
    total: r.total,
    outside: r.total - r.build,
  };
}

const f = (x: number) => (Number.isFinite(x) ? x.toFixed(2).padStart(8) : '       -');
const row = (label: string, r: Run) =>
  `${label.padEnd(34)}${f(r.base)}${f(r.cacheExport)}${f(r.build)}${f(r.main)}${f(r.post)}${f(r.total)}${f(r.outside)}`;
console.log(
  `cold build, reference service, linux/amd64+linux/arm64, ${ROUNDS} rounds, order alternating`,
);
console.log(`${''.padEnd(34)}    base  export   build    main    post   total outside`);
const runs: Run[][] = variants.map(() => []);
try {
  for (let i = 0; i < ROUNDS; i++) {
    // Both variants of a round build the same source, one the other has not pushed yet.
    changeOneLine(svc);
    const order = i % 2 === 0 ? [0, 1] : [1, 0];
    for (const v of order) {
      const r = await coldRun(variants[v]!.entry);
      runs[v]!.push(r);
      console.log(row(`#${i + 1} ${variants[v]!.name}`, r));
    }
  }
  console.log('');
  const med = (v: number, k: keyof Run) => median(runs[v]!.map((r) => r[k]));
  const label = { build: 'build alone', outside: 'outside the build', total: 'whole step' };
  for (const k of ['build', 'outside', 'total'] as const) {
    const ratio = med(1, k) / med(0, k);
    console.log(
      `median ${label[k]}: before ${f(med(0, k))} s, now ${f(med(1, k))} s: ${ratio.toFixed(3)}x, ${(med(1, k) - med(0, k)).toFixed(2)} s${k === 'total' ? ' (target <= 1.05x)' : ''}`,
    );
  }
  const pairs = runs[0]!.map((b, i) => runs[1]![i]!.total / b.total);
  console.log(
    `whole step, now / before within each round: ${pairs.map((x) => x.toFixed(3)).join(', ')}`,
  );
} finally {
  before.remove();
}
