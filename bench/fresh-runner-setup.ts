// What the fresh-runner benchmarks share: a copy of the reference service, the cache stand-in, the
// action's inputs (both platforms, pushed to the local registry) and the wipe that makes a fresh
// runner (builder pruned, base and helper images removed so they come from the local registry), and
// one timed run of the action.
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFile } from '../src/io/exec.ts';
import { readEngineEnv } from '../__tests__/helpers/engine.ts';
import { startCacheServer } from '../__tests__/helpers/cache-server.ts';
import { runAction, type RunOptions, type StepResult } from '../__tests__/helpers/run-action.ts';

export async function freshRunnerSetup(name: string) {
  const env = readEngineEnv();
  const base = env['BGI_BASE_REGISTRY']!;
  const svc = mkdtempSync(path.join(tmpdir(), `bgi-${name}-svc-`));
  cpSync(path.join(import.meta.dirname, '..', 'examples', 'go-service'), svc, { recursive: true });
  const repo = `${env['BGI_REGISTRY']}/bench-${name}-${process.pid}/go-service`;
  const cache = await startCacheServer();
  const inputs = {
    context: svc,
    platforms: 'linux/amd64,linux/arm64',
    push: 'true',
    'build-args': `BASE_REGISTRY=${base}`,
    'cache-helper-image': `${base}/busybox:stable`,
    'cache-key': `bench-${process.pid}`,
    'github-token': '',
    comment: 'false',
  };
  /**
   * What a fresh hosted runner does not have: the base image and the helper image, under every tag
   * (another tag of the same image, golang:1.24 beside golang:1.24.4, would keep its layers in the
   * engine and make the pull free).
   */
  const runnerRepos = new Set([`${base}/golang`, `${base}/busybox`]);
  const wipe = async (): Promise<void> => {
    await execFile('docker', ['buildx', 'prune', '--all', '--force']);
    const listed = await execFile('docker', [
      'image',
      'ls',
      '--format',
      '{{.Repository}}:{{.Tag}}',
    ]);
    const images = listed.stdout
      .split('\n')
      .filter((ref) => runnerRepos.has(ref.slice(0, ref.lastIndexOf(':'))));
    if (images.length > 0)
      await execFile('docker', ['image', 'rm', '--force', ...images], { allowFailure: true });
    await execFile('sync', []);
  };
  return { svc, repo, cache, inputs, wipe };
}

/** One run of the action, main and post, timed as the runner would see them. */
export interface TimedRun {
  main: StepResult;
  post: StepResult;
  /** Seconds of the main step, of post, and both. */
  mainS: number;
  postS: number;
  total: number;
  /** The build's own time, from the job summary's row. */
  build: number;
  /** The golang base image's step in the build (pull and unpack on a fresh runner). */
  base: number;
  /** BuildKit's export of the layer cache to the Actions cache, in the build. */
  cacheExport: number;
}

/** Runs the action's main and post; throws with the end of their logs when either failed. */
export async function runTimed(opts: RunOptions, what: string): Promise<TimedRun> {
  const laps: number[] = [];
  let mark = process.hrtime.bigint();
  const lap = () => {
    const now = process.hrtime.bigint();
    laps.push(Number(now - mark) / 1e9);
    mark = now;
  };
  const r = await runAction({ ...opts, beforePost: lap });
  lap();
  if (r.main.exitCode !== 0 || r.post?.exitCode !== 0)
    throw new Error(
      `${what}: the action failed\n${r.main.stdout.slice(-3000)}\n${r.post?.stdout.slice(-2000)}`,
    );
  const buildRow = /Build time\s*\|\s*([\d.]+) s/.exec(r.main.summary);
  return {
    main: r.main,
    post: r.post,
    mainS: laps[0]!,
    postS: laps[1]!,
    total: laps[0]! + laps[1]!,
    build: buildRow ? Number(buildRow[1]) : NaN,
    base: stepSeconds(r.main.stdout, /^#(\d+) \[[^\]]*\] FROM \S*golang\S*/gm),
    cacheExport: stepSeconds(
      r.main.stdout,
      /^#(\d+) exporting (?:cache )?to GitHub Actions Cache/gm,
    ),
  };
}

/**
 * Seconds of the build steps whose header matches `header` (group 1: the step's number), summed,
 * from BuildKit's plain progress: "#5 [build 1/4] FROM .../golang:..." ... "#5 DONE 12.3s".
 */
function stepSeconds(log: string, header: RegExp): number {
  // A step's header comes again when its output resumes after another step's: each step once.
  const ids = new Set([...log.matchAll(header)].map((m) => m[1]));
  return [...ids].reduce((n, id) => {
    const done = new RegExp(`^#${id} DONE ([\\d.]+)s$`, 'm').exec(log);
    return n + (done ? Number(done[1]) : 0);
  }, 0);
}
