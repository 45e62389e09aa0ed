// The Go version step: from go.work/go.mod (or the go-version input) to the release to build with.
import { existsSync } from 'node:fs';
import { readBoundedText } from '../io/files.ts';
import path from 'node:path';
import { InputError, getErrorMessage } from '../errors.ts';
import { goRequirement, parseGoDirectives } from './gomod.ts';
import { fetchReleases, type ReleaseSources } from './releases.ts';
import { candidatesNewestFirst, newestInRange } from './resolve.ts';
import { formatGoVersion, parseGoVersion, type GoVersion } from './version.ts';

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
}

export function findGoVersionFile(context: string, explicit?: string): string {
  if (explicit) {
    if (!existsSync(explicit))
      throw new InputError(
        'go-version-file',
        `${explicit} does not exist: give the path of go.mod or go.work`,
      );
    return explicit;
  }
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
  const input = opts.goVersion?.trim().replace(/^go/, '');
  if (input) {
    const exact = parseGoVersion(input);
    if (exact && exact.patch !== undefined) {
      // An exact release from the user is used as given: they asked for it.
      return {
        version: exact,
        minimum: exact,
        from: 'go-version input',
        source: 'go-version input',
        candidates: [exact],
        warnings,
      };
    }
    const list = await fetchReleases(opts.sources).catch((e: unknown) => {
      throw new InputError(
        'go-version',
        `${input} needs the Go release list, which could not be read: ${getErrorMessage(e)}. Give an exact version (1.24.3) or fix go-release-source/go-proxy`,
      );
    });
    const minor = exact;
    const v = minor
      ? candidatesNewestFirst(minor, list.versions).find((c) => !c.pre)
      : newestInRange(input, list.versions);
    if (!v)
      throw new InputError('go-version', `no Go release matches "${input}" in ${list.source}`);
    return {
      version: v,
      minimum: minor ?? v,
      from: 'go-version input',
      source: list.source,
      candidates: minor ? candidatesNewestFirst(minor, list.versions).filter((c) => !c.pre) : [v],
      warnings,
    };
  }
  const file = findGoVersionFile(opts.context, opts.goVersionFile);
  const text = readBoundedText(file, 4 * 1024 * 1024, path.basename(file));
  const req = goRequirement(parseGoDirectives(text, file), file, opts.env);
  try {
    const list = await fetchReleases(opts.sources);
    const candidates = candidatesNewestFirst(req.minimum, list.versions);
    const stable = candidates.filter((c) => !c.pre);
    const ordered = stable.length > 0 ? stable : candidates;
    if (ordered.length === 0)
      throw new Error(
        `no release of Go ${req.minimum.major}.${req.minimum.minor} >= ${formatGoVersion(req.minimum)} in ${list.source}`,
      );
    return {
      version: ordered[0]!,
      minimum: req.minimum,
      from: req.why,
      source: list.source,
      candidates: ordered,
      warnings,
    };
  } catch (e) {
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
    };
  }
}
