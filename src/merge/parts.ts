// Part files: what a per-platform job (push-by-digest) hands to the merge job. Written by this
// action, but read back from an artifact, so parsed as untrusted input.
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.ts';
import type { Host } from '../host.ts';
import type { Inputs } from '../inputs.ts';
import { checkInputDirectory, readBoundedText } from '../io/files.ts';
import { parseImageReference } from '../registry/reference.ts';
import { GO_VERSION, PLATFORM, checkReport } from '../sizereport/fields.ts';
import type { ImageSizeReport } from '../sizereport/measure.ts';

export interface PartFile {
  schema: 1;
  kind: 'build-go-image-part';
  /** registry/repository the platform image was pushed to by digest. */
  repository: string;
  digest: string;
  platforms: string[];
  /** '' when the part's value is not a Go release (dropped when read). */
  goVersion: string;
  report?: ImageSizeReport;
}

const DIGEST = /^sha256:[0-9a-f]{64}$/;
const MAX_PARTS = 64;

export function writePart(dir: string, part: PartFile): string {
  const file = path.join(dir, `part-${part.digest.slice(7, 19)}.json`);
  writeFileSync(file, JSON.stringify(part));
  return file;
}

/**
 * A per-platform job's hand-over (push-by-digest): its part file written to the run's directory
 * for the merge job, named in the part-file output.
 */
export function handOverPart(
  host: Pick<Host, 'setOutput' | 'log'>,
  build: {
    inputs: Pick<Inputs, 'tags' | 'platforms'>;
    result: { digest: string };
    workDir: string;
  },
  goVersion: string,
  report: ImageSizeReport | undefined,
): string {
  const file = writePart(build.workDir, {
    schema: 1,
    kind: 'build-go-image-part',
    repository: repositoryOf(build.inputs.tags[0]!),
    digest: build.result.digest,
    platforms: build.inputs.platforms,
    goVersion,
    report,
  });
  host.setOutput('part-file', file);
  host.log.info(`part file for the merge job: ${file}`);
  return file;
}

export function parsePart(text: string, file: string): PartFile {
  let p: Partial<PartFile>;
  try {
    p = JSON.parse(text) as Partial<PartFile>;
  } catch {
    throw new InputError('merge', `${file} is not JSON: give the part files the build jobs wrote`);
  }
  const bad = (why: string) =>
    new InputError('merge', `${file} is not a part file of this action (${why})`);
  if (p.schema !== 1 || p.kind !== 'build-go-image-part') throw bad('schema');
  if (typeof p.digest !== 'string' || !DIGEST.test(p.digest)) throw bad('digest');
  if (typeof p.repository !== 'string') throw bad('repository');
  try {
    parseImageReference(p.repository);
  } catch {
    throw bad('repository');
  }
  if (repositoryOf(p.repository) !== p.repository || p.repository.includes('@'))
    throw bad('repository has a tag or digest');
  if (
    !Array.isArray(p.platforms) ||
    p.platforms.length === 0 ||
    !p.platforms.every((x) => typeof x === 'string' && PLATFORM.test(x))
  )
    throw bad('platforms');
  // Fields that only label the result are dropped when they do not match their grammar (the
  // merge warns); the fields above, which say what is merged, refuse the part.
  const report = p.report === undefined ? undefined : checkReport(p.report).report;
  return {
    schema: 1,
    kind: 'build-go-image-part',
    repository: p.repository,
    digest: p.digest,
    platforms: [...p.platforms],
    goVersion: typeof p.goVersion === 'string' && GO_VERSION.test(p.goVersion) ? p.goVersion : '',
    ...(report ? { report } : {}),
  };
}

/** Every part file in `dir` (and its subdirectories, as artifact downloads nest them). */
export function readParts(dir: string): PartFile[] {
  const files: string[] = [];
  const walk = (d: string, depth: number) => {
    let entries;
    try {
      entries = readdirSync(d, { withFileTypes: true });
    } catch {
      throw new InputError(
        'merge',
        `${d} is not a readable directory: download the part artifacts into it`,
      );
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory() && depth < 3) walk(p, depth + 1);
      else if (e.isFile() && /^part-[0-9a-f]{12}\.json$/.test(e.name)) files.push(p);
    }
  };
  checkInputDirectory('merge', dir, 'download the part artifacts into it');
  walk(dir, 0);
  if (files.length === 0)
    throw new InputError(
      'merge',
      `no part-*.json files under ${dir}: upload each build job's part-file output and download them all here`,
    );
  if (files.length > MAX_PARTS)
    throw new InputError('merge', `more than ${MAX_PARTS} part files under ${dir}`);
  const parts = files
    .sort()
    .map((f) => parsePart(readBoundedText(f, 4 * 1024 * 1024, 'a part file'), f));
  const repos = new Set(parts.map((p) => p.repository));
  if (repos.size > 1)
    throw new InputError(
      'merge',
      `the parts were pushed to different repositories (${[...repos].join(', ')}): merge one image at a time`,
    );
  const seen = new Map<string, string>();
  for (const p of parts)
    for (const platform of p.platforms) {
      const other = seen.get(platform);
      if (other && other !== p.digest)
        throw new InputError(
          'merge',
          `${platform} is in two parts (${other.slice(0, 19)} and ${p.digest.slice(0, 19)}): one job per platform`,
        );
      seen.set(platform, p.digest);
    }
  // The same part downloaded twice (re-runs) counts once.
  return [...new Map(parts.map((p) => [p.digest, p])).values()];
}

/** The repository (no tag) the image is pushed to by digest. */
export function repositoryOf(tag: string): string {
  parseImageReference(tag);
  const noDigest = tag.split('@')[0]!;
  const colon = noDigest.lastIndexOf(':');
  return colon > noDigest.lastIndexOf('/') ? noDigest.slice(0, colon) : noDigest;
}

/** A tag for one platform's image of one run (tag syntax: [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}). */
export function partTagFor(runId: string, platforms: string[]): string {
  const slug = platforms.map((p) => p.replace(/\//g, '-')).join('_');
  return `build-go-image-part-${runId}-${slug}`.replace(/[^A-Za-z0-9_.-]/g, '-').slice(0, 128);
}
