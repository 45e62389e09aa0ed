// Merge mode: the per-platform jobs pushed by digest; this joins their digests into one
// multi-platform index under the final tags, then measures it and posts one report for all
// platforms. Nothing is built here.
import { docker } from '../buildx/command.ts';
import { getErrorMessage } from '../errors.ts';
import type { Host } from '../host.ts';
import type { Inputs } from '../inputs.ts';
import type { RegistryClient } from '../registry/client.ts';
import { parseImageReference } from '../registry/reference.ts';
import type { evaluateBudgets } from '../sizereport/budgets.ts';
import { knownLayerSizes } from '../sizereport/measure.ts';
import { measurePushedImage, readBaseline, reportSizes } from '../sizereport/step.ts';
import { readParts } from './parts.ts';

/** An annotation that names its level (`index:`, `manifest[linux/amd64]:`, `index,manifest:`). */
const TYPED =
  /^(index|manifest|index-descriptor|manifest-descriptor)(,(index|manifest|index-descriptor|manifest-descriptor))*(\[[^\]=]*\])?:/;

/**
 * The annotations input for the merged index: a plain `key=value` is put on the index; one that
 * names its level is passed as written (buildx checks it). Prefixing every one made
 * `index:index:k=v` and `index:manifest:k=v`, which are not annotations of those levels.
 */
export function indexAnnotations(annotations: string[]): string[] {
  return annotations.map((a) => (TYPED.test(a) ? a : `index:${a}`));
}

export async function mergeStep(
  host: Host,
  inputs: Inputs,
  registry: RegistryClient,
  budgets: Parameters<typeof evaluateBudgets>[1],
  workDir: string,
): Promise<void> {
  const { log } = host;
  const parts = readParts(inputs.merge);
  const sources = parts.map((p) => `${p.repository}@${p.digest}`);
  log.info(
    `merging ${parts.map((p) => `${p.platforms.join(',')} (${p.digest.slice(0, 19)})`).join(', ')} into ${inputs.tags.join(', ')}`,
  );
  const args = ['buildx', 'imagetools', 'create'];
  for (const t of inputs.tags) args.push('--tag', t);
  for (const a of indexAnnotations(inputs.annotations)) args.push('--annotation', a);
  const r = await docker([...args, ...sources], {
    allowFailure: true,
    timeoutMs: 600_000,
  });
  if (r.exitCode !== 0 || r.timedOut)
    throw new Error(
      `the multi-platform image could not be created (${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' ')}): check that the part digests were pushed to ${parts[0]!.repository} and that this job is logged in to the registry`,
    );
  const index = await registry
    .getManifest(parseImageReference(inputs.tags[0]!))
    .catch((e: unknown) => {
      log.warning(`merge: the new index could not be read back: ${getErrorMessage(e)}`);
      return undefined;
    });
  if (index) host.setOutput('digest', index.digest);
  const baseline = inputs.sizeReport ? await readBaseline(host, inputs, registry) : {};
  // Sizes come from the registry, not from the part files (an artifact can be forged); the
  // baseline's layers are the ones not unpacked again.
  const known = knownLayerSizes(baseline.base);
  const head = await measurePushedImage(registry, inputs.tags[0]!, index?.digest ?? '', log, known);
  const goVersion = parts[0]!.goVersion;
  if (!goVersion)
    log.warning('merge: the part file names no valid Go version (dropped); go-version stays empty');
  if (head) {
    if (goVersion) head.goVersion = goVersion;
    host.setOutput(
      'platform-digests',
      JSON.stringify(Object.fromEntries(head.platforms.map((p) => [p.platform, p.digest]))),
    );
  }
  host.setOutput('go-version', goVersion);
  await host.writeSummary(
    `### build-go-image merge\n\n| platform | part digest |\n| --- | --- |\n${parts
      .map((p) => `| ${p.platforms.join(', ')} | \`${p.digest}\` |`)
      .join('\n')}\n\nTags: ${inputs.tags.map((t) => `\`${t}\``).join(', ')}\n`,
  );
  if (inputs.sizeReport) await reportSizes(host, inputs, head, baseline, budgets, workDir);
}
