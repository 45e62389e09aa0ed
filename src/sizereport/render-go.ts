// The Go section of the size report: per executable, the modules that changed most (added,
// removed, grown, shrunk, new version) with one column per platform, the Go version change and
// the totals; the rest of a long list folded. Every value from the image (paths, module paths,
// versions, reasons) goes through mdText/mdCode.
import { humanBytes } from '../format.ts';
import { mdCode, mdText } from '../markdown.ts';
import type { ExecutableDiff, GoDiff, ModuleChange } from './module-diff.ts';

/** Module rows shown before the rest is folded. */
export const SHOWN_MODULES = 8;
/** Module rows in the folded part; the comment has a size limit and 8 executables may share it. */
export const FOLDED_MODULES = 30;
/** Executables shown before the rest is folded. */
const SHOWN_EXECUTABLES = 2;

/** `go1.24.4` as build info says it -> `1.24.4` after the word Go; `devel go1.26-abc` stays. */
const release = (v: string) => v.replace(/^go(?=\d)/, '');

const signed = (n: number) => `${n > 0 ? '+' : ''}${humanBytes(n)}`;

function cell(c: ModuleChange | undefined): string {
  if (!c) return '—';
  if (c.kind === 'added') return `${signed(c.delta)} (new)`;
  if (c.kind === 'removed') return `${signed(c.delta)} (removed)`;
  if (c.kind === 'same') return humanBytes(c.head ?? 0);
  return c.delta === 0 ? '±0 B' : signed(c.delta);
}

function version(c: ModuleChange): string {
  const v = (s: string | undefined) => (s ? mdText(s, 80) : '—');
  if (c.kind === 'added') return `${v(c.headVersion)} (new)`;
  if (c.kind === 'removed') return `${v(c.baseVersion)} (removed)`;
  if (c.kind === 'version') return `${v(c.baseVersion)} → ${v(c.headVersion)}`;
  return v(c.headVersion ?? c.baseVersion);
}

/** Rows of one executable across platforms: each module once, its largest change first. */
function table(
  perPlatform: ExecutableDiff[],
  rowsOf: (e: ExecutableDiff) => ModuleChange[],
): string[] {
  const byPath = new Map<string, Map<string, ModuleChange>>();
  for (const e of perPlatform)
    for (const c of rowsOf(e)) {
      if (!byPath.has(c.path)) byPath.set(c.path, new Map());
      byPath.get(c.path)!.set(e.platform, c);
    }
  const weight = (m: Map<string, ModuleChange>) =>
    Math.max(...[...m.values()].map((c) => Math.abs(c.kind === 'same' ? (c.head ?? 0) : c.delta)));
  const rows = [...byPath.entries()].sort(([, a], [, b]) => weight(b) - weight(a));
  const header = [
    `| Module | Version | ${perPlatform.map((e) => mdText(e.platform)).join(' | ')} |`,
    `|---|---|${perPlatform.map(() => '---:|').join('')}`,
  ];
  const line = ([path, m]: [string, Map<string, ModuleChange>]) =>
    `| ${mdCode(path)} | ${version([...m.values()][0]!)} | ${perPlatform.map((e) => cell(m.get(e.platform))).join(' | ')} |`;
  const out = [...header, ...rows.slice(0, SHOWN_MODULES).map(line)];
  if (rows.length > SHOWN_MODULES) {
    const folded = rows.slice(SHOWN_MODULES, SHOWN_MODULES + FOLDED_MODULES);
    const left = rows.length - SHOWN_MODULES - folded.length;
    out.push(
      '',
      `<details><summary>${rows.length - SHOWN_MODULES} more modules</summary>`,
      '',
      ...header,
      ...folded.map(line),
      ...(left > 0
        ? ['', `_${left} smaller changes not listed (the size-report output has them all)._`]
        : []),
      '',
      '</details>',
    );
  }
  return out;
}

function executableBlock(perPlatform: ExecutableDiff[], hasBaseline: boolean): string[] {
  const first = perPlatform[0]!;
  const name = `${mdCode(`/${first.file}`)}${first.entrypoint ? ' (entrypoint)' : ''}`;
  const goBase = perPlatform.find((e) => e.goBase)?.goBase;
  const goHead = perPlatform.find((e) => e.goHead)?.goHead;
  const v = (s: string) => mdText(release(s), 60);
  const go =
    hasBaseline && goBase && goHead && goBase !== goHead
      ? `Go ${v(goBase)} → ${v(goHead)}`
      : `Go ${v(goHead ?? goBase ?? '?')}`;
  const totals = perPlatform.map((e) => {
    const p = mdText(e.platform);
    if (e.headTotal === undefined) return `${p}: removed (was ${humanBytes(e.baseTotal ?? 0)})`;
    if (!hasBaseline || e.baseTotal === undefined)
      return `${p}: ${humanBytes(e.headTotal)}${hasBaseline ? ' (new)' : ''}`;
    return `${p}: ${humanBytes(e.baseTotal)} → ${humanBytes(e.headTotal)} (${e.headTotal === e.baseTotal ? '±0 B' : signed(e.headTotal - e.baseTotal)})`;
  });
  const lines = [`**${name}** · ${go} · ${totals.join(' · ')}`, ''];
  const notAttributed = perPlatform.find((e) => !e.attributed);
  if (notAttributed)
    lines.push(
      `_Sizes not attributed to modules: ${mdText(notAttributed.reason ?? 'unknown function table format', 300)}._`,
      '',
    );
  const compared = hasBaseline && perPlatform.some((e) => e.baseTotal !== undefined);
  if (compared && perPlatform.every((e) => e.changes.length === 0))
    lines.push('No module changed.', '');
  else if (compared) lines.push(...table(perPlatform, (e) => e.changes), '');
  else if (perPlatform.some((e) => e.largest.length > 0))
    lines.push('Largest modules:', '', ...table(perPlatform, (e) => e.largest), '');
  return lines;
}

/** The section's lines; none for an image without Go executables on either side. */
export function renderGoSection(go: GoDiff | undefined, hasBaseline: boolean): string[] {
  if (!go || go.executables.length === 0) return [];
  const files = [...new Set(go.executables.map((e) => e.file))];
  // The entrypoint first, as the platforms list them.
  files.sort(
    (a, b) =>
      Number(go.executables.some((e) => e.file === b && e.entrypoint)) -
      Number(go.executables.some((e) => e.file === a && e.entrypoint)),
  );
  const blocks = files.map((f) =>
    executableBlock(
      go.executables.filter((e) => e.file === f),
      hasBaseline,
    ),
  );
  const lines = ['#### Go modules', ''];
  for (const b of blocks.slice(0, SHOWN_EXECUTABLES)) lines.push(...b);
  if (blocks.length > SHOWN_EXECUTABLES)
    lines.push(
      `<details><summary>${blocks.length - SHOWN_EXECUTABLES} more Go executables</summary>`,
      '',
      ...blocks.slice(SHOWN_EXECUTABLES).flat(),
      '</details>',
      '',
    );
  if (go.executables.some((e) => e.attributed))
    lines.push(
      '_Sizes from the function table: `std` is the standard library, `other` the data, runtime tables and padding no function owns._',
      '',
    );
  for (const m of go.more)
    lines.push(`_${m.count} more Go executables on ${mdText(m.platform)} are not listed._`, '');
  if (go.skipped.length > 0)
    lines.push(
      `<details><summary>${go.skipped.length} ELF files not analysed</summary>`,
      '',
      ...go.skipped.map(
        (s) => `- ${mdText(s.platform)} ${mdCode(`/${s.file}`)}: ${mdText(s.reason, 300)}`,
      ),
      '',
      '</details>',
      '',
    );
  return lines;
}

/** The section as plain lines for a terminal: per executable and platform, the largest changes. */
export function renderGoText(go: GoDiff | undefined, hasBaseline: boolean): string[] {
  if (!go || go.executables.length === 0) return [];
  const lines = ['Go modules:'];
  for (const e of go.executables) {
    const total =
      e.headTotal === undefined
        ? 'removed'
        : hasBaseline && e.baseTotal !== undefined
          ? `${humanBytes(e.headTotal)} (${signed(e.headTotal - e.baseTotal)})`
          : humanBytes(e.headTotal);
    const toolchain =
      hasBaseline && e.goBase && e.goHead && e.goBase !== e.goHead
        ? `Go ${release(e.goBase)} -> ${release(e.goHead)}`
        : `Go ${release(e.goHead ?? e.goBase ?? '?')}`;
    lines.push(`  /${e.file} ${e.platform}: ${toolchain}, ${total}`);
    const rows = hasBaseline ? e.changes : e.largest;
    for (const c of rows.slice(0, 5))
      lines.push(
        `    ${c.path} ${c.kind === 'version' ? `${c.baseVersion} -> ${c.headVersion}` : (c.headVersion ?? c.baseVersion ?? '')} ${hasBaseline ? `${cell(c)}` : humanBytes(c.head ?? 0)}`.trimEnd(),
      );
    if (rows.length > 5) lines.push(`    ... ${rows.length - 5} more`);
  }
  return lines;
}
