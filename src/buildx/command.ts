// How a docker command line is started. `docker buildx <cmd>` starts three programs: the docker
// CLI, the buildx plugin once for its metadata, and the plugin again for the command (measured on a
// 2-core runner: ~0.18 s of a 0.85 s empty build, on every call; the cache-mount transfer makes two
// helper builds per run besides the build itself). buildx also runs standalone, reading the same
// Docker config, contexts and environment (docker/actions-toolkit runs it so too), so the plugin
// docker would pick is started directly, as `docker-buildx <cmd>`.
import { accessSync, constants, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile, type ExecOptions, type ExecResult } from '../io/exec.ts';

/** Where the docker CLI looks for plugins on Linux and macOS, after the user's own folders. */
const SYSTEM_PLUGIN_DIRS = [
  '/usr/local/lib/docker/cli-plugins',
  '/usr/local/libexec/docker/cli-plugins',
  '/usr/lib/docker/cli-plugins',
  '/usr/libexec/docker/cli-plugins',
];

/**
 * The folders the docker CLI searches for plugins, in its order: <config dir>/cli-plugins, the
 * config file's cliPluginsExtraDirs, then the system folders.
 */
export function pluginDirs(
  env: NodeJS.ProcessEnv = process.env,
  systemDirs: string[] = SYSTEM_PLUGIN_DIRS,
): string[] {
  const configDir = env['DOCKER_CONFIG'] || path.join(os.homedir(), '.docker');
  let extra: string[] = [];
  try {
    const config = JSON.parse(readFileSync(path.join(configDir, 'config.json'), 'utf8')) as {
      cliPluginsExtraDirs?: unknown;
    };
    if (Array.isArray(config.cliPluginsExtraDirs))
      extra = config.cliPluginsExtraDirs.filter((d): d is string => typeof d === 'string');
  } catch {
    // No config file (or not JSON): docker itself then uses its defaults too.
  }
  return [path.join(configDir, 'cli-plugins'), ...extra, ...systemDirs];
}

/** The buildx plugin docker would run, or undefined (docker then finds none either, or not here). */
export function findBuildxPlugin(dirs: string[] = pluginDirs()): string | undefined {
  if (process.platform === 'win32') return undefined;
  for (const dir of dirs) {
    const file = path.join(dir, 'docker-buildx');
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // Not here: docker looks on.
    }
  }
  return undefined;
}

let found: string | null | undefined;

/**
 * The program and arguments for `docker <args>`: `buildx` commands go to the plugin directly
 * (`buildx`: that plugin, null for none; found once per process by default).
 */
export function dockerCommand(
  args: string[],
  buildx: string | null = (found ??= findBuildxPlugin() ?? null),
): { file: string; args: string[] } {
  if (args[0] === 'buildx' && buildx) return { file: buildx, args: args.slice(1) };
  return { file: 'docker', args };
}

/** Runs `docker <args>` (see dockerCommand). */
export function docker(args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const c = dockerCommand(args);
  return execFile(c.file, c.args, opts);
}
