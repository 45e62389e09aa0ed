// The job summary: one table per build.
import { humanBytes } from './format.ts';

export interface SummaryFacts {
  goVersion?: string;
  goFrom?: string;
  /** Docker, buildx and BuildKit versions (buildx/versions.ts describeEngine). */
  engine?: string;
  goImage?: string;
  platforms: { platform: string; how: string }[];
  cacheMounts: { id: string; hit: string; restoredBytes: number }[];
  buildSeconds?: number;
  digest?: string;
  tags: string[];
}

export function renderSummary(f: SummaryFacts): string {
  const rows: [string, string][] = [];
  if (f.goVersion) rows.push(['Go', `${f.goVersion}${f.goFrom ? ` (from ${f.goFrom})` : ''}`]);
  if (f.goImage) rows.push(['Go image', `\`${f.goImage}\``]);
  if (f.engine) rows.push(['Engine', f.engine]);
  rows.push(['Platforms', f.platforms.map((p) => `${p.platform} (${p.how})`).join(', ')]);
  rows.push([
    'Cache mounts',
    f.cacheMounts.length === 0
      ? 'none'
      : f.cacheMounts
          .map(
            (m) =>
              `${m.id}: ${m.hit}${m.restoredBytes ? `, ${humanBytes(m.restoredBytes)} restored` : ''}`,
          )
          .join('<br>'),
  ]);
  if (f.buildSeconds !== undefined) rows.push(['Build time', `${f.buildSeconds.toFixed(1)} s`]);
  if (f.digest) rows.push(['Digest', `\`${f.digest}\``]);
  if (f.tags.length) rows.push(['Tags', f.tags.map((t) => `\`${t}\``).join('<br>')]);
  return [
    '### build-go-image',
    '',
    '| | |',
    '|---|---|',
    ...rows.map(([k, v]) => `| ${k} | ${v.replace(/\|/g, '\\|')} |`),
    '',
  ].join('\n');
}
