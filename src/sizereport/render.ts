// The size report as markdown: one table per image, per-layer detail folded below it. The hidden
// marker identifies the comment to update; the body stays under GitHub's 65,536-character limit.
import type { SizeDiff } from './diff.ts';
import type { BudgetVerdict } from './budgets.ts';
import { humanBytes } from '../format.ts';
import { mdCode, mdText } from '../markdown.ts';
import { renderGoSection, renderGoText } from './render-go.ts';

export const COMMENT_LIMIT = 65_536;

export function marker(name: string): string {
  return `<!-- build-go-image:size-report:${name.replace(/[^A-Za-z0-9_./:@-]/g, '_')} -->`;
}

function delta(base: number | undefined, head: number | undefined): string {
  if (base === undefined || head === undefined) return '—';
  const d = head - base;
  const pct = base > 0 ? ` (${d >= 0 ? '+' : ''}${((d / base) * 100).toFixed(1)}%)` : '';
  return `${d > 0 ? '+' : ''}${humanBytes(d)}${pct}`;
}

export function renderMarkdown(
  diff: SizeDiff,
  name: string,
  verdict?: BudgetVerdict,
  withLayers = true,
): string {
  // Every value below that came from outside (image names, platforms, Go versions, instructions,
  // a saved baseline) goes through mdText/mdCode: it cannot add a column, a line, a mention or a
  // second marker. The marker itself is the only raw HTML comment.
  const lines: string[] = [marker(name), `### Image size: ${mdCode(diff.image)}`, ''];
  if (!diff.hasBaseline)
    lines.push(
      'No baseline to compare with: this is the first measured build (or the base branch has no saved report).',
      '',
    );
  else if (diff.baselineLabel) lines.push(`Compared with ${mdText(diff.baselineLabel)}.`, '');
  if (diff.hasBaseline && diff.goBase !== diff.goHead && diff.goHead)
    lines.push(`Go: ${mdText(diff.goBase ?? '?')} → ${mdText(diff.goHead)}`, '');
  const unpacked = diff.platforms.some((p) => p.headUnpacked !== undefined);
  lines.push(
    `| Platform | Base | New | Change |${unpacked ? ' Unpacked | Unpacked change |' : ''}`,
    `|---|---:|---:|---:|${unpacked ? '---:|---:|' : ''}`,
  );
  for (const p of diff.platforms) {
    const size = (n: number | undefined) => (n === undefined ? '—' : humanBytes(n));
    const extra = unpacked
      ? ` ${size(p.headUnpacked)} | ${delta(p.baseUnpacked, p.headUnpacked)} |`
      : '';
    lines.push(
      `| ${mdText(p.platform)} | ${size(p.base)} | ${size(p.head)} | ${delta(p.base, p.head)} |${extra}`,
    );
  }
  lines.push('');
  if (verdict && verdict.messages.length > 0) {
    lines.push(
      `**Size budget ${verdict.level === 'failure' ? 'exceeded' : 'warning'}:**`,
      ...verdict.messages.map((m) => `- ${mdText(m, 500)}`),
      '',
    );
  }
  lines.push(...renderGoSection(diff.go, diff.hasBaseline));
  if (withLayers) {
    for (const p of diff.platforms) {
      lines.push(
        `<details><summary>${mdText(p.platform)}: layers</summary>`,
        '',
        '| Instruction | Base | New | Change |',
        '|---|---:|---:|---:|',
      );
      for (const l of p.layers)
        lines.push(
          `| ${mdCode(l.instruction)} | ${l.base === undefined ? 'added' : humanBytes(l.base)} | ${l.head === undefined ? 'removed' : humanBytes(l.head)} | ${delta(l.base, l.head)} |`,
        );
      lines.push('', '</details>', '');
    }
  }
  const body = lines.join('\n');
  if (body.length < COMMENT_LIMIT - 100) return body;
  if (withLayers)
    return (
      renderMarkdown(diff, name, verdict, false) +
      '\n_Per-layer detail left out: the report would exceed the comment size limit._\n'
    );
  return (
    body.slice(0, body.lastIndexOf('\n', COMMENT_LIMIT - 200)) +
    '\n\n_Report truncated at the comment size limit._\n'
  );
}

/** The per-platform table of renderMarkdown as aligned plain text, for a terminal. */
export function renderSizeText(diff: SizeDiff, verdict?: BudgetVerdict): string {
  const size = (n: number | undefined) => (n === undefined ? '—' : humanBytes(n));
  const unpacked = diff.platforms.some((p) => p.headUnpacked !== undefined);
  const rows = [
    ['Platform', 'Base', 'New', 'Change', ...(unpacked ? ['Unpacked', 'Unpacked change'] : [])],
    ...diff.platforms.map((p) => [
      p.platform,
      size(p.base),
      size(p.head),
      delta(p.base, p.head),
      ...(unpacked ? [size(p.headUnpacked), delta(p.baseUnpacked, p.headUnpacked)] : []),
    ]),
  ];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const lines = [
    `Image size: ${diff.image}`,
    diff.hasBaseline
      ? `compared with ${diff.baselineLabel ?? 'the baseline'}`
      : 'no baseline to compare with',
    ...rows.map((r) =>
      r
        .map((v, c) => (c === 0 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!)))
        .join('  ')
        .trimEnd(),
    ),
  ];
  if (verdict && verdict.messages.length > 0)
    lines.push(
      `size budget ${verdict.level === 'failure' ? 'exceeded' : 'warning'}:`,
      ...verdict.messages.map((m) => `- ${m}`),
    );
  lines.push(...renderGoText(diff.go, diff.hasBaseline));
  return lines.join('\n');
}
