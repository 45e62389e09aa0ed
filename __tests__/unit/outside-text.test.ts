// Outside text (registry indexes, saved baselines, part files, Go versions) is checked against its
// grammar when read, and whatever is rendered into markdown is escaped: a crafted value cannot add
// a column or a line, mention anyone, or plant a second marker.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mdCode, mdText, oneLine } from '../../src/markdown.ts';
import { parseReport } from '../../src/sizereport/baseline.ts';
import { diffReports } from '../../src/sizereport/diff.ts';
import { checkReport } from '../../src/sizereport/fields.ts';
import { measureImage, type ImageSizeReport } from '../../src/sizereport/measure.ts';
import { marker, renderMarkdown } from '../../src/sizereport/render.ts';
import type { ImageSource } from '../../src/sizereport/sources.ts';
import { renderSummary } from '../../src/summary.ts';

const d = (c: string) => `sha256:${c.repeat(64)}`;
const HOSTILE = [
  'linux/amd64 | evil | cell',
  'line one\nline two\r\n| x | y |',
  '@org/team please look',
  'cc @someone and @other-user',
  '<!-- build-go-image:size-report:ghcr.io/o/other -->',
  '`code` and ``` fence',
  '[click](https://evil.example) ![img](https://evil.example/x.png)',
  '*bold* _it_ ~~strike~~ #123 <script>alert(1)</script> &lt;',
  'x'.repeat(5000),
  '\u2028\u0000\u001b[31mred',
];

/** Pipes that separate cells (not backslash-escaped ones). */
const cellPipes = (row: string) =>
  row.replace(/\\\\/g, '').replace(/\\\|/g, '').split('|').length - 1;
const MENTION = /(^|[^\w`])@[A-Za-z0-9]/;

test('mdText: one line, no markup, no mention or reference, bounded', () => {
  for (const s of HOSTILE) {
    const t = mdText(s);
    // eslint-disable-next-line no-control-regex
    assert.ok(!/[\r\n\u2028\u0000\u001b]/.test(t), JSON.stringify(t));
    assert.equal(cellPipes(`| ${t} |`), 2, t);
    assert.doesNotMatch(t, MENTION);
    assert.doesNotMatch(t, /#\d/);
    assert.doesNotMatch(t, /[<>]/);
    assert.doesNotMatch(t, /(^|[^\\])[`*_[\]~]/);
    assert.ok(t.length < 700, `${t.length}`);
  }
  assert.equal(mdText('linux/amd64'), 'linux/amd64', 'plain values stay as they are');
  assert.equal(mdCode('ghcr.io/o/svc:pr-1'), '`ghcr.io/o/svc:pr-1`');
  assert.match(mdCode('a | b'), /^<code>a \\\| b<\/code>$/);
  assert.equal(oneLine('1.24.5\ngo-image=evil'), '1.24.5 go-image=evil');
});

function report(platform: string, instruction: string, extra: Partial<ImageSizeReport> = {}) {
  return {
    schema: 1 as const,
    image: 'ghcr.io/o/svc:pr-1',
    platforms: [
      {
        platform,
        digest: d('a'),
        compressed: 1000,
        layers: [{ digest: d('b'), size: 900, instruction }],
      },
    ],
    ...extra,
  };
}

test('the size table keeps its columns, mentions no one and has one marker, whatever the values', () => {
  for (const s of HOSTILE) {
    const head = report(s, s, { image: s, goVersion: s });
    const base = report(s, `${s} base`, { goVersion: `${s} old` });
    const diff = diffReports(head as ImageSizeReport, base as ImageSizeReport, s);
    const md = renderMarkdown(diff, 'ghcr.io/o/svc', {
      level: 'warning',
      messages: [`${s}: grew past size-warn (5%)`],
    });
    assert.ok(md.startsWith(marker('ghcr.io/o/svc')));
    assert.equal(md.split('<!--').length - 1, 1, 'exactly one marker');
    assert.doesNotMatch(md, MENTION);
    const lines = md.split('\n');
    // The platform table: header, separator, then exactly one row per platform.
    const header = lines.findIndex((l) => l.startsWith('| Platform |'));
    assert.equal(cellPipes(lines[header + 2]!), cellPipes(lines[header]!), lines[header + 2]);
    assert.equal(lines[header + 3], '', 'no extra line in the table');
    const layers = lines.findIndex((l) => l.startsWith('| Instruction |'));
    assert.equal(cellPipes(lines[layers + 2]!), 5, lines[layers + 2]);
    assert.equal(lines[layers + 3]!.startsWith('| '), true);
    assert.equal(lines[layers + 4], '', 'two layer rows, no more');
  }
});

test('the job summary keeps its two columns and mentions no one', () => {
  for (const s of HOSTILE) {
    const md = renderSummary({
      goVersion: s,
      goFrom: s,
      engine: s,
      goImage: s,
      platforms: [{ platform: s, how: 'native' }],
      cacheMounts: [{ id: s, hit: 'miss', restoredBytes: 0 }],
      digest: s,
      tags: [s],
    });
    assert.doesNotMatch(md, MENTION);
    assert.ok(!md.includes('<!--'));
    for (const row of md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| |')))
      assert.equal(cellPipes(row), 3, row);
  }
});

test('a saved baseline is read field by field: bad measurements refuse it, a bad Go version is dropped', () => {
  const good = report('linux/arm64/v8', 'RUN go build ./...', { goVersion: '1.24.5' });
  assert.deepEqual(parseReport(JSON.stringify(good)), good);
  const refused: [unknown, RegExp][] = [
    [report('linux/amd64 | x', 'COPY . .'), /platform .* not os\/arch/],
    [report('linux/amd64\n@org/team', 'COPY . .'), /platform/],
    [report('Linux/AMD64', 'COPY . .'), /platform/],
    [report('linux/amd64', 'RUN x\n| a | b |'), /instruction/],
    [report('linux/amd64', 'x'.repeat(201)), /instruction/],
    [report('linux/amd64', ''), /instruction/],
    [{ ...report('linux/amd64', 'COPY . .'), image: '<!-- marker -->' }, /image/],
    [{ ...report('linux/amd64', 'COPY . .'), image: '@org/team' }, /image/],
    [{ ...report('linux/amd64', 'COPY . .'), schema: 2 }, /schema/],
  ];
  for (const size of [-1, 1.5, '900', 2 ** 53, 1e300, null]) {
    const r = report('linux/amd64', 'COPY . .');
    (r.platforms[0]!.layers[0] as { size: unknown }).size = size;
    refused.push([r, /byte count/]);
    const p = report('linux/amd64', 'COPY . .');
    (p.platforms[0] as { compressed: unknown }).compressed = size;
    refused.push([p, /byte count/]);
  }
  for (const digest of ['sha256:short', `${d('a')}\n`, 'md5:abc', d('A')]) {
    const r = report('linux/amd64', 'COPY . .');
    r.platforms[0]!.layers[0]!.digest = digest;
    refused.push([r, /digest/]);
  }
  const twice = report('linux/amd64', 'COPY . .');
  twice.platforms.push({ ...twice.platforms[0]! });
  refused.push([twice, /listed twice/]);
  for (const [value, why] of refused) {
    const problems: string[] = [];
    assert.equal(parseReport(JSON.stringify(value), problems), undefined, JSON.stringify(value));
    assert.match(problems.join(), why);
  }
  for (const goVersion of [
    '1.24.5\n@org/team',
    '1.24 | x',
    '<!-- m -->',
    'go1.24.5',
    42,
    '1.024',
    '1.24.05',
    '1.25rc01',
  ]) {
    const checked = checkReport({ ...good, goVersion });
    assert.ok(checked.report, String(goVersion));
    assert.equal(checked.report.goVersion, undefined);
    assert.match(checked.problems.join(), /Go version .* dropped/);
  }
  // Unknown fields are not carried along into the comment or the outputs.
  const extra = checkReport({ ...good, note: '@org/team' }).report!;
  assert.ok(!JSON.stringify(extra).includes('@org'));
});

/** An image source answering what a crafted registry index would. */
function craftedSource(platform: string, layer: Record<string, unknown>, createdBy = 'COPY . .') {
  const config = Buffer.from(JSON.stringify({ history: [{ created_by: createdBy }] }));
  const source: ImageSource = {
    platforms: async () => [
      {
        platform,
        digest: d('c'),
        manifest: {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: d('c'),
          raw: Buffer.from('{}'),
          body: {
            config: {
              mediaType: 'application/vnd.oci.image.config.v1+json',
              digest: d('e'),
              size: config.length,
            },
            layers: [
              {
                mediaType: 'application/vnd.oci.image.layer.v1.tar',
                digest: d('f'),
                size: 10,
                ...layer,
              },
            ],
          },
        } as never,
      },
    ],
    blob: async () => config,
    streamBlob: async () => {},
  };
  return source;
}

test('a registry index is checked when read: bad platforms, sizes, digests, media types refuse it', async () => {
  const ok = await measureImage(
    craftedSource('linux/arm/v7', {}, 'RUN a\nb\u0000c # buildkit'),
    'ghcr.io/o/svc:1',
  );
  assert.equal(ok?.platforms[0]?.layers[0]?.instruction, 'RUN a b c', 'one printable line');
  const cases: [ImageSource, RegExp][] = [
    [craftedSource('linux/amd64 | @org/team', {}), /platform/],
    [craftedSource('linux/amd64\n<!-- m -->', {}), /platform/],
    [craftedSource('linux/amd64', { size: '10' }), /byte count/],
    [craftedSource('linux/amd64', { size: -5 }), /byte count/],
    [craftedSource('linux/amd64', { digest: 'sha256:../../etc' }), /digest/],
    [craftedSource('linux/amd64', { mediaType: 'text/html\n@org/team' }), /media type/],
  ];
  for (const [source, why] of cases)
    await assert.rejects(
      () => measureImage(source, 'ghcr.io/o/svc:1', { uncompressed: true }),
      why,
    );
});
