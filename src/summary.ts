// The run's summary, from one set of facts: markdown for the job summary, plain text for the
// terminal at the end of a command-line run.
import { humanBytes } from './format.ts';
import { mdCode, mdText } from './markdown.ts';

export interface SummaryFacts {
  goVersion?: string;
  goFrom?: string;
  /** Docker, buildx and BuildKit versions (buildx/versions.ts describeEngine). */
  engine?: string;
  goImage?: string;
  platforms: { platform: string; how: string }[];
  cacheMounts: { id: string; hit: string; restoredBytes: number }[];
  buildSeconds?: number;
  /** The action's layer cache: where it is kept, or why it is off (buildx/layer-cache.ts). */
  layerCache?: string;
  /** Dockerfile steps taken from a cache, of all. */
  cachedSteps?: { cached: number; steps: number };
  digest?: string;
  tags: string[];
}

/** The summary of a finished build, from what its phases returned. */
export function summaryFactsOf(run: {
  tags: string[];
  go: { version: string; from: string; image?: string };
  engine: string;
  platforms: { platform: string; how: string }[];
  cache?: { mounts: { label: string; hit: string; restoredBytes: number }[] };
  layerCache?: { reason: string };
  cachedSteps?: { cached: number; steps: number };
  build: { seconds: number; digest: string };
}): SummaryFacts {
  return {
    goVersion: run.go.version,
    goFrom: run.go.from,
    ...(run.go.image ? { goImage: run.go.image } : {}),
    engine: run.engine,
    platforms: run.platforms,
    cacheMounts: (run.cache?.mounts ?? []).map((m) => ({
      id: m.label,
      hit: m.hit,
      restoredBytes: m.restoredBytes,
    })),
    buildSeconds: run.build.seconds,
    ...(run.layerCache
      ? { layerCache: run.layerCache.reason.replace(/^layer cache:\s*/, '') }
      : {}),
    cachedSteps: run.cachedSteps,
    digest: run.build.digest,
    tags: run.tags,
  };
}

/**
 * Label and value lines of each row; `code` marks literal values, `text` any other value that came
 * from outside (a Go version, an engine's answer, a platform): the markdown escapes both.
 */
function summaryRows(
  f: SummaryFacts,
  code: (s: string) => string,
  text: (s: string) => string = (s) => s,
): [string, string[]][] {
  const rows: [string, string[]][] = [];
  if (f.goVersion)
    rows.push(['Go', [`${text(f.goVersion)}${f.goFrom ? ` (from ${text(f.goFrom)})` : ''}`]]);
  if (f.goImage) rows.push(['Go image', [code(f.goImage)]]);
  if (f.engine) rows.push(['Engine', [text(f.engine)]]);
  rows.push([
    'Platforms',
    [f.platforms.map((p) => `${text(p.platform)} (${text(p.how)})`).join(', ')],
  ]);
  rows.push([
    'Cache mounts',
    f.cacheMounts.length === 0
      ? ['none']
      : f.cacheMounts.map(
          (m) =>
            `${text(m.id)}: ${text(m.hit)}${m.restoredBytes ? `, ${humanBytes(m.restoredBytes)} restored` : ''}`,
        ),
  ]);
  if (f.layerCache) rows.push(['Layer cache', [text(f.layerCache)]]);
  if (f.buildSeconds !== undefined) rows.push(['Build time', [`${f.buildSeconds.toFixed(1)} s`]]);
  if (f.cachedSteps)
    rows.push(['Steps from cache', [`${f.cachedSteps.cached} of ${f.cachedSteps.steps}`]]);
  if (f.digest) rows.push(['Digest', [code(f.digest)]]);
  if (f.tags.length) rows.push(['Tags', f.tags.map(code)]);
  return rows;
}

export function renderSummary(f: SummaryFacts): string {
  return [
    '### build-go-image',
    '',
    '| | |',
    '|---|---|',
    ...summaryRows(
      f,
      (s) => mdCode(s),
      (s) => mdText(s, 500),
    ).map(([k, v]) => `| ${k} | ${v.join('<br>')} |`),
    '',
  ].join('\n');
}

/** The same rows as aligned plain text, for a terminal. */
export function renderSummaryText(f: SummaryFacts): string {
  const rows = summaryRows(f, (s) => s);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows
    .flatMap(([k, v]) => v.map((line, i) => `${(i === 0 ? k : '').padEnd(width)}  ${line}`))
    .join('\n');
}
