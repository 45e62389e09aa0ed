// Inputs -> argv of `docker buildx build`. Pure: the table-driven tests pin it down.
import type { Inputs } from '../inputs.ts';
import { repositoryOf } from '../merge/parts.ts';

export interface BuildPlan {
  dockerfile: string;
  buildArgs: Map<string, string>;
  metadataFile: string;
  /** Extra outputs (e.g. an OCI layout for measuring a build that pushes nothing). */
  extraOutputs?: string[];
  /** Secrets the action provides itself (netrc, CA bundle); values come from env or a file. */
  extraSecrets?: { id: string; env?: string; src?: string }[];
  /** Build-args passed by name only: buildx reads their values from its environment. */
  envBuildArgs?: string[];
  /**
   * push-by-digest on the `docker` driver, which cannot push untagged: the per-run tag to push
   * under instead (the merge step still works from the digest).
   */
  partTag?: string;
  /** buildx's progress display: plain lines (default), or its own `tty` display on a terminal. */
  progress?: 'plain' | 'tty';
  /** The layer cache the action keeps itself (src/buildx/layer-cache.ts), when the user sets none. */
  layerCache?: { from: string[]; to: string[] };
}

export function buildxArgs(inputs: Inputs, plan: BuildPlan): string[] {
  const a: string[] = ['buildx', 'build'];
  if (inputs.builder) a.push('--builder', inputs.builder);
  a.push('--file', plan.dockerfile);
  a.push('--platform', inputs.platforms.join(','));
  if (inputs.target) a.push('--target', inputs.target);
  for (const [k, v] of plan.buildArgs) a.push('--build-arg', `${k}=${v}`);
  // By name only: a proxy URL with credentials stays out of argv (and so out of `ps`).
  for (const k of plan.envBuildArgs ?? []) if (!plan.buildArgs.has(k)) a.push('--build-arg', k);
  // With push-by-digest the tags only name the repository; the merge step applies them.
  if (!inputs.pushByDigest) for (const t of inputs.tags) a.push('--tag', t);
  for (const l of inputs.labels) a.push('--label', l);
  for (const an of inputs.annotations) a.push('--annotation', an);
  inputs.secrets.forEach((s, i) => a.push('--secret', `id=${s.id},env=BGI_SECRET_${i}`));
  for (const s of inputs.secretFiles) {
    const eq = s.indexOf('=');
    a.push('--secret', `id=${s.slice(0, eq)},src=${s.slice(eq + 1)}`);
  }
  for (const s of plan.extraSecrets ?? [])
    a.push('--secret', s.env ? `id=${s.id},env=${s.env}` : `id=${s.id},src=${s.src}`);
  for (const s of inputs.ssh) a.push('--ssh', s);
  if (inputs.network) a.push('--network', inputs.network);
  for (const c of inputs.cacheFrom) a.push('--cache-from', c);
  for (const c of inputs.cacheTo) a.push('--cache-to', c);
  // Only ever instead of the user's own: cache-from or cache-to given turn it off.
  if (inputs.cacheFrom.length === 0 && inputs.cacheTo.length === 0) {
    for (const c of plan.layerCache?.from ?? []) a.push('--cache-from', c);
    for (const c of plan.layerCache?.to ?? []) a.push('--cache-to', c);
  }
  if (inputs.provenance) a.push(`--provenance=${inputs.provenance}`);
  if (inputs.sbom) a.push(`--sbom=${inputs.sbom}`);
  if (inputs.noCache) a.push('--no-cache');
  if (inputs.pull) a.push('--pull');
  if (inputs.pushByDigest) {
    // One platform image, pushed under its digest only; the merge step tags the joined index.
    const repos = [...new Set(inputs.tags.map(repositoryOf))];
    if (plan.partTag)
      a.push(
        '--output',
        `type=image,"name=${repos.map((r) => `${r}:${plan.partTag}`).join(',')}",push=true`,
      );
    else
      a.push(
        '--output',
        `type=image,"name=${repos.join(',')}",push-by-digest=true,name-canonical=true,push=true`,
      );
  } else if (inputs.outputs.length > 0) for (const o of inputs.outputs) a.push('--output', o);
  else if (inputs.push) a.push('--push');
  else if (inputs.load) a.push('--load');
  for (const o of plan.extraOutputs ?? []) a.push('--output', o);
  a.push('--metadata-file', plan.metadataFile);
  a.push('--progress', plan.progress ?? 'plain');
  // `--` ends the options: a context is never read as one, whatever its name (it is checked too).
  a.push('--', inputs.context);
  return a;
}

/** Secret values go to the child's environment, never into argv or a shell string. */
export function secretEnv(inputs: Inputs): Record<string, string> {
  const env: Record<string, string> = {};
  inputs.secrets.forEach((s, i) => {
    env[`BGI_SECRET_${i}`] = s.value;
  });
  return env;
}
