// The builder and emulation phase: which builder runs the build (a docker-container builder of its
// own when the current one cannot build several platforms), its BuildKit checked, and how each
// platform runs on the node buildx sends it to: natively, or emulated, QEMU registered if missing.
import type { Inputs } from '../inputs.ts';
import type { Logger } from '../log.ts';
import {
  canBuildMultiPlatform,
  createContainerBuilder,
  dockerUsesContainerdStore,
  inspectBuilder,
  type BuilderInfo,
} from './builder.ts';
import { nodeGroups, type NodeGroup } from './nodes.ts';
import {
  binfmtRegistered,
  installBinfmt,
  nodeArch,
  platformRuns,
  type PlatformRun,
} from './qemu.ts';
import { checkBuildKitVersions, describeEngine, type EngineVersions } from './versions.ts';

export interface BuilderSetup {
  /** The builder buildx commands name; undefined for the current one. */
  name?: string;
  info: BuilderInfo;
  /** The requested platforms by the node that builds them. */
  groups: NodeGroup[];
  /** How each requested platform runs, in the order requested. */
  runs: PlatformRun[];
  /** Docker, buildx and BuildKit versions, as the summary shows them. */
  engine: string;
}

/** A builder name of this run and process; post accepts only names of this form to remove. */
export function containerBuilderName(runId: string, pid: number): string {
  return `build-go-image-${runId.replace(/[^a-z0-9]/gi, '')}-${pid}`.toLowerCase();
}

/**
 * Each requested platform on the node that builds it: native when it is the node's own
 * architecture, emulated when the node lists it or a binfmt handler is `registered`, else missing.
 */
export function platformRunsOn(
  info: BuilderInfo,
  groups: NodeGroup[],
  requested: string[],
  registered: (arch: string) => boolean,
  hostArch: string,
): PlatformRun[] {
  const runs = groups.flatMap((g) => {
    const node = info.nodes.find((n) => n.name === g.node) ?? info.nodes[0];
    const listed = node?.platforms ?? info.platforms;
    return platformRuns(
      g.platforms,
      listed[0]?.split('/')[1] ?? hostArch,
      (a) => registered(a) || listed.some((p) => p.split('/')[1] === a),
    );
  });
  return runs.sort((a, b) => requested.indexOf(a.platform) - requested.indexOf(b.platform));
}

export async function setUpBuilder(opts: {
  inputs: Inputs;
  versions: EngineVersions;
  runId: string;
  log: Logger;
  /** Told a builder's name before it is created, so that one cancelled mid-creation is removed. */
  onCreate: (name: string) => void;
}): Promise<BuilderSetup> {
  const { inputs, log } = opts;
  let name = inputs.builder || undefined;
  let info = await inspectBuilder(name);
  if (
    inputs.platforms.length > 1 &&
    !canBuildMultiPlatform(info, await dockerUsesContainerdStore())
  ) {
    const created = containerBuilderName(opts.runId, process.pid);
    log.info(
      `builder ${info.name} (driver ${info.driver}) cannot build several platforms; creating docker-container builder ${created}`,
    );
    opts.onCreate(created);
    await createContainerBuilder(created, inputs.driverOpts);
    name = created;
    info = await inspectBuilder(created);
  }
  const oldBuildKit = checkBuildKitVersions(info.nodes);
  if (oldBuildKit) throw new Error(oldBuildKit);
  const engine = describeEngine(
    opts.versions,
    info.nodes.map((n) => n.buildkit),
  );
  log.info(`engine: ${engine} (builder ${info.name}, driver ${info.driver})`);
  const groups = nodeGroups(info, inputs.platforms);
  const runs = platformRunsOn(info, groups, inputs.platforms, binfmtRegistered, nodeArch());
  if (groups.length > 1)
    log.info(
      `builder ${info.name} has a node per platform: ${groups.map((g) => `${g.node} builds ${g.platforms.join(', ')}`).join('; ')}`,
    );
  const missing = runs.filter((r) => r.how === 'missing').map((r) => r.platform.split('/')[1]!);
  if (missing.length > 0) {
    log.info(`registering QEMU for ${missing.join(', ')} with ${inputs.binfmtImage}`);
    await installBinfmt(inputs.binfmtImage, missing);
    for (const r of runs) if (r.how === 'missing') r.how = 'emulated';
  }
  return { name, info, groups, runs, engine };
}
