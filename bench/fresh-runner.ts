// Benchmark: the whole step (the action's main and post, run as the runner runs them) on a fresh
// runner against a builder that never forgets, for a one-line change to the reference service,
// both platforms, against the Actions cache stand-in. Needs the build engine. Run:
//   flock /tmp/bgi-e2e.lock npm run bench:fresh-runner      (BENCH_WARM_RUNS=N, default 6)
//
// - fresh runner: the builder pruned completely (docker buildx prune -af) and the base and helper
//   images removed from the engine, so they come from the local registry; cache-mount state
//   restored from the stand-in, saved back in post.
// - persistent builder: never wiped, nothing restored or saved (cache-mounts: false). It runs right
//   after each fresh run, so it starts from a builder that built the commit before, as a builder
//   that is never wiped does.
// Prints every phase, the ratios, the bytes each warm run uploads against the full mount state, and
// what the cache holds after the warm runs against one full entry. Set BGI_ACTION_ENTRY=src to run
// the sources instead of dist/.
import { saveCache } from '@actions/cache';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { changeOneLine } from '../__tests__/helpers/go-service.ts';
import { median } from './timing.ts';
import { freshRunnerSetup, runTimed, type TimedRun } from './fresh-runner-setup.ts';
import { startCacheServer } from '../__tests__/helpers/cache-server.ts';
import { restoreState, withTransferPath } from '../src/cachemounts/store/index.ts';
import { consoleLogger, type Logger } from '../src/log.ts';

const WARM_RUNS = Number(process.env['BENCH_WARM_RUNS'] ?? 6);
const { svc, repo, cache, inputs, wipe } = await freshRunnerSetup('fresh');

interface Phases {
  /** What post said it saved, per mount: kind, entries, refreshes, uncompressed size. */
  saved: string[];
  /** The build's base-image step (pull and unpack on a fresh runner), inside `build`. */
  base: number;
  /** The base images' pull during the restore (src/buildx/prefetch.ts), from its start, inside `main`. */
  pull: number;
  download: number;
  inject: number;
  build: number;
  extract: number;
  upload: number;
  main: number;
  post: number;
  total: number;
  uploaded: number;
}

const sum = (text: string, re: RegExp, group = 1) =>
  [...text.matchAll(re)].reduce((n, m) => n + Number(m[group]), 0);
/** The store's line after each upload: kind, what it holds, seconds. */
const UPLOADED =
  /^cache mount (\S+): (delta|full entry) (?:of \S+ )?\((.*)\) uploaded in ([\d.]+) s$/gm;

function phasesOf(run: TimedRun, uploaded: number): Phases {
  const main = run.main.stdout;
  const post = run.post.stdout;
  return {
    saved: [...post.matchAll(UPLOADED)].map(
      (m) => `${m[1]}: ${m[2] === 'delta' ? 'delta' : 'full'} (${m[3]})`,
    ),
    base: run.base,
    pull: sum(main, /^base images ready \(([\d.]+) s after the pull started\)$/gm),
    download: sum(main, /: downloaded .* in ([\d.]+) s$/gm),
    inject: sum(main, /put into the builder through .* in ([\d.]+) s$/gm),
    build: run.build,
    extract: sum(post, /taken out of the builder through .* in ([\d.]+) s$/gm),
    upload: sum(post, UPLOADED, 4),
    main: run.mainS,
    post: run.postS,
    total: run.total,
    uploaded,
  };
}

/** Cache-mount entries (full and delta) the service holds; the size report keeps its own. */
const mountEntries = () =>
  cache.entries.filter((e) => e.committed && e.key.startsWith('build-go-image-cm-'));
const committedBytes = () => mountEntries().reduce((n, e) => n + e.data.length, 0);

async function step(name: string, extra: Record<string, string>, tag: string): Promise<Phases> {
  const before = committedBytes();
  const run = await runTimed(
    { inputs: { ...inputs, ...extra, tags: `${repo}:${tag}` }, env: cache.env() },
    name,
  );
  return phasesOf(run, committedBytes() - before);
}

const f = (n: number) => (Number.isFinite(n) ? n.toFixed(2).padStart(7) : '      -');
const row = (label: string, p: Phases) =>
  `${label.padEnd(22)}${f(p.base)}${f(p.pull)}${f(p.download)}${f(p.inject)}${f(p.build)}${f(p.extract)}${f(p.upload)}${f(p.main)}${f(p.post)}${f(p.total)}  ${(p.uploaded / 1048576).toFixed(2).padStart(7)} MiB`;

console.log(
  `fresh runner vs persistent builder, reference service, linux/amd64+linux/arm64, ${WARM_RUNS} warm runs`,
);
console.log(
  `${''.padEnd(22)}   base    pull      dl  inject   build  extrct  upload    main    post   total   uploaded`,
);
await wipe();
const cold = await step('cold', {}, 'cold');
console.log(row('cold (fresh, empty)', cold));
const fullEntry = committedBytes();
const fresh: Phases[] = [];
const persistent: Phases[] = [];
for (let i = 1; i <= WARM_RUNS; i++) {
  changeOneLine(svc);
  await wipe();
  const fr = await step('fresh', {}, `f${i}`);
  fresh.push(fr);
  console.log(row(`fresh runner #${i}`, fr));
  console.log(`  saved ${fr.saved.join('; ')}`);
  changeOneLine(svc);
  const pe = await step('persistent', { 'cache-mounts': 'false' }, `p${i}`);
  persistent.push(pe);
  console.log(row(`persistent builder #${i}`, pe));
}

const med = (xs: Phases[], k: Exclude<keyof Phases, 'saved'>) => median(xs.map((p) => p[k]));
const state = mountEntries();
console.log('');
console.log(
  `median whole step: fresh ${f(med(fresh, 'total'))} s, persistent ${f(med(persistent, 'total'))} s: ${(med(fresh, 'total') / med(persistent, 'total')).toFixed(2)}x (target <= 2.0x)`,
);
console.log(
  `median build alone: fresh ${f(med(fresh, 'build'))} s, persistent ${f(med(persistent, 'build'))} s: ${(med(fresh, 'build') / med(persistent, 'build')).toFixed(2)}x`,
);
console.log(
  `bytes uploaded by a warm run (median, compressed): ${(med(fresh, 'uploaded') / 1048576).toFixed(2)} MiB = ${((100 * med(fresh, 'uploaded')) / fullEntry).toFixed(1)}% of the full mount state (${(fullEntry / 1048576).toFixed(1)} MiB) (target <= 10%)`,
);
console.log(
  `cache storage after ${WARM_RUNS} warm runs: ${(committedBytes() / 1048576).toFixed(1)} MiB in ${state.length} entries = ${(committedBytes() / fullEntry).toFixed(2)}x one full entry (target <= 2.5x after 20)`,
);
console.log(
  `cold build on the fresh runner: ${f(cold.build)} s build, ${f(cold.total)} s whole step`,
);

// Restore alone, in this process, through the real client: the newest full entry plus its newest
// delta against one full entry of the same total size (the merged state saved as a full entry of a
// second stand-in), three times each, alternating.
const work = mkdtempSync(path.join(tmpdir(), 'bgi-fresh-restore-'));
Object.assign(process.env, { RUNNER_TEMP: work, GITHUB_WORKSPACE: work });
const quiet: Logger = { ...consoleLogger(), info: () => {} };
const single = await startCacheServer();
const gocacheKey = state.find((e) => e.key.startsWith('build-go-image-cm-v1-'))!.key;
const prefix = gocacheKey.replace(/-[^-]+-[^-]+$/, '-');
const restoreOnce = async (server: typeof cache, n: number) => {
  Object.assign(process.env, server.env());
  const dir = path.join(work, `r${n}`);
  mkdirSync(dir, { recursive: true });
  const t = process.hrtime.bigint();
  const r = await withTransferPath(600_000, () =>
    restoreState({
      key: `${prefix}none`,
      restoreKeys: [prefix],
      dir,
      manifestFile: path.join(dir, 'manifest.json'),
      deadline: Date.now() + 600_000,
      label: 'gocache',
      log: quiet,
    }),
  );
  return { seconds: Number(process.hrtime.bigint() - t) / 1e9, r, dir };
};
const merged = await restoreOnce(cache, 0);
Object.assign(process.env, single.env());
const sameSize = path.join(tmpdir(), 'build-go-image-cache-mount', 'content.tar');
await withTransferPath(600_000, async () => {
  mkdirSync(path.dirname(sameSize), { recursive: true });
  renameSync(merged.r.tarFile!, sameSize);
  await saveCache([sameSize], `${prefix}single`);
});
const withDelta: number[] = [];
const alone: number[] = [];
for (let i = 1; i <= 3; i++) {
  withDelta.push((await restoreOnce(cache, i)).seconds);
  alone.push((await restoreOnce(single, 10 + i)).seconds);
}
console.log(
  `restore of full + delta (${merged.r.deltaKey ? 'with' : 'WITHOUT'} a delta): ${f(median(withDelta))} s; one full entry of the same total size: ${f(median(alone))} s: ${(median(withDelta) / median(alone)).toFixed(2)}x (target <= 1.2x)`,
);
await single.close();
rmSync(work, { recursive: true, force: true });

writeFileSync(
  path.join(tmpdir(), `bgi-fresh-runner-${process.pid}.json`),
  JSON.stringify({
    cold,
    fresh,
    persistent,
    fullEntry,
    entries: state.map((e) => [e.key, e.data.length]),
  }),
);
await cache.close();
