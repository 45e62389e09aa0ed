// The versions of the engine, buildx and BuildKit the action runs against, read once per run, and
// the oldest of each it supports. The minimums are the oldest engine the end-to-end suite runs on
// (scripts/build-engine.sh `oldest`: Docker 26.1, buildx 0.13, BuildKit 0.13); what the action
// relies on that older versions lack: multi-platform builds on the docker driver with the
// containerd image store, `--metadata-file` keys of buildx 0.13, cache mounts in the built-in
// frontend without a `# syntax=` line, and `buildx inspect` listing each node's BuildKit version.
import semver from 'semver';

export const MINIMUM_VERSIONS = { docker: '26.1.0', buildx: '0.13.0', buildkit: '0.13.0' };

export interface EngineVersions {
  /** The engine (dockerd) version as it reports it, e.g. 28.5.2 (distribution suffixes dropped). */
  docker: string;
  /** The buildx version, e.g. 0.29.1. */
  buildx: string;
}

/**
 * The plain version inside a version string as Docker tools print it: `28.5.2+dfsg4`,
 * `v0.13.1`, `0.29.1+ds1`, `v0.25.2-0.20251001`, or undefined when there is none.
 */
export function plainVersion(text: string): string | undefined {
  const m = /\bv?(\d+\.\d+(?:\.\d+)?)/.exec(text);
  if (!m) return undefined;
  return semver.coerce(m[1]!)?.version;
}

/**
 * `docker buildx version` prints `github.com/docker/buildx v0.13.1 <commit>` (releases) or
 * `github.com/docker/buildx 0.29.1 Debian 0.29.1+ds1-4` (distribution builds).
 */
export function parseBuildxVersion(output: string): string | undefined {
  const line = output.split('\n').find((l) => /buildx/.test(l)) ?? output;
  const word = line.trim().split(/\s+/)[1] ?? '';
  return plainVersion(word);
}

/**
 * A BuildKit version as `buildx inspect` reports it per node; distribution builds of dockerd carry
 * no version stamp (`v0.0.0+unknown`), which is not a version to compare.
 */
export function parseBuildKitVersion(field: string): string | undefined {
  const v = plainVersion(field);
  return v && v !== '0.0.0' ? v : undefined;
}

/** What the versions say about this run: an error with the fix, or nothing. */
export function checkVersions(v: EngineVersions): string | undefined {
  const old: string[] = [];
  if (semver.lt(v.docker, MINIMUM_VERSIONS.docker))
    old.push(
      `Docker engine ${v.docker} (needs ${MINIMUM_VERSIONS.docker} or newer: update Docker on the runner, e.g. docker/setup-docker-action)`,
    );
  if (semver.lt(v.buildx, MINIMUM_VERSIONS.buildx))
    old.push(
      `buildx ${v.buildx} (needs ${MINIMUM_VERSIONS.buildx} or newer: add docker/setup-buildx-action before this step)`,
    );
  if (old.length === 0) return undefined;
  return `this action needs a newer build engine: ${old.join('; ')}`;
}

/** The same for the BuildKit of each builder node that reports a version. */
export function checkBuildKitVersions(
  nodes: { name: string; buildkit?: string }[],
): string | undefined {
  const old = nodes.filter((n) => n.buildkit && semver.lt(n.buildkit, MINIMUM_VERSIONS.buildkit));
  if (old.length === 0) return undefined;
  return `builder node${old.length > 1 ? 's' : ''} ${old.map((n) => `${n.name} runs BuildKit ${n.buildkit}`).join(', ')}, older than ${MINIMUM_VERSIONS.buildkit}: recreate the builder with a newer BuildKit image (driver-opts image=moby/buildkit:<version>), or choose another builder`;
}

/** How the summary names the engine: `Docker 28.5.2, buildx 0.29.1, BuildKit 0.25.2`. */
export function describeEngine(v: EngineVersions, buildkit: (string | undefined)[]): string {
  const known = [...new Set(buildkit.filter((b): b is string => Boolean(b)))];
  const bk = known.length > 0 ? known.join(', ') : 'version not reported';
  return `Docker ${v.docker}, buildx ${v.buildx}, BuildKit ${bk}`;
}
