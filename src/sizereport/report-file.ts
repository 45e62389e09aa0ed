// The size-report file: what comment mode posts for a build that could not (a fork's pull request).
// The build that wrote it ran the fork's code, so its markdown is never posted as it is: it could
// mention anyone, link anywhere or plant other markers. The file carries the report's data on its
// last line; comment mode checks every field (src/sizereport/fields.ts) and renders the comment
// itself, exactly as a build with a write token would have.
import type { Budgets, Limit } from './budgets.ts';
import { evaluateBudgets } from './budgets.ts';
import { diffReports } from './diff.ts';
import { checkReport } from './fields.ts';
import type { ImageSizeReport } from './measure.ts';
import { renderMarkdown } from './render.ts';

const DATA_PREFIX = '<!-- build-go-image:size-report-data:';
const DATA_SUFFIX = ' -->';
/** The image name a marker holds (render.ts `marker`). */
const NAME = /^[A-Za-z0-9_./:@-]{1,200}$/;
// eslint-disable-next-line no-control-regex
const LABEL = /^[^\u0000-\u001f\u007f-\u009f\u2028\u2029]{1,200}$/;

export interface ReportData {
  v: 1;
  /** The image's repository: the comment's marker. */
  name: string;
  head: ImageSizeReport;
  base?: ImageSizeReport;
  label?: string;
  budgets: Budgets;
}

/** The markdown a person reads, then the data comment mode renders from. */
export function reportFileText(markdown: string, data: ReportData): string {
  const encoded = Buffer.from(JSON.stringify(data), 'utf8').toString('base64url');
  return `${markdown.replace(/\n*$/, '\n')}${DATA_PREFIX}${encoded}${DATA_SUFFIX}\n`;
}

function checkLimit(value: unknown, what: string): Limit | undefined {
  if (value === undefined) return undefined;
  const l = value as Partial<Limit> | null;
  if (
    typeof l !== 'object' ||
    l === null ||
    (l.kind !== 'bytes' && l.kind !== 'percent') ||
    typeof l.value !== 'number' ||
    !Number.isFinite(l.value) ||
    l.value < 0
  )
    throw new Error(`the ${what} budget is not a size or percentage`);
  return { kind: l.kind, value: l.value };
}

/**
 * The comment for a report file, rendered here from its checked data. Throws with the reason when
 * the file holds no data or a field does not match its grammar; `problems` receives the fields
 * that were dropped (a Go version).
 */
export function renderReportFile(
  text: string,
  problems: string[] = [],
): { name: string; body: string } {
  const line = text
    .split('\n')
    .reverse()
    .find((l) => l.startsWith(DATA_PREFIX));
  if (!line || !line.endsWith(DATA_SUFFIX))
    throw new Error(
      'it holds no report data (written by an older build-go-image?): upload the size-report-file of this version',
    );
  const encoded = line.slice(DATA_PREFIX.length, -DATA_SUFFIX.length);
  if (!/^[A-Za-z0-9_-]+$/.test(encoded)) throw new Error('its report data is not base64url');
  let data: Partial<ReportData>;
  try {
    data = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as Partial<ReportData>;
  } catch {
    throw new Error('its report data is not JSON');
  }
  if (typeof data !== 'object' || data === null || data.v !== 1)
    throw new Error('its report data is not version 1');
  if (typeof data.name !== 'string' || !NAME.test(data.name))
    throw new Error('its image name is not an image name');
  if (data.label !== undefined && (typeof data.label !== 'string' || !LABEL.test(data.label)))
    throw new Error('its baseline label is not one printable line of at most 200 characters');
  const head = checkReport(data.head);
  if (!head.report) throw new Error(`its report: ${head.problems.join('; ')}`);
  problems.push(...head.problems);
  let base: ImageSizeReport | undefined;
  if (data.base !== undefined) {
    const checked = checkReport(data.base);
    if (!checked.report) throw new Error(`its baseline: ${checked.problems.join('; ')}`);
    problems.push(...checked.problems);
    base = checked.report;
  }
  const b = (data.budgets ?? {}) as Partial<Budgets>;
  if (typeof b !== 'object' || b === null) throw new Error('its budgets are not an object');
  const budgets: Budgets = {
    warn: checkLimit(b.warn, 'size-warn'),
    fail: checkLimit(b.fail, 'size-fail'),
    max: checkLimit(b.max, 'size-max'),
  };
  const diff = diffReports(head.report, base, data.label);
  return {
    name: data.name,
    body: renderMarkdown(diff, data.name, evaluateBudgets(diff, budgets)),
  };
}
