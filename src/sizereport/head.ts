// The built image, measured for the size report: from its registry when it was pushed, else from
// the same build exported once more (every step is a cache hit by then) as an OCI layout, by driver
// and image store as src/sizereport/local-build.ts says. Measuring costs the report, never the build.
import path from 'node:path';
import { dockerUsesContainerdStore } from '../buildx/builder.ts';
import { runRecipe, type Built } from '../buildx/step.ts';
import { getErrorMessage } from '../errors.ts';
import type { Host } from '../host.ts';
import type { RegistryClient } from '../registry/client.ts';
import {
  estimatePushedSizes,
  layoutDir,
  loadNameFor,
  localExportFor,
  localExportOverrides,
  saveLoadedImage,
} from './local-build.ts';
import { measureImage, type ImageSizeReport, type knownLayerSizes } from './measure.ts';
import { ociLayoutSource } from './sources.ts';
import { measurePushedImage } from './step.ts';

/** Unpacked sizes of the layers the baseline shares, which are not unpacked again. */
type KnownSizes = ReturnType<typeof knownLayerSizes>;

/**
 * The head of the size report, labelled with its Go version; a pushed one also sets the
 * platform-digests output. `known`: unpacked sizes of layers the baseline shares.
 */
export async function measureHead(
  host: Host,
  built: Built,
  opts: { goVersion: string; registry: RegistryClient; known: KnownSizes },
): Promise<ImageSizeReport | undefined> {
  const { inputs } = built;
  let head: ImageSizeReport | undefined;
  if ((inputs.push || inputs.pushByDigest) && inputs.tags.length > 0) {
    head = await measurePushedImage(
      opts.registry,
      inputs.tags[0]!,
      built.result.digest,
      host.log,
      opts.known,
    );
    if (head) {
      head.goVersion = opts.goVersion;
      host.setOutput(
        'platform-digests',
        JSON.stringify(Object.fromEntries(head.platforms.map((p) => [p.platform, p.digest]))),
      );
    }
  }
  // Nothing pushed (a part is measured by the merge job): the build's own output.
  if (!head && inputs.sizeReport && inputs.outputs.length === 0 && !inputs.pushByDigest)
    head = await measureExport(host, built, opts);
  return head;
}

/** The build exported again and measured as it lies on disk; a failure warns. */
async function measureExport(
  host: Host,
  built: Built,
  opts: { goVersion: string; known: KnownSizes },
): Promise<ImageSizeReport | undefined> {
  const { workDir } = built;
  const how = localExportFor(
    built.driver,
    built.driver === 'docker' && (await dockerUsesContainerdStore()),
  );
  const layout = layoutDir(workDir);
  const loadName = loadNameFor(built.runId);
  let head: ImageSizeReport | undefined;
  try {
    const exported = {
      ...built,
      inputs: { ...built.inputs, push: false, ...localExportOverrides(how, layout, loadName) },
      // Every step is cached in the builder now; the layer cache was written by the build itself.
      plan: { ...built.plan, layerCache: undefined },
    };
    await host.log.group('Export the image as an OCI layout to measure it', () =>
      runRecipe(host, exported, path.join(workDir, 'metadata-oci.json'), { attempts: 1 }),
    );
    if (how === 'load-and-save') await saveLoadedImage(loadName, layout, built.env);
    const source = ociLayoutSource(layout);
    head = await measureImage(source, built.inputs.tags[0] ?? 'image', {
      uncompressed: true,
      known: opts.known,
    });
    if (head && how === 'load-and-save') head = await estimatePushedSizes(head, source);
    if (head) head.goVersion = opts.goVersion;
  } catch (e) {
    host.log.warning(
      `size report: the build could not be exported for measuring: ${getErrorMessage(e)}`,
    );
  }
  return head;
}
