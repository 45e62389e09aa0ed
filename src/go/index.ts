// The Go version step: from go.work/go.mod (or the go-version input) to the release to build with.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { readInputFile } from '../io/files.ts';
import { InputError, getErrorMessage } from '../errors.ts';
import { goRequirement, parseGoDirectives } from './gomod.ts';
import { fetchReleases, type ReleaseList, type ReleaseSources } from './releases.ts';
import { newestInRange, qualifyingReleases } from './resolve.ts';
import { formatGoVersion, parseGoVersionInput, type GoVersion } from './version.ts';

export interface GoResolution {
  version: GoVersion;
  /** What the module requires (the floor a fallback may not go below). */
  minimum: GoVersion;
  /** Where the requirement came from: file:line, GOTOOLCHAIN or the go-version input. */
  from: string;
  /** Where the release list came from, or why none was used. */
  source: string;
  /** Releases of the minor, newest first, >= minimum: what the image check may fall back through. */
  candidates: GoVersion[];
  warnings: string[];
  /** One-line notices: entries a release list dropped, a fall back to a later source. */
  notices: string[];
}

const GO_FILE_FIX = 'give the path of go.mod or go.work (or set go-version)';

export function findGoVersionFile(context: string, explicit?: string): string {
  if (explicit) return explicit;
  for (const name of ['go.work', 'go.mod']) {
    const p = path.join(context, name);
    if (existsSync(p)) return p;
  }
  throw new InputError(
    'go-version-file',
    `no go.work or go.mod in ${context}: set go-version-file or go-version`,
  );
}

export async function resolveGoVersion(opts: {
  context: string;
  goVersion?: string;
  goVersionFile?: string;
  sources: ReleaseSources;
  env: NodeJS.ProcessEnv;
}): Promise<GoResolution> {
  const warnings: string[] = [];
  const notices: string[] = [];
  const noted = (list: ReleaseList) => {
    if (list.notice) notices.push(list.notice);
    return list;
  };
  if (opts.goVersion?.trim()) {
    const asked = parseGoVersionInput(opts.goVersion);
    if ('version' in asked && (asked.version.patch !== undefined || asked.version.pre)) {
      // An exact release (1.24.3, 1.25rc1) from the user is used as given: they asked for it.
      const exact = asked.version;
      return {
        version: exact,
        minimum: exact,
        from: 'go-version input',
        source: 'go-version input',
        candidates: [exact],
        warnings,
        notices,
      };
    }
    const shown = 'version' in asked ? formatGoVersion(asked.version) : asked.range;
    const list = noted(
      await fetchReleases(opts.sources).catch((e: unknown) => {
        if (e instanceof InputError) throw e;
        throw new InputError(
          'go-version',
          `${shown} needs the Go release list, which could not be read: ${getErrorMessage(e)}. Give an exact version (1.24.3) or fix go-release-source/go-proxy`,
        );
      }),
    );
    if ('version' in asked) {
      const minimum = asked.version;
      const candidates = qualifyingReleases(minimum, list.versions);
      if (candidates.length === 0)
        throw new InputError('go-version', `no Go release matches "${shown}" in ${list.source}`);
      return {
        version: candidates[0]!,
        minimum,
        from: 'go-version input',
        source: list.source,
        candidates,
        warnings,
        notices,
      };
    }
    const v = newestInRange(asked.range, list.versions);
    if (!v)
      throw new InputError('go-version', `no Go release matches "${shown}" in ${list.source}`);
    return {
      version: v,
      minimum: v,
      from: 'go-version input',
      source: list.source,
      candidates: [v],
      warnings,
      notices,
    };
  }
  const input = 'go-version-file';
  const file = findGoVersionFile(opts.context, opts.goVersionFile);
  const text = readInputFile(input, file, {
    maxBytes: 4 * 1024 * 1024,
    what: path.basename(file),
    fix: GO_FILE_FIX,
  });
  const req = goRequirement(parseGoDirectives(text, file), file, opts.env);
  try {
    const list = noted(await fetchReleases(opts.sources));
    const ordered = qualifyingReleases(req.minimum, list.versions);
    if (ordered.length === 0)
      throw new Error(
        `no ${req.minimum.pre ? '' : 'stable '}release of Go ${req.minimum.major}.${req.minimum.minor} >= ${formatGoVersion(req.minimum)} in ${list.source}`,
      );
    return {
      version: ordered[0]!,
      minimum: req.minimum,
      from: req.why,
      source: list.source,
      candidates: ordered,
      warnings,
      notices,
    };
  } catch (e) {
    // A source the user named wrongly is their input to fix, not an outage to build through.
    if (e instanceof InputError) throw e;
    if (!req.exact) {
      throw new Error(
        `${req.why} names no exact release and the newest Go ${req.minimum.major}.${req.minimum.minor}.x could not be resolved: ${getErrorMessage(e)}. Set go-version to an exact release, or point go-release-source/go-proxy at a reachable mirror`,
        { cause: e },
      );
    }
    warnings.push(
      `${getErrorMessage(e)}; building with Go ${formatGoVersion(req.minimum)} as ${req.why} pins it, which may lack security fixes of newer patches`,
    );
    return {
      version: req.minimum,
      minimum: req.minimum,
      from: req.why,
      source: 'none reachable',
      candidates: [req.minimum],
      warnings,
      notices,
    };
  }
}
