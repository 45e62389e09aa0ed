// Comment mode never posts the markdown of a report file (a fork's code wrote it): it renders the
// comment from the file's data, every field checked, exactly as the build itself would have.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { evaluateBudgets, parseLimit } from '../../src/sizereport/budgets.ts';
import { diffReports } from '../../src/sizereport/diff.ts';
import type { ImageSizeReport } from '../../src/sizereport/measure.ts';
import { marker, renderMarkdown } from '../../src/sizereport/render.ts';
import {
  renderReportFile,
  reportFileText,
  type ReportData,
} from '../../src/sizereport/report-file.ts';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const report = (size: number, goVersion = '1.24.5'): ImageSizeReport => ({
  schema: 1,
  image: 'ghcr.io/octo/service:pr-7',
  goVersion,
  platforms: ['linux/amd64', 'linux/arm64'].map((platform, i) => ({
    platform,
    digest: d(String(i)),
    compressed: size + i,
    layers: [{ digest: d('a'), size: size + i, instruction: 'COPY /out/server /server' }],
  })),
});
const data = (over: Partial<Record<keyof ReportData, unknown>> = {}) =>
  ({
    v: 1,
    name: 'ghcr.io/octo/service',
    head: report(2_000_000),
    base: report(1_000_000, '1.24.4'),
    label: 'the last build of main',
    budgets: { warn: parseLimit('size-warn', '10%') },
    ...over,
  }) as ReportData;
const file = (markdown: string, over = {}) => reportFileText(markdown, data(over));

test('the comment is what the build would have posted, rendered from the data', () => {
  const d0 = data();
  const diff = diffReports(d0.head, d0.base, d0.label);
  const expected = renderMarkdown(diff, d0.name, evaluateBudgets(diff, d0.budgets));
  const text = reportFileText(expected, d0);
  assert.ok(text.startsWith(expected), 'a person still reads the markdown first');
  const { name, body } = renderReportFile(text);
  assert.equal(name, 'ghcr.io/octo/service');
  assert.equal(body, expected);
  assert.match(body, /size-warn/);
});

test("the file's own markdown never reaches the comment", () => {
  const forged = [
    marker('ghcr.io/octo/service'),
    '@org/team @everyone please approve',
    '<!-- build-go-image:size-report:ghcr.io/octo/other -->',
    '[click here](https://evil.example) ![x](https://evil.example/p.png)',
    '| a | b | c | d | e |',
  ].join('\n');
  const { body } = renderReportFile(file(forged));
  assert.ok(!body.includes('@org') && !body.includes('@everyone'));
  assert.ok(!body.includes('evil.example'));
  assert.equal(body.split('<!--').length - 1, 1, 'one marker');
});

test('forged data is refused with the field named', () => {
  const platform = (p: string) => {
    const h = report(1);
    h.platforms[0]!.platform = p;
    return h;
  };
  const cases: [string, RegExp][] = [
    [file('m', { head: platform('linux/amd64 | @org/team') }), /its report: platform/],
    [file('m', { base: platform('linux/amd64\n<!-- m -->') }), /its baseline: platform/],
    [file('m', { name: 'x --> <!-- y' }), /image name/],
    [file('m', { name: '' }), /image name/],
    [file('m', { label: 'main\n@org/team' }), /baseline label/],
    [file('m', { label: 'x'.repeat(201) }), /baseline label/],
    [file('m', { budgets: { warn: { kind: 'evil', value: 1 } } }), /size-warn budget/],
    [file('m', { budgets: { max: { kind: 'bytes', value: -1 } } }), /size-max budget/],
    [file('m', { v: 2 }), /version 1/],
    ['m\n<!-- build-go-image:size-report-data:not*base64 -->\n', /not base64url/],
    [
      `m\n<!-- build-go-image:size-report-data:${Buffer.from('{').toString('base64url')} -->\n`,
      /not JSON/,
    ],
    ['<!-- build-go-image:size-report:x -->\nonly markdown\n', /no report data/],
  ];
  for (const [text, why] of cases) assert.throws(() => renderReportFile(text), why, text);
});

test('a Go version that is not a Go release is dropped and said, the rest is posted', () => {
  const problems: string[] = [];
  const { body } = renderReportFile(file('m', { head: report(5, '1.24.5\n@org/team') }), problems);
  assert.match(problems.join(), /Go version .* dropped/);
  assert.ok(!body.includes('@org'));
});
