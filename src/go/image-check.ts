// Checks that the golang image the Dockerfile will use exists for every platform, because official
// images appear hours or days after a Go release (sometimes one architecture later than the other).
import type { Dockerfile } from '../dockerfile/parse.ts';
import { resolveFromImage } from '../dockerfile/args.ts';
import { getErrorMessage } from '../errors.ts';
import type { RegistryClient } from '../registry/client.ts';
import { parseImageReference, type ImageReference } from '../registry/reference.ts';
import { formatGoVersion, type GoVersion } from './version.ts';

/** FROM images whose text depends on the Go version build-arg (after ARG substitution). */
export function goVersionFromLines(
  df: Dockerfile,
  buildArgName: string,
): { line: number; image: string }[] {
  const uses = new RegExp(`\\$(\\{${buildArgName}([:+-][^}]*)?\\}|${buildArgName}\\b)`);
  return df.stages
    .filter((s) => uses.test(s.image))
    .map((s) => ({ line: s.from.line, image: s.image }));
}

export interface ImageCheckResult {
  version: GoVersion;
  images: string[];
  warnings: string[];
}

/** Whether every platform has a manifest under the reference (an index entry or a single manifest). */
export async function hasAllPlatforms(
  registry: RegistryClient,
  ref: ImageReference,
  platforms: string[],
): Promise<boolean> {
  const found = await registry.resolvePlatforms(ref);
  if (!found) return false;
  const have = new Set(found.map((p) => p.platform));
  return platforms.every((p) => have.has(p) || (p === 'linux/arm64' && have.has('linux/arm64/v8')));
}

/**
 * Tries the candidates newest first and returns the first whose images exist for all platforms.
 * The caller passes only candidates >= the go.mod minimum, so a fallback never goes below it.
 */
export async function checkGoImage(opts: {
  dockerfile: Dockerfile;
  buildArgs: ReadonlyMap<string, string>;
  buildArgName: string;
  candidates: GoVersion[];
  platforms: string[];
  registry: RegistryClient;
}): Promise<ImageCheckResult | undefined> {
  const lines = goVersionFromLines(opts.dockerfile, opts.buildArgName);
  if (lines.length === 0 || opts.candidates.length === 0) return undefined;
  const tried: string[] = [];
  for (const candidate of opts.candidates) {
    const args = new Map(opts.buildArgs);
    args.set(opts.buildArgName, formatGoVersion(candidate));
    const images = opts.dockerfile.stages
      .filter((s) => lines.some((l) => l.line === s.from.line))
      .map((s) => resolveFromImage(opts.dockerfile, s, args));
    let ok = true;
    for (const image of images) {
      let ref: ImageReference;
      try {
        ref = parseImageReference(image);
      } catch (e) {
        throw new Error(`${opts.dockerfile.file}: FROM ${image}: ${getErrorMessage(e)}`, {
          cause: e,
        });
      }
      let present: boolean;
      try {
        present = await hasAllPlatforms(opts.registry, ref, opts.platforms);
      } catch (e) {
        // The check is a courtesy: an unreachable, failing or refusing registry must not stop a
        // build whose builder may still pull (mirror, cache, its own credentials). Build with the
        // candidate the check had reached, and say so.
        return {
          version: candidate,
          images,
          warnings: [
            `could not check that ${image} exists (${getErrorMessage(e)}); building with Go ${formatGoVersion(candidate)} unchecked. Set check-go-image: false to skip the check`,
          ],
        };
      }
      if (!present) {
        ok = false;
        tried.push(image);
        break;
      }
    }
    if (ok) {
      const warnings =
        candidate === opts.candidates[0]
          ? []
          : [
              `Go ${formatGoVersion(opts.candidates[0]!)} is released but no image exists yet for all of ${opts.platforms.join(', ')} (${tried.join(', ')} missing); building with Go ${formatGoVersion(candidate)}, the newest patch that has one`,
            ];
      return { version: candidate, images, warnings };
    }
  }
  throw new Error(
    `no golang image exists for ${opts.platforms.join(', ')} for any Go release the module accepts (tried ${tried.join(', ')}): ` +
      'check the FROM line and the registry, or set go-version to a release with an image, or check-go-image: false',
  );
}

/**
 * Releases the registry has images for, when no release list could be read: the tags of the
 * repository the Go FROM line names (e.g. golang:1.24.4), read without pulling anything.
 */
export async function releasesFromRegistryTags(
  df: Dockerfile,
  buildArgs: ReadonlyMap<string, string>,
  buildArgName: string,
  registry: RegistryClient,
): Promise<string[]> {
  const stage = df.stages.find((s) =>
    goVersionFromLines(df, buildArgName).some((l) => l.line === s.from.line),
  );
  if (!stage) return [];
  const args = new Map(buildArgs);
  args.set(buildArgName, '0.0.0');
  const ref = parseImageReference(resolveFromImage(df, stage, args));
  const tags = await registry.listTags(ref);
  // Only plain release tags stand for a Go version (1.24.4, not 1.24.4-alpine).
  return tags.filter((t) => /^\d+\.\d+(\.\d+)?((rc|beta)\d+)?$/.test(t));
}
