// The real build engine for end-to-end tests (scripts/build-engine.sh). Without it a test skips,
// except in CI, where a skipped end-to-end test would hide a broken suite: there it fails.
import { existsSync, readFileSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { randomBytes } from 'node:crypto';
import { execFile } from '../../src/io/exec.ts';
import { ROOT } from './run-action.ts';

export interface EngineInfo {
  registry: string;
  baseRegistry: string;
  goVersion: string;
}

const ENV_FILE = `${process.env['BGI_ENGINE_PREFIX'] ?? '/opt/build-go-image-engine'}/engine.env`;

/** The variables `scripts/build-engine.sh up` wrote (registry, base registry, published Go). */
export function readEngineEnv(): Record<string, string> {
  return Object.fromEntries(
    [...readFileSync(ENV_FILE, 'utf8').matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [
      m[1]!,
      m[2]!.replace(/^'|'$/g, ''),
    ]),
  );
}

export async function requireEngine(t: TestContext): Promise<EngineInfo | undefined> {
  const probe = await probeEngine();
  if (!probe.engine) t.skip(probe.reason);
  return probe.engine;
}

/** The engine if it is ready; in CI its absence is an error, elsewhere a reason to skip. */
export async function probeEngine(): Promise<{ engine?: EngineInfo; reason: string }> {
  let reason = '';
  if (!existsSync(ENV_FILE))
    reason = `${ENV_FILE} is missing: run "bash scripts/build-engine.sh up" as root`;
  else {
    const r = await execFile('docker', ['buildx', 'version'], { allowFailure: true }).catch(
      (e: unknown) => ({ exitCode: 1, stderr: String(e) }),
    );
    if (r.exitCode !== 0) reason = `docker buildx does not answer: ${r.stderr.trim()}`;
  }
  if (!reason) {
    const vars = readEngineEnv();
    const res = await fetch(
      `http://${(vars['BGI_REGISTRY'] ?? 'localhost:5000').replace('localhost', '127.0.0.1')}/v2/`,
    ).catch(() => undefined);
    if (res?.status === 200)
      return {
        engine: {
          registry: vars['BGI_REGISTRY']!,
          baseRegistry: vars['BGI_BASE_REGISTRY']!,
          goVersion: vars['BGI_GO_VERSION']!,
        },
        reason: '',
      };
    reason = 'the local registry does not answer';
  }
  if (process.env['CI'] === 'true')
    throw new Error(
      `end-to-end tests must run in CI, but the build engine is not ready: ${reason}`,
    );
  return { reason };
}

export function uniqueRepo(engine: EngineInfo, prefix: string): string {
  return `${engine.registry}/${prefix}-${randomBytes(4).toString('hex')}/go-service`;
}

/** Builds a context for both platforms and pushes it (no attestations), for fixtures and benches. */
export async function pushBothPlatforms(context: string, ref: string): Promise<string> {
  await execFile('docker', [
    ...['buildx', 'build', '--platform', 'linux/amd64,linux/arm64', '--provenance=false'],
    ...['--tag', ref, '--push', context],
  ]);
  return ref;
}

/**
 * The BuildKit image docker-container builders run here (`build-engine.sh buildkit-image`, built
 * from Debian's sources: no registry on the internet is reachable). Required in CI, like the engine.
 */
export function requireBuildKitImage(t: TestContext): string | undefined {
  const image = readEngineEnv()['BGI_BUILDKIT_IMAGE'];
  if (image) return image;
  const reason = 'no BuildKit image: run "bash scripts/build-engine.sh buildkit-image" as root';
  if (process.env['CI'] === 'true') throw new Error(`end-to-end tests must run in CI: ${reason}`);
  t.skip(reason);
  return undefined;
}

/**
 * Two golang images of one Go minor a patch apart (`build-engine.sh up` picks them from the Debian
 * mirror, so the versions move with it): the older, the newer and the platforms both have.
 * Required in CI, like the engine.
 */
export function requireGoPatchImages(
  t: TestContext,
): { from: string; to: string; platforms: string } | undefined {
  const vars = readEngineEnv();
  const [from, to, platforms] = [
    vars['BGI_GO_PATCH_FROM'],
    vars['BGI_GO_PATCH_TO'],
    vars['BGI_GO_PATCH_PLATFORMS'],
  ];
  if (from && to && platforms) return { from, to, platforms };
  const reason =
    'no golang images a Go patch apart (BGI_GO_PATCH_FROM/TO): run "bash scripts/build-engine.sh up" as root; its log says why when the Debian mirror has none';
  if (process.env['CI'] === 'true') throw new Error(`end-to-end tests must run in CI: ${reason}`);
  t.skip(reason);
  return undefined;
}

/**
 * A second, independent engine (`build-engine.sh second-up`), stopped when the test ends: another
 * runner on this machine. `classic` gives it Docker's classic image store. Returns its DOCKER_HOST
 * and exec options that point the docker CLI at it.
 */
export async function startSecondEngine(t: TestContext, mode?: 'classic') {
  const script = `${ROOT}/scripts/build-engine.sh`;
  const up = await execFile('bash', [script, 'second-up', ...(mode ? [mode] : [])]);
  t.after(() => execFile('bash', [script, 'second-down'], { allowFailure: true }));
  const host = up.stdout.trim().split('\n').pop()!;
  if (!host.startsWith('unix://')) throw new Error(`second-up printed no socket: ${up.stdout}`);
  return { host, onEngine: { env: { ...process.env, DOCKER_HOST: host } } };
}
