// The grammar of every field a size report holds, checked when the report is READ: from a registry
// (index and manifests), from a saved baseline (the Actions cache) or from a part file (an
// artifact). All of these can be written by someone else; a field that does not match is refused
// here, before it can reach the comment, the job summary or an output.
import { parseImageReference } from '../registry/reference.ts';
import type { ImageSizeReport, LayerSize, PlatformSize } from './measure.ts';

/** A Go release as the report names it: 1.24, 1.24.5, 1.25rc1, 1.21beta2 (no `go` prefix). */
export const GO_VERSION = /^[1-9]\d{0,2}\.\d{1,3}(?:\.\d{1,3}|(?:rc|beta)\d{1,3})?$/;
/** An OCI platform: os/architecture[/variant], lowercase as the image spec's values are. */
export const PLATFORM = /^[a-z0-9]{1,32}\/[a-z0-9_]{1,32}(?:\/[a-z0-9]{1,16})?$/;
export const DIGEST = /^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;
/** A media type (RFC 6838 names), as layers and manifests carry it. */
export const MEDIA_TYPE =
  /^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}$/;
/** An instruction from image history, as shortInstruction leaves it: printable, one line, bounded. */
// eslint-disable-next-line no-control-regex
const INSTRUCTION = /^[^\u0000-\u001f\u007f-\u009f\u2028\u2029]{1,200}$/;

/** A byte count: a non-negative safe integer. */
export const isSize = (n: unknown): n is number =>
  typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;

export function isImageReference(s: unknown): s is string {
  if (typeof s !== 'string' || s.length > 512) return false;
  try {
    parseImageReference(s);
    return true;
  } catch {
    return false;
  }
}

const show = (v: unknown) => JSON.stringify(String(v).slice(0, 80));

export interface CheckedReport {
  report?: ImageSizeReport;
  /** Why the report was refused, or which fields were dropped from it. */
  problems: string[];
}

/**
 * A size report read from outside, field by field. Fields that carry the measurement (platforms,
 * digests, sizes, instructions) refuse the whole report; the Go version, which only labels it, is
 * dropped alone. The result is a fresh object holding only the known fields.
 */
export function checkReport(value: unknown): CheckedReport {
  const problems: string[] = [];
  const refuse = (why: string): CheckedReport => ({ problems: [...problems, why] });
  const r = value as Partial<ImageSizeReport> | null;
  if (typeof r !== 'object' || r === null || r.schema !== 1) return refuse('not schema 1');
  if (!isImageReference(r.image)) return refuse(`image ${show(r.image)} is not an image reference`);
  if (!Array.isArray(r.platforms) || r.platforms.length > 64)
    return refuse('platforms is not a list of at most 64');
  const platforms: PlatformSize[] = [];
  const seen = new Set<string>();
  for (const p of r.platforms as Partial<PlatformSize>[]) {
    if (typeof p !== 'object' || p === null) return refuse('a platform entry is not an object');
    if (typeof p.platform !== 'string' || !PLATFORM.test(p.platform))
      return refuse(`platform ${show(p.platform)} is not os/arch[/variant]`);
    if (seen.has(p.platform)) return refuse(`platform ${p.platform} is listed twice`);
    seen.add(p.platform);
    if (typeof p.digest !== 'string' || !DIGEST.test(p.digest))
      return refuse(`the digest of ${p.platform} is not a digest`);
    if (!isSize(p.compressed)) return refuse(`the size of ${p.platform} is not a byte count`);
    if (p.uncompressed !== undefined && !isSize(p.uncompressed))
      return refuse(`the unpacked size of ${p.platform} is not a byte count`);
    if (!Array.isArray(p.layers) || p.layers.length > 1000)
      return refuse(`the layers of ${p.platform} are not a list of at most 1000`);
    const layers: LayerSize[] = [];
    for (const l of p.layers as Partial<LayerSize>[]) {
      if (typeof l !== 'object' || l === null)
        return refuse(`a layer of ${p.platform} is not an object`);
      if (typeof l.digest !== 'string' || !DIGEST.test(l.digest))
        return refuse(`a layer digest of ${p.platform} is not a digest`);
      if (!isSize(l.size) || (l.uncompressed !== undefined && !isSize(l.uncompressed)))
        return refuse(`a layer size of ${p.platform} is not a byte count`);
      if (typeof l.instruction !== 'string' || !INSTRUCTION.test(l.instruction))
        return refuse(
          `a layer instruction of ${p.platform} is not one printable line of at most 200`,
        );
      layers.push({
        digest: l.digest,
        size: l.size,
        ...(l.uncompressed !== undefined ? { uncompressed: l.uncompressed } : {}),
        instruction: l.instruction,
      });
    }
    platforms.push({
      platform: p.platform,
      digest: p.digest,
      compressed: p.compressed,
      ...(p.uncompressed !== undefined ? { uncompressed: p.uncompressed } : {}),
      layers,
    });
  }
  const report: ImageSizeReport = { schema: 1, image: r.image, platforms };
  if (r.goVersion !== undefined) {
    if (typeof r.goVersion === 'string' && GO_VERSION.test(r.goVersion))
      report.goVersion = r.goVersion;
    else problems.push(`Go version ${show(r.goVersion)} dropped: not a Go release`);
  }
  return { report, problems };
}
