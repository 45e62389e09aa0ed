// The grammar of every field a size report holds, checked when the report is READ: from a registry
// (index and manifests), from a saved baseline (the Actions cache) or from a part file (an
// artifact). All of these can be written by someone else; a field that does not match is refused
// here, before it can reach the comment, the job summary or an output.
import { getErrorMessage } from '../errors.ts';
import { parseImageReference } from '../registry/reference.ts';
import {
  EXECUTABLES_RECORD,
  MAX_EXECUTABLES,
  MAX_MODULES,
  MAX_REMOVED,
  MAX_SKIPPED,
  type GoExecutable,
  type LayerExecutables,
  type PlatformExecutables,
  type SkippedFile,
} from './executables.ts';
import type { ImageSizeReport, LayerSize, PlatformSize } from './measure.ts';

/**
 * A Go release as the report names it: 1.24, 1.24.5, 1.25rc1, 1.21beta2 (no `go` prefix), its
 * numbers without a leading zero as Go writes them (src/go/version.ts reads them the same way).
 */
export const GO_VERSION =
  /^[1-9]\d{0,2}\.(?:0|[1-9]\d{0,2})(?:\.(?:0|[1-9]\d{0,2})|(?:rc|beta)(?:0|[1-9]\d{0,2}))?$/;
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

/** A path inside an image that the report can name. */
export const isImagePath = (s: string) => IMAGE_PATH.test(s);

const show = (v: unknown) => JSON.stringify(String(v).slice(0, 80));

/** A path inside an image: printable, no leading slash, bounded. */
const IMAGE_PATH =
  // eslint-disable-next-line no-control-regex
  /^[^\u0000-\u001f\u007f-\u009f\u2028\u2029/][^\u0000-\u001f\u007f-\u009f\u2028\u2029]{0,1023}$/;
/** A Go module path as build info holds it, or the report's own rows 'std' and 'other'. */
const MODULE_PATH = /^[A-Za-z0-9][A-Za-z0-9._~+/-]{0,299}$/;
/** A module version (v1.2.3, a pseudo-version, (devel)), the Go version of 'std', or '' for 'other'. */
const MODULE_VERSION = /^[A-Za-z0-9()._+-]{0,128}$/;
/** What build info says of the toolchain: go1.24.4, go1.25rc1, devel go1.26-abcdef, go1.24.4 X:boringcrypto. */
const TOOLCHAIN = /^[A-Za-z0-9][A-Za-z0-9._:+ -]{0,99}$/;
// eslint-disable-next-line no-control-regex
const REASON = /^[^\u0000-\u001f\u007f-\u009f\u2028\u2029]{1,300}$/;

function checkReason(v: unknown): string {
  if (typeof v !== 'string' || !REASON.test(v))
    throw new Error('a reason is not one printable line');
  return v;
}

function checkSkipped(v: unknown): SkippedFile[] {
  if (!Array.isArray(v) || v.length > MAX_SKIPPED)
    throw new Error('skipped files are not a short list');
  return v.map((x: Partial<SkippedFile>) => {
    if (typeof x?.file !== 'string' || !IMAGE_PATH.test(x.file))
      throw new Error(`skipped file ${show(x?.file)} is not a path`);
    if (typeof x.reason !== 'string' || !REASON.test(x.reason))
      throw new Error('a reason is not one printable line');
    return { file: x.file, reason: x.reason };
  });
}

/** One executable's record; throws why it does not match. */
export function checkExecutable(v: unknown): GoExecutable {
  const e = v as Partial<GoExecutable> | null;
  if (typeof e !== 'object' || e === null) throw new Error('an executable is not an object');
  if (typeof e.file !== 'string' || !IMAGE_PATH.test(e.file))
    throw new Error(`executable ${show(e.file)} is not a path`);
  if (typeof e.layer !== 'string' || !DIGEST.test(e.layer))
    throw new Error(`the layer of ${show(e.file)} is not a digest`);
  if (!isSize(e.fileBytes)) throw new Error(`the size of ${show(e.file)} is not a byte count`);
  if (typeof e.goVersion !== 'string' || !TOOLCHAIN.test(e.goVersion))
    throw new Error(`the Go version of ${show(e.file)} is not a toolchain name`);
  if (typeof e.mainModule !== 'string' || (e.mainModule !== '' && !MODULE_PATH.test(e.mainModule)))
    throw new Error(`the main module of ${show(e.file)} is not a module path`);
  if (typeof e.attributed !== 'boolean') throw new Error('attributed is not true or false');
  if (e.reason !== undefined && (typeof e.reason !== 'string' || !REASON.test(e.reason)))
    throw new Error('a reason is not one printable line');
  if (!Array.isArray(e.modules) || e.modules.length > MAX_MODULES)
    throw new Error(`the modules of ${show(e.file)} are not a list of at most ${MAX_MODULES}`);
  const seen = new Set<string>();
  const modules = e.modules.map((m: { path?: unknown; version?: unknown; bytes?: unknown }) => {
    if (typeof m?.path !== 'string' || !MODULE_PATH.test(m.path) || seen.has(m.path))
      throw new Error(`module ${show(m?.path)} is not a module path, or listed twice`);
    seen.add(m.path);
    if (typeof m.version !== 'string' || !MODULE_VERSION.test(m.version))
      throw new Error(`the version of ${show(m.path)} is not a version`);
    if (!isSize(m.bytes)) throw new Error(`the size of ${show(m.path)} is not a byte count`);
    return { path: m.path, version: m.version, bytes: m.bytes };
  });
  return {
    file: e.file,
    layer: e.layer,
    fileBytes: e.fileBytes,
    goVersion: e.goVersion,
    mainModule: e.mainModule,
    attributed: e.attributed,
    ...(e.reason !== undefined ? { reason: e.reason } : {}),
    modules,
  };
}

const paths = (v: unknown, what: string): string[] => {
  if (!Array.isArray(v) || v.length > MAX_REMOVED) throw new Error(`${what} is not a list`);
  return v.map((x) => {
    if (typeof x !== 'string' || (x !== '' && !IMAGE_PATH.test(x)))
      throw new Error(`${what}: ${show(x)} is not a path`);
    return x;
  });
};

/** A layer's executables record (LayerSize.executables); throws why it does not match. */
export function checkLayerExecutables(v: unknown): LayerExecutables {
  const r = v as Partial<LayerExecutables> | null;
  if (typeof r !== 'object' || r === null || r.v !== EXECUTABLES_RECORD)
    throw new Error(`not version ${EXECUTABLES_RECORD}`);
  if (!Array.isArray(r.executables) || r.executables.length > 64)
    throw new Error('executables are not a list of at most 64');
  return {
    v: EXECUTABLES_RECORD,
    executables: r.executables.map(checkExecutable),
    skipped: checkSkipped(r.skipped),
    removed: paths(r.removed, 'removed'),
    opaque: paths(r.opaque, 'opaque'),
    ...(r.unread !== undefined ? { unread: checkReason(r.unread) } : {}),
  };
}

/** A platform's Go executables (PlatformSize.go); throws why it does not match. */
export function checkPlatformExecutables(v: unknown): PlatformExecutables {
  const r = v as Partial<PlatformExecutables> | null;
  if (typeof r !== 'object' || r === null || r.v !== EXECUTABLES_RECORD)
    throw new Error(`not version ${EXECUTABLES_RECORD}`);
  if (!Array.isArray(r.executables) || r.executables.length > MAX_EXECUTABLES)
    throw new Error(`executables are not a list of at most ${MAX_EXECUTABLES}`);
  if (!isSize(r.more)) throw new Error('more is not a count');
  if (
    r.entrypoint !== undefined &&
    (typeof r.entrypoint !== 'string' || !IMAGE_PATH.test(r.entrypoint))
  )
    throw new Error('the entrypoint is not a path');
  const unread = Array.isArray(r.unread) && r.unread.length <= MAX_SKIPPED ? r.unread : undefined;
  if (!unread || !unread.every((u) => typeof u === 'string' && REASON.test(u)))
    throw new Error('unread is not a short list of printable lines');
  return {
    v: EXECUTABLES_RECORD,
    ...(r.entrypoint !== undefined ? { entrypoint: r.entrypoint } : {}),
    executables: r.executables.map(checkExecutable),
    more: r.more,
    skipped: checkSkipped(r.skipped),
    unread: [...unread],
  };
}

/**
 * An optional record that only adds to the measurement: kept when it matches its grammar, else
 * dropped with the reason (an older report has none; a newer version would say so in `v`).
 */
function optional<T>(v: unknown, check: (v: unknown) => T, what: string, problems: string[]) {
  if (v === undefined) return undefined;
  try {
    return check(v);
  } catch (e) {
    problems.push(`${what} dropped: ${getErrorMessage(e)}`);
    return undefined;
  }
}

export interface CheckedReport {
  report?: ImageSizeReport;
  /** Why the report was refused, or which fields were dropped from it. */
  problems: string[];
}

/**
 * A size report read from outside, field by field. Fields that carry the measurement (platforms,
 * digests, sizes, instructions) refuse the whole report; the Go version, which only labels it, and
 * the Go executables, which only add to it, are dropped alone. The result is a fresh object holding only the known fields.
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
      const executables = optional(
        l.executables,
        checkLayerExecutables,
        `the Go executables of layer ${l.digest.slice(0, 19)}`,
        problems,
      );
      layers.push({
        digest: l.digest,
        size: l.size,
        ...(l.uncompressed !== undefined ? { uncompressed: l.uncompressed } : {}),
        instruction: l.instruction,
        ...(executables ? { executables } : {}),
      });
    }
    const go = optional(
      p.go,
      checkPlatformExecutables,
      `the Go executables of ${p.platform}`,
      problems,
    );
    platforms.push({
      platform: p.platform,
      digest: p.digest,
      compressed: p.compressed,
      ...(p.uncompressed !== undefined ? { uncompressed: p.uncompressed } : {}),
      layers,
      ...(go ? { go } : {}),
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
