// The Go version step of a build: the user's build-arg if set, else the newest patch of the
// module's Go that has a golang image for every platform.
import type { Dockerfile } from '../dockerfile/parse.ts';
import type { Inputs } from '../inputs.ts';
import type { Logger } from '../log.ts';
import type { RegistryClient } from '../registry/client.ts';
import { checkGoImage, releasesFromRegistryTags } from './image-check.ts';
import { resolveGoVersion } from './index.ts';
import { goProxySetting } from './sources.ts';
import { qualifyingReleases } from './resolve.ts';
import { formatGoVersion } from './version.ts';

export interface GoStepResult {
  version: string;
  /** The module's minimum; absent when the user pinned the build-arg. */
  minimum?: string;
  from: string;
  image?: string;
}

/** The step's outputs in the order set: the checked image, the module's minimum, the version. */
export function goVersionOutputs(go: GoStepResult): [string, string][] {
  return [
    ...(go.image ? [['go-image', go.image] as [string, string]] : []),
    ...(go.minimum ? [['go-version-minimum', go.minimum] as [string, string]] : []),
    ['go-version', go.version],
  ];
}

export async function goVersionStep(opts: {
  inputs: Inputs;
  dockerfile: Dockerfile;
  buildArgs: ReadonlyMap<string, string>;
  registry: RegistryClient;
  env: NodeJS.ProcessEnv;
  log: Logger;
}): Promise<GoStepResult> {
  const { inputs, dockerfile, buildArgs, registry, env, log } = opts;
  const userPinned = buildArgs.get(inputs.goVersionBuildArg);
  if (userPinned) {
    log.info(`Go version: ${userPinned} (build-arg ${inputs.goVersionBuildArg} set explicitly)`);
    return { version: userPinned, from: `build-args ${inputs.goVersionBuildArg}` };
  }
  const res = await log.group('Resolve Go version', async () => {
    const proxy = goProxySetting(inputs.goProxy, env);
    const r = await resolveGoVersion({
      context: inputs.context,
      goVersion: inputs.goVersion,
      goVersionFile: inputs.goVersionFile,
      sources: {
        releaseSource: inputs.goReleaseSource,
        goProxy: proxy.value,
        goProxyInput: proxy.input,
      },
      env,
    });
    for (const n of r.notices) log.notice(n);
    for (const w of r.warnings) log.warning(w);
    log.info(
      `Go ${formatGoVersion(r.version)}: newest release for ${r.from} (release list: ${r.source})`,
    );
    return r;
  });
  let chosen = res.version;
  let image: string | undefined;
  if (inputs.checkGoImage && res.source === 'none reachable') {
    // No release list: the images that exist tell which newer patches are out.
    const tags = await releasesFromRegistryTags(
      dockerfile,
      buildArgs,
      inputs.goVersionBuildArg,
      registry,
    ).catch(() => []);
    const fromTags = qualifyingReleases(res.minimum, tags);
    if (fromTags.length > 0) {
      res.candidates = fromTags;
      log.info(
        `Go release list unreachable; the golang image tags offer ${fromTags.map(formatGoVersion).join(', ')}`,
      );
    }
  }
  if (inputs.checkGoImage) {
    const check = await log.group('Check golang image', () =>
      checkGoImage({
        dockerfile,
        buildArgs,
        buildArgName: inputs.goVersionBuildArg,
        candidates: res.candidates,
        platforms: inputs.platforms,
        registry,
      }),
    );
    if (check) {
      for (const w of check.warnings) log.warning(w);
      chosen = check.version;
      image = check.images[0];
    }
  }
  return {
    version: formatGoVersion(chosen),
    minimum: formatGoVersion(res.minimum),
    from: res.from,
    image,
  };
}
