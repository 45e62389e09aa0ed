// The main step: inputs -> Go version -> advice -> builder and emulation -> cache-mount restore ->
// build -> outputs, size report and summary. Each phase is a function of its capability's folder
// that takes what it needs and returns what the next needs; this file only sequences them and
// records in the main -> post state (src/state.ts) how far it got. Fails fast on input that
// cannot work.
import { adviceStep } from './advice/step.ts';
import { readEngineVersions } from './buildx/builder.ts';
import { nodeArch } from './buildx/qemu.ts';
import { setUpBuilder } from './buildx/setup.ts';
import { buildPhase } from './buildx/step.ts';
import { layerCacheStep } from './buildx/layer-cache.ts';
import { cacheMountsToRestore, restorePhase } from './cachemounts/step.ts';
import { readBuildFiles } from './dockerfile/read.ts';
import { buildExtras, withExtraBuildArgs } from './go/private.ts';
import { goVersionOutputs, goVersionStep } from './go/step.ts';
import type { Host } from './host.ts';
import { readInputs } from './inputs.ts';
import { makeWorkDir } from './io/workdir.ts';
import { handOverPart } from './merge/parts.ts';
import { mergeStep } from './merge/step.ts';
import { RegistryClient } from './registry/client.ts';
import { maskSecrets } from './secrets.ts';
import { readBudgets } from './sizereport/budgets.ts';
import { measureHead } from './sizereport/head.ts';
import { knownLayerSizes } from './sizereport/measure.ts';
import { postReportFile, readBaseline, reportSizes } from './sizereport/step.ts';
import { initialState, stateWriter } from './state.ts';
import { renderSummary, summaryFactsOf } from './summary.ts';

export async function runMain(host: Host): Promise<void> {
  const { log, env } = host;
  // Inputs, with every secret masked before anything can fail and print it. Comment mode and
  // merge mode build nothing.
  maskSecrets(host);
  const inputs = readInputs(host.input);
  if (inputs.reportFile) return await postReportFile(host, inputs);
  const budgets = readBudgets(inputs);
  if (inputs.merge)
    return await mergeStep(host, inputs, new RegistryClient(), budgets, makeWorkDir(env));
  const dockerfile = readBuildFiles(inputs);
  const mounts = cacheMountsToRestore(inputs, dockerfile);
  const versions = await readEngineVersions(env);
  const first = initialState(inputs, env);
  const record = stateWriter((s) => host.saveState(s), first);
  // Outside Actions (the CLI) there is no run id: the time stands in, once for the whole run.
  const runId = env['GITHUB_RUN_ID'] ?? String(Date.now());
  const registry = new RegistryClient();
  const workDir = makeWorkDir(env);
  // Secrets, proxy args and CAs the action hands to the build (see src/go/private.ts).
  const extras = buildExtras(inputs, env, workDir);
  const buildArgs = withExtraBuildArgs(inputs.buildArgs, extras);
  for (const n of extras.notes) log.info(n);

  // Go version: the user's explicit build-arg always wins.
  const go = await goVersionStep({ inputs, dockerfile, buildArgs, registry, env, log });
  const goVersion = go.version;
  for (const [name, value] of goVersionOutputs(go)) host.setOutput(name, value);
  buildArgs.set(inputs.goVersionBuildArg, goVersion);
  record({ phase: 'resolved' });

  await adviceStep({ inputs, dockerfile, buildArgs, extras, hostArch: nodeArch(), log });

  // Recorded before it exists: a step cancelled mid-creation still has post remove it.
  const onCreate = (name: string) => record({ createdBuilder: name });
  const builder = await setUpBuilder({ inputs, versions, runId, log, onCreate });

  // The builder pulls the build's base images meanwhile; the build reports or stops that pull.
  const restoreOpts = { mounts, inputs, goVersion, runId, builder, workDir, dockerfile, buildArgs };
  const { cache, prefetch } = await restorePhase(host, restoreOpts);
  record({ phase: 'restored', cache, buildStartedAt: Date.now() });

  const saveAllowed = first.cacheSaveAllowed;
  const layerCache = await layerCacheStep({ inputs, env, versions, builder, saveAllowed, log });
  const built = await buildPhase(host, {
    inputs,
    prefetch,
    layerCache,
    builder,
    dockerfile,
    buildArgs,
    extras,
    runId,
    workDir,
    registry,
  });
  record({ phase: 'built', cacheStepsRan: built.cacheStepsRan });

  // Outputs, summary and size report; a part of a merged image hands its part file over.
  const baseline = inputs.sizeReport ? await readBaseline(host, inputs, registry) : {};
  const known = knownLayerSizes(baseline.base);
  const head = await measureHead(host, built, { goVersion, registry, known });
  if (inputs.pushByDigest) handOverPart(host, built, goVersion, head);
  const facts = summaryFactsOf({
    tags: inputs.tags,
    go,
    engine: builder.engine,
    platforms: builder.runs,
    cache,
    layerCache,
    cachedSteps: built.cachedSteps,
    build: built.result,
  });
  host.summaryFacts?.(facts);
  await host.writeSummary(renderSummary(facts));
  // One platform of several: the merge job comments and keeps the baseline for all of them.
  if (inputs.sizeReport)
    await reportSizes(host, inputs, head, baseline, budgets, workDir, {
      part: inputs.pushByDigest,
    });
  record({ phase: 'reported' });
}

export type { Host } from './host.ts';
