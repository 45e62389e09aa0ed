// The main step: inputs -> Go version -> image check -> advice -> builder and QEMU -> cache-mount
// restore -> build -> outputs, size report and summary. Fails fast on input that cannot work.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { adviceStep } from './advice/step.ts';
import { buildExtras } from './go/private.ts';
import { buildxArgs, secretEnv } from './buildx/args.ts';
import { secretValuesToMask } from './buildx/secrets.ts';
import {
  canBuildMultiPlatform,
  readEngineVersions,
  createContainerBuilder,
  dockerUsesContainerdStore,
  inspectBuilder,
  sharesHostNetwork,
} from './buildx/builder.ts';
import { runBuild } from './buildx/build.ts';
import { withPushExplanation } from './buildx/push-failure.ts';
import { binfmtRegistered, installBinfmt, nodeArch, platformRuns } from './buildx/qemu.ts';
import { nodeGroups } from './buildx/nodes.ts';
import { checkBuildKitVersions, describeEngine } from './buildx/versions.ts';
import {
  cacheMountsFromInput,
  discoverCacheMounts,
  type CacheMount,
} from './cachemounts/discover.ts';
import { restoreCacheMounts, type CacheRestoreState } from './cachemounts/index.ts';
import { parseDockerfile, type Dockerfile } from './dockerfile/parse.ts';
import { getErrorMessage } from './errors.ts';
import { goVersionStep } from './go/step.ts';
import { readInputs, type Inputs } from './inputs.ts';
import type { Host } from './host.ts';
import { mergeStep } from './merge/step.ts';
import { partTagFor, writePart, repositoryOf } from './merge/parts.ts';
import {
  measurePushedImage,
  postReportFile,
  readBaseline,
  reportSizes,
} from './sizereport/step.ts';
import { RegistryClient } from './registry/client.ts';
import { parseLimit } from './sizereport/budgets.ts';
import { knownLayerSizes, measureImage, type ImageSizeReport } from './sizereport/measure.ts';
import { ociLayoutSource } from './sizereport/sources.ts';
import {
  estimatePushedSizes,
  layoutDir,
  loadNameFor,
  localExportFor,
  localExportOverrides,
  saveLoadedImage,
} from './sizereport/local-build.ts';
import { checkInputDirectory, checkInputFile, readInputFile } from './io/files.ts';
import { proxyCredentials, releaseSourceCredentials } from './secrets.ts';
import type { MainState } from './state.ts';
import { renderSummary, type SummaryFacts } from './summary.ts';

const UNTRUSTED_EVENTS = new Set(['pull_request_target', 'workflow_run', 'issue_comment']);

function goSumHash(context: string): string {
  const h = createHash('sha256');
  let found = false;
  const walk = (dir: string, depth: number) => {
    if (depth > 6) return;
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      if (e.name === '.git' || e.name === 'node_modules' || e.name === 'vendor') continue;
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p, depth + 1);
      else if (e.name === 'go.sum' || e.name === 'go.work.sum') {
        found = true;
        h.update(p.slice(context.length)).update(readFileSync(p));
      }
    }
  };
  walk(context, 0);
  return found ? h.digest('hex').slice(0, 16) : 'nosum';
}

function readDockerfile(inputs: Inputs): Dockerfile {
  const file = inputs.file || path.join(inputs.context, 'Dockerfile');
  checkInputDirectory('context', inputs.context, 'give the directory to build');
  const text = readInputFile('file', file, {
    maxBytes: 1024 * 1024,
    what: 'the Dockerfile',
    fix: inputs.file ? "give the Dockerfile's path" : 'add a Dockerfile to the context or set file',
  });
  // secret-files are read by buildx; a wrong path is told here, with the input, before any work.
  for (const s of inputs.secretFiles)
    checkInputFile(
      'secret-files',
      s.slice(s.indexOf('=') + 1),
      'give id=path of a file on the runner',
    );
  return parseDockerfile(text, file);
}

/** This run's scratch directory under RUNNER_TEMP (which the runner empties after the job). */
function makeWorkDir(env: NodeJS.ProcessEnv): string {
  const dir = path.join(
    env['RUNNER_TEMP'] || path.join(process.cwd(), '.tmp'),
    `build-go-image-${process.pid}`,
  );
  mkdirSync(dir, { recursive: true });
  return dir;
}

export async function runMain(host: Host): Promise<void> {
  const { log, env } = host;
  // Masked before anything can fail and print it.
  const token = host.input('github-token');
  if (token) host.setSecret(token);
  const privateToken = host.input('go-private-token');
  if (privateToken) host.setSecret(privateToken);
  for (const c of proxyCredentials(env)) host.setSecret(c);
  for (const c of releaseSourceCredentials(host.input, env)) host.setSecret(c);
  // Secret values are masked before validation, which may print the input it rejects.
  // Same parser as the build's (src/buildx/secrets.ts): the masked value is the value passed.
  for (const v of secretValuesToMask(host.input('secrets'))) host.setSecret(v);
  const inputs = readInputs(host.input);
  if (inputs.reportFile) {
    await postReportFile(host, inputs);
    return;
  }
  const budgets = {
    warn: parseLimit('size-warn', inputs.sizeWarn),
    fail: parseLimit('size-fail', inputs.sizeFail),
    max: parseLimit('size-max', inputs.sizeMax, false),
  };
  if (inputs.merge) {
    await mergeStep(host, inputs, new RegistryClient(), budgets, makeWorkDir(env));
    return;
  }
  const dockerfile = readDockerfile(inputs);
  const mounts: CacheMount[] =
    inputs.cacheMounts === 'false' || inputs.noCache
      ? []
      : inputs.cacheMounts === 'auto'
        ? discoverCacheMounts(dockerfile, inputs.buildArgs)
        : cacheMountsFromInput(inputs.cacheMounts);
  const versions = await readEngineVersions(env);

  const eventName = env['GITHUB_EVENT_NAME'] ?? '';
  const state: MainState = {
    phase: 'started',
    cacheSaveAllowed: !UNTRUSTED_EVENTS.has(eventName) || inputs.cacheOnUntrustedEvents,
    sizeLimitBytes: inputs.cacheSizeLimitMiB * 1024 * 1024,
    cacheTimeoutMs: inputs.cacheTimeoutSeconds * 1000,
  };
  host.saveState(state);
  const facts: SummaryFacts = { platforms: [], cacheMounts: [], tags: inputs.tags };

  // Outside Actions (the CLI) there is no run id: the time stands in, once for the whole run.
  const runId = env['GITHUB_RUN_ID'] ?? String(Date.now());
  const buildArgs = new Map(inputs.buildArgs);
  const registry = new RegistryClient();
  // Secrets, proxy args and CAs the action hands to the build (see src/go/private.ts).
  const workDir = makeWorkDir(env);
  const extras = buildExtras(inputs, env, workDir);
  for (const [k, v] of extras.buildArgs) if (!buildArgs.has(k)) buildArgs.set(k, v);
  for (const n of extras.notes) log.info(n);

  // Go version: the user's explicit build-arg always wins.
  const go = await goVersionStep({ inputs, dockerfile, buildArgs, registry, env, log });
  const goVersion = go.version;
  facts.goFrom = go.from;
  if (go.image) {
    facts.goImage = go.image;
    host.setOutput('go-image', go.image);
  }
  if (go.minimum) host.setOutput('go-version-minimum', go.minimum);
  buildArgs.set(inputs.goVersionBuildArg, goVersion);
  facts.goVersion = goVersion;
  host.setOutput('go-version', goVersion);
  state.phase = 'resolved';
  host.saveState(state);

  await adviceStep({ inputs, dockerfile, buildArgs, extras, hostArch: nodeArch(), log });

  // Builder and emulation.
  let builder = inputs.builder || undefined;
  let info = await inspectBuilder(builder);
  if (
    inputs.platforms.length > 1 &&
    !canBuildMultiPlatform(info, await dockerUsesContainerdStore())
  ) {
    const name = `build-go-image-${runId.replace(/[^a-z0-9]/gi, '')}-${process.pid}`.toLowerCase();
    log.info(
      `builder ${info.name} (driver ${info.driver}) cannot build several platforms; creating docker-container builder ${name}`,
    );
    // Recorded before it exists: a step cancelled mid-creation still has post remove it.
    state.createdBuilder = name;
    host.saveState(state);
    await createContainerBuilder(name, inputs.driverOpts);
    builder = name;
    info = await inspectBuilder(name);
  }
  const oldBuildKit = checkBuildKitVersions(info.nodes);
  if (oldBuildKit) throw new Error(oldBuildKit);
  facts.engine = describeEngine(
    versions,
    info.nodes.map((n) => n.buildkit),
  );
  log.info(`engine: ${facts.engine} (builder ${info.name}, driver ${info.driver})`);
  // Each platform runs natively or emulated on the node buildx sends it to.
  const groups = nodeGroups(info, inputs.platforms);
  const runs = groups.flatMap((g) => {
    const node = info.nodes.find((n) => n.name === g.node) ?? info.nodes[0];
    const listed = node?.platforms ?? info.platforms;
    return platformRuns(
      g.platforms,
      listed[0]?.split('/')[1] ?? nodeArch(),
      (a) => binfmtRegistered(a) || listed.some((p) => p.split('/')[1] === a),
    );
  });
  runs.sort((a, b) => inputs.platforms.indexOf(a.platform) - inputs.platforms.indexOf(b.platform));
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
  facts.platforms = runs;

  // Cache mounts.
  let cacheState: CacheRestoreState | undefined;
  if (mounts.length > 0) {
    // Whether the helper builds can use the loopback channel (the faster path, builder.ts).
    const direct = await sharesHostNetwork(info, env['DOCKER_HOST']);
    cacheState = await log.group('Restore cache mounts', () =>
      restoreCacheMounts(
        mounts,
        {
          goVersion,
          goSumHash: goSumHash(inputs.context),
          platforms: inputs.platforms,
          userKey: inputs.cacheKey,
          runId,
          runAttempt: env['GITHUB_RUN_ATTEMPT'] ?? '1',
        },
        {
          builder,
          groups,
          direct,
          helperImage: inputs.cacheHelperImage,
          workDir,
          log,
          timeoutMs: inputs.cacheTimeoutSeconds * 1000,
        },
      ),
    );
    state.cache = cacheState;
    facts.cacheMounts = cacheState.mounts.map((m) => ({
      id: m.label,
      hit: m.hit,
      restoredBytes: m.restoredBytes,
    }));
    host.setOutput(
      'cache-hit',
      JSON.stringify(Object.fromEntries(cacheState.mounts.map((m) => [m.label, m.hit]))),
    );
  }
  state.phase = 'restored';
  state.buildStartedAt = Date.now();
  host.saveState(state);

  // Build.
  const metadataFile = path.join(workDir, 'metadata.json');
  const plan = {
    dockerfile: dockerfile.file,
    buildArgs,
    extraSecrets: extras.secrets,
    envBuildArgs: extras.envBuildArgs,
    partTag:
      inputs.pushByDigest && info.driver === 'docker'
        ? partTagFor(runId, inputs.platforms)
        : undefined,
    progress: host.buildProgress ?? 'plain',
  };
  if (plan.partTag)
    log.info(
      `the docker driver cannot push by digest alone: pushing under the per-run tag ${plan.partTag} (a docker-container or remote builder pushes untagged)`,
    );
  const buildEnv = { ...env, ...secretEnv(inputs), ...extras.env };
  const args = buildxArgs({ ...inputs, builder: builder ?? '' }, { ...plan, metadataFile });
  const result = await log.group(`Build ${inputs.platforms.join(', ')}`, () =>
    runBuild({
      args,
      env: buildEnv,
      metadataFile,
      onOutput: (c) => host.buildOutput(c),
      terminal: host.buildProgress === 'tty',
      onRetry: (next, attempts, why) =>
        log.warning(
          `the push failed with what looks like a passing registry error (${why}); building and pushing again, attempt ${next} of ${attempts} (every step is cached)`,
        ),
    }).catch(async (e: unknown) => {
      throw await withPushExplanation(e, registry);
    }),
  );
  state.phase = 'built';
  host.saveState(state);
  facts.buildSeconds = result.seconds;
  facts.digest = result.digest;
  host.setOutput('digest', result.digest);
  host.setOutput('imageid', result.imageId);
  host.setOutput('metadata', JSON.stringify(result.metadata));

  let head: ImageSizeReport | undefined;
  const baseline = inputs.sizeReport ? await readBaseline(host, inputs, registry) : {};
  const known = knownLayerSizes(baseline.base);
  if ((inputs.push || inputs.pushByDigest) && inputs.tags.length > 0) {
    head = await measurePushedImage(registry, inputs.tags[0]!, result.digest, log, known);
    if (head) {
      head.goVersion = goVersion;
      host.setOutput(
        'platform-digests',
        JSON.stringify(Object.fromEntries(head.platforms.map((p) => [p.platform, p.digest]))),
      );
    }
  }
  if (inputs.pushByDigest) {
    const partFile = writePart(workDir, {
      schema: 1,
      kind: 'build-go-image-part',
      repository: repositoryOf(inputs.tags[0]!),
      digest: result.digest,
      platforms: inputs.platforms,
      goVersion,
      report: head,
    });
    host.setOutput('part-file', partFile);
    log.info(`part file for the merge job: ${partFile}`);
  }
  if (!head && inputs.sizeReport && inputs.outputs.length === 0 && !inputs.pushByDigest) {
    // Nothing was pushed: export the same build (every step is a cache hit now) and measure the
    // build's own output (src/sizereport/local-build.ts: how, by driver and image store).
    const how = localExportFor(
      info.driver,
      info.driver === 'docker' && (await dockerUsesContainerdStore()),
    );
    const layout = layoutDir(workDir);
    const loadName = loadNameFor(runId);
    try {
      const exportArgs = buildxArgs(
        {
          ...inputs,
          builder: builder ?? '',
          push: false,
          ...localExportOverrides(how, layout, loadName),
        },
        { ...plan, metadataFile: path.join(workDir, 'metadata-oci.json') },
      );
      await log.group('Export the image as an OCI layout to measure it', () =>
        runBuild({
          args: exportArgs,
          env: buildEnv,
          metadataFile: path.join(workDir, 'metadata-oci.json'),
          onOutput: (c) => host.buildOutput(c),
          terminal: host.buildProgress === 'tty',
          attempts: 1,
        }),
      );
      if (how === 'load-and-save') await saveLoadedImage(loadName, layout, buildEnv);
      const source = ociLayoutSource(layout);
      head = await measureImage(source, inputs.tags[0] ?? 'image', { uncompressed: true, known });
      if (head && how === 'load-and-save') head = await estimatePushedSizes(head, source);
      if (head) head.goVersion = goVersion;
    } catch (e) {
      log.warning(
        `size report: the build could not be exported for measuring: ${getErrorMessage(e)}`,
      );
    }
  }
  host.summaryFacts?.(facts);
  await host.writeSummary(renderSummary(facts));
  if (inputs.sizeReport)
    await reportSizes(host, inputs, head, baseline, budgets, workDir, {
      // One platform of several: the merge job comments and keeps the baseline for all of them.
      part: inputs.pushByDigest,
    });
  state.phase = 'reported';
  host.saveState(state);
}

export type { Host } from './host.ts';
