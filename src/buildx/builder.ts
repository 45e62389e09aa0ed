// Which builder runs the build, what it can build, and a docker-container builder of our own when
// the current one cannot build several platforms (the docker driver without containerd's store).
import { InputError, getErrorMessage } from '../errors.ts';
import { execFile } from '../io/exec.ts';
import { docker } from './command.ts';
import {
  type EngineVersions,
  checkVersions,
  parseBuildKitVersion,
  parseBuildxVersion,
  plainVersion,
} from './versions.ts';

export interface BuilderNode {
  name: string;
  endpoint: string;
  /** Platforms the node was created for (`docker buildx create --platform`), starred by inspect. */
  configured: string[];
  /** Everything the node can build, configured ones first, as inspect lists them. */
  platforms: string[];
  /** The node's BuildKit version, when it reports one (Debian's dockerd reports none). */
  buildkit?: string;
}

export interface BuilderInfo {
  name: string;
  driver: string;
  /** The first node's platforms (most builders have one node). */
  platforms: string[];
  /** The platform the first node runs on natively (first in its list). */
  nativePlatform: string;
  /** Every node; a builder made with `docker buildx create --append` has one per machine. */
  nodes: BuilderNode[];
}

/** Parses `docker buildx inspect` text output: the builder's header, then one block per node. */
export function parseBuilderInspect(text: string): BuilderInfo {
  const field = (block: string, k: string) =>
    new RegExp(`^${k}:\\s*(.*)$`, 'm').exec(block)?.[1]?.trim() ?? '';
  const at = text.search(/^Nodes:\s*$/m);
  const header = at < 0 ? text : text.slice(0, at);
  const body = at < 0 ? text : text.slice(at);
  const nodes = body
    .split(/^(?=Name:)/m)
    .filter((block) => block.startsWith('Name:'))
    .map((block): BuilderNode => {
      const listed = field(block, 'Platforms')
        .split(',')
        .map((p) => p.trim())
        .filter(Boolean);
      // buildx 0.10-0.11 label it "Buildkit", 0.12 onward "BuildKit version".
      const buildkit = parseBuildKitVersion(
        field(block, 'BuildKit version') || field(block, 'Buildkit'),
      );
      return {
        name: field(block, 'Name'),
        endpoint: field(block, 'Endpoint'),
        configured: listed.filter((p) => p.endsWith('*')).map((p) => p.slice(0, -1)),
        platforms: listed.map((p) => p.replace(/\*$/, '')),
        ...(buildkit ? { buildkit } : {}),
      };
    });
  const platforms = nodes[0]?.platforms ?? [];
  return {
    name: field(header, 'Name'),
    driver: field(header, 'Driver'),
    platforms,
    nativePlatform: platforms[0] ?? 'linux/amd64',
    nodes,
  };
}

/**
 * Fails fast, before any work, when the engine cannot be used: no docker CLI, no engine behind
 * DOCKER_HOST or the context, or an engine that does not answer.
 */
export async function checkEngine(env: NodeJS.ProcessEnv, timeoutMs = 60_000): Promise<string> {
  const where = env['DOCKER_HOST']
    ? `DOCKER_HOST=${env['DOCKER_HOST']}`
    : 'the current docker context';
  let r;
  try {
    r = await execFile('docker', ['version', '--format', '{{.Server.Version}}'], {
      allowFailure: true,
      timeoutMs,
      env,
    });
  } catch (e) {
    throw new Error(
      `the docker CLI could not be started (${getErrorMessage(e)}): install Docker on the runner or put docker on PATH`,
      { cause: e },
    );
  }
  if (r.timedOut)
    throw new Error(
      `the Docker engine at ${where} did not answer within ${Math.round(timeoutMs / 1000)} s: check that the daemon is running and not overloaded`,
    );
  const version = r.stdout.trim();
  if (r.exitCode !== 0 || !/^\d+\.\d+/.test(version)) {
    const why = (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' ').slice(0, 400);
    throw new Error(
      `the Docker engine at ${where} cannot be used (${why || `exit code ${r.exitCode}`}): start Docker, or point DOCKER_HOST or the docker context at a running engine`,
    );
  }
  return version;
}

/** The buildx version, or undefined when buildx does not run. */
export async function buildxVersion(): Promise<string | undefined> {
  const r = await docker(['buildx', 'version'], { allowFailure: true }).catch(() => undefined);
  return r?.exitCode === 0 ? (parseBuildxVersion(r.stdout) ?? '0.0.0') : undefined;
}

/**
 * The engine's and buildx's versions, read once before any work; fails with the fix when either
 * is missing or older than the action supports.
 */
export async function readEngineVersions(env: NodeJS.ProcessEnv): Promise<EngineVersions> {
  const server = await checkEngine(env);
  const buildx = await buildxVersion();
  if (!buildx)
    throw new Error(
      'docker buildx is not available: add docker/setup-buildx-action before this step (https://github.com/docker/setup-buildx-action)',
    );
  const versions = { docker: plainVersion(server) ?? server, buildx };
  const tooOld = checkVersions(versions);
  if (tooOld) throw new Error(tooOld);
  return versions;
}

export async function inspectBuilder(name?: string, timeoutMs = 180_000): Promise<BuilderInfo> {
  const r = await docker(['buildx', 'inspect', ...(name ? [name] : []), '--bootstrap'], {
    allowFailure: true,
    timeoutMs,
  });
  if (r.exitCode !== 0 || r.timedOut) {
    const why = r.timedOut
      ? `no answer within ${Math.round(timeoutMs / 1000)} s`
      : r.stderr.trim().split('\n').slice(-3).join(' ').slice(0, 400);
    if (name)
      throw new InputError(
        'builder',
        `builder "${name}" cannot be used (${why}): list the builders with "docker buildx ls", or leave builder empty to use the current one`,
      );
    throw new Error(
      `the current buildx builder cannot be used (${why}): select a working one with "docker buildx use" or the builder input`,
    );
  }
  return parseBuilderInspect(r.stdout);
}

/**
 * Whether helper builds on this builder run with this machine's network, so that the loopback
 * channel of cachemounts/transport/loopback.ts reaches them: the docker driver of a local engine
 * (a unix socket), or a docker-container builder whose BuildKit containers on that engine share
 * the host's network (`network=host`, for which buildx also allows the network.host entitlement).
 * A builder on its own bridge network is not reached this way: its 127.0.0.1 is not this machine's.
 */
export async function sharesHostNetwork(
  info: BuilderInfo,
  dockerHost: string | undefined,
): Promise<boolean> {
  if (dockerHost && !dockerHost.startsWith('unix://')) return false;
  if (info.driver === 'docker') return true;
  if (info.driver !== 'docker-container' || info.nodes.length === 0) return false;
  for (const node of info.nodes) {
    // buildx names each node's container so; one on another engine is not found here.
    const r = await execFile(
      'docker',
      ['inspect', '--format', '{{.HostConfig.NetworkMode}}', `buildx_buildkit_${node.name}`],
      { allowFailure: true },
    ).catch(() => undefined);
    if (r?.exitCode !== 0 || r.stdout.trim() !== 'host') return false;
  }
  return true;
}

/** The docker driver can build multi-platform images only with the containerd image store. */
export async function dockerUsesContainerdStore(): Promise<boolean> {
  const r = await execFile('docker', ['info', '--format', '{{json .DriverStatus}}'], {
    allowFailure: true,
  });
  return r.stdout.includes('io.containerd.snapshotter');
}

export function canBuildMultiPlatform(info: BuilderInfo, containerdStore: boolean): boolean {
  return info.driver !== 'docker' || containerdStore;
}

export async function createContainerBuilder(
  name: string,
  driverOpts: string[] = [],
): Promise<void> {
  const r = await docker(
    [
      ...['buildx', 'create', '--name', name, '--driver', 'docker-container'],
      ...driverOpts.flatMap((o) => ['--driver-opt', o]),
      '--bootstrap',
    ],
    { allowFailure: true, timeoutMs: 300_000 },
  );
  if (r.exitCode !== 0 || r.timedOut) {
    const why = r.timedOut
      ? 'no answer within 300 s'
      : (r.stderr || r.stdout).trim().split('\n').slice(-3).join(' ').slice(0, 400);
    throw new Error(
      `a docker-container builder could not be started (${why}): set driver-opts (image=<a BuildKit image the runner can pull>), use a builder that can build several platforms (builder input, docker/setup-buildx-action), or enable the containerd image store of the docker driver`,
    );
  }
}

/** Removes a builder this action created; says why when it could not. */
export async function removeBuilder(name: string): Promise<void> {
  const r = await docker(['buildx', 'rm', '--force', name], {
    allowFailure: true,
    timeoutMs: 120_000,
  });
  if (r.exitCode !== 0 && !/not found|no builder/i.test(r.stderr))
    throw new Error((r.stderr || r.stdout).trim().split('\n').slice(-2).join(' ') || 'failed');
}
