import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffReports } from '../../src/sizereport/diff.ts';
import { evaluateBudgets, parseLimit } from '../../src/sizereport/budgets.ts';
import { humanBytes } from '../../src/format.ts';
import { COMMENT_LIMIT, marker, renderMarkdown } from '../../src/sizereport/render.ts';
import { shortInstruction, type ImageSizeReport } from '../../src/sizereport/measure.ts';
import { parseReport } from '../../src/sizereport/baseline.ts';
import { upsertComment } from '../../src/github/comment.ts';
import { startGitHubApi } from '../helpers/github-api.ts';

const MiB = 1024 * 1024;
const report = (bin: number, extra?: number): ImageSizeReport => ({
  schema: 1,
  image: 'ghcr.io/o/svc:pr-1',
  goVersion: '1.24.5',
  platforms: ['linux/amd64', 'linux/arm64'].map((platform, i) => {
    const layers = [
      {
        digest: `sha256:${`${i}a`.repeat(32)}`,
        size: bin + i * MiB,
        instruction: 'COPY /out/server /server',
      },
    ];
    if (extra)
      layers.push({
        digest: `sha256:${`${i}b`.repeat(32)}`,
        size: extra,
        instruction: 'COPY assets /assets',
      });
    return {
      platform,
      digest: `sha256:${`${i}`.repeat(64)}`,
      compressed: layers.reduce((a, l) => a + l.size, 0) + 500,
      layers,
    };
  }),
});

test('instructions from image history are shortened to what the Dockerfile said', () => {
  assert.equal(
    shortInstruction('RUN |2 TARGETOS=linux TARGETARCH=arm64 /bin/sh -c go build ./... # buildkit'),
    'RUN go build ./...',
  );
  assert.equal(shortInstruction('/bin/sh -c #(nop) COPY file:abc in /x '), 'COPY file:abc in /x');
  assert.equal(shortInstruction('COPY /out/server /server # buildkit'), 'COPY /out/server /server');
});

test('human units are IEC with one decimal everywhere', () => {
  assert.deepEqual(
    [humanBytes(512), humanBytes(1536), humanBytes(3 * MiB + MiB / 2), humanBytes(-2048)],
    ['512 B', '1.5 KiB', '3.5 MiB', '-2.0 KiB'],
  );
});

test('diff per platform and per layer, rendered with marker, table and folded layer detail', () => {
  const diff = diffReports(report(3 * MiB, MiB), report(3 * MiB), 'the last build of main');
  assert.deepEqual(
    diff.platforms.map((p) => (p.head ?? 0) - (p.base ?? 0)),
    [MiB, MiB],
  );
  const md = renderMarkdown(diff, 'o/svc');
  assert.ok(md.startsWith(marker('o/svc')));
  assert.match(md, /\| linux\/amd64 \| 3\.0 MiB \| 4\.0 MiB \| \+1\.0 MiB \(\+33\.3%\) \|/);
  assert.match(md, /\| `COPY assets \/assets` \| added \| 1\.0 MiB \| — \|/);
  assert.match(md, /<details><summary>linux\/arm64: layers<\/summary>/);
});

test('no baseline is said plainly', () => {
  const md = renderMarkdown(diffReports(report(MiB), undefined), 'x');
  assert.match(md, /No baseline to compare with/);
  assert.match(md, /\| linux\/amd64 \| — \| 1\.0 MiB \| — \|/);
});

test('huge reports stay under the comment limit: layer detail goes first, marker stays', () => {
  const big = report(MiB);
  for (const p of big.platforms)
    for (let i = 0; i < 3000; i++)
      p.layers.push({
        digest: `sha256:${i}`,
        size: i,
        instruction: `RUN step ${i} ${'x'.repeat(40)}`,
      });
  const md = renderMarkdown(diffReports(big, report(MiB)), 'x');
  assert.ok(md.length < COMMENT_LIMIT);
  assert.ok(md.startsWith(marker('x')));
  assert.match(md, /Per-layer detail left out/);
});

test('budgets: percent and absolute growth, absolute maximum, strict parsing', () => {
  const diff = diffReports(report(3 * MiB, MiB), report(3 * MiB));
  assert.deepEqual(
    evaluateBudgets(diff, { warn: parseLimit('size-warn', '10%') }).level,
    'warning',
  );
  const fail = evaluateBudgets(diff, {
    warn: parseLimit('size-warn', '10%'),
    fail: parseLimit('size-fail', '512KiB'),
  });
  assert.equal(fail.level, 'failure');
  assert.match(fail.messages[0]!, /linux\/amd64: grew past size-fail/);
  assert.equal(evaluateBudgets(diff, { fail: parseLimit('size-fail', '50%') }).level, 'ok');
  assert.equal(
    evaluateBudgets(diff, { max: parseLimit('size-max', '4MiB', false) }).level,
    'failure',
  );
  assert.throws(() => parseLimit('size-warn', 'ten'), /input "size-warn": "ten" is not a size/);
  assert.throws(() => parseLimit('size-max', '10%', false), /input "size-max": .*not a percentage/);
  const md = renderMarkdown(diff, 'x', fail);
  assert.match(md, /Size budget exceeded/);
});

test('a restored baseline report is validated strictly', () => {
  assert.ok(parseReport(JSON.stringify(report(MiB))));
  assert.equal(parseReport(JSON.stringify({ schema: 2, platforms: [] })), undefined);
  assert.equal(
    parseReport(
      JSON.stringify({ schema: 1, platforms: [{ platform: 'x', compressed: '1', layers: [] }] }),
    ),
    undefined,
  );
});

test("sticky comment: created once, updated in place, unchanged skipped, found on a later page, others' comments untouched", async (t) => {
  const api = await startGitHubApi({
    'ghp-bot': { login: 'ci-bot', id: 7, type: 'User', write: true },
    'ghp-other': { login: 'someone', id: 8, type: 'User', write: true },
  });
  t.after(() => api.close());
  const m = marker('o/svc');
  // Another user quotes the marker: it must never be touched. 250 other comments push ours to page 3.
  const foreign = api.addComment(5, 'someone', `${m}\nI copied your report`);
  for (let i = 0; i < 250; i++) api.addComment(5, 'someone', `chatter ${i}`);
  const opts = { token: 'ghp-bot', baseUrl: api.url, owner: 'o', repo: 'r', issue: 5, marker: m };
  const created = await upsertComment({ ...opts, body: `${m}\nv1` });
  assert.equal(created.action, 'created');
  const updated = await upsertComment({ ...opts, body: `${m}\nv2` });
  assert.deepEqual(updated, { action: 'updated', id: (created as { id: number }).id });
  const same = await upsertComment({ ...opts, body: `${m}\nv2` });
  assert.equal(same.action, 'unchanged');
  const mine = api.comments.get(5)!.filter((c) => c.user.login === 'ci-bot');
  assert.equal(mine.length, 1);
  assert.equal(mine[0]!.body, `${m}\nv2`);
  assert.equal(
    api.comments.get(5)!.find((c) => c.id === foreign.id)!.body,
    `${m}\nI copied your report`,
  );
  assert.ok(
    api.requests.some((r) => r.path.includes('page=3')),
    'paged through every comment',
  );
});

test('the workflow token (an installation token) finds its bot comments; a read-only token degrades to a warning', async (t) => {
  const api = await startGitHubApi({
    'ghs-workflow': {
      login: 'github-actions[bot]',
      id: 41898282,
      type: 'Bot',
      write: true,
      installation: true,
    },
    'ghs-fork': {
      login: 'github-actions[bot]',
      id: 41898282,
      type: 'Bot',
      write: false,
      installation: true,
    },
  });
  t.after(() => api.close());
  const m = marker('svc');
  const opts = { baseUrl: api.url, owner: 'o', repo: 'r', issue: 9, marker: m };
  assert.equal(
    (await upsertComment({ ...opts, token: 'ghs-workflow', body: `${m}\na` })).action,
    'created',
  );
  assert.equal(
    (await upsertComment({ ...opts, token: 'ghs-workflow', body: `${m}\nb` })).action,
    'updated',
  );
  const denied = await upsertComment({ ...opts, token: 'ghs-fork', body: `${m}\nc` });
  assert.equal(denied.action, 'denied');
  assert.match((denied as { reason: string }).reason, /HTTP 403.*two-workflow comment pattern/);
  assert.equal(api.comments.get(9)![0]!.body, `${m}\nb`, 'nothing was lost');
});

test('rendering matches the golden file (UPDATE_GOLDEN=1 rewrites it)', async () => {
  const { readFileSync, writeFileSync } = await import('node:fs');
  const golden = new URL('../fixtures/sizereport/pr-adds-layer.md', import.meta.url);
  const base = report(3 * MiB);
  base.goVersion = '1.24.4';
  const head = report(3 * MiB + 12_345, 345_678);
  for (const p of head.platforms) p.uncompressed = p.compressed * 2;
  for (const p of base.platforms) p.uncompressed = p.compressed * 2;
  const diff = diffReports(head, base, 'the last build of main');
  const md = renderMarkdown(
    diff,
    'octo/service',
    evaluateBudgets(diff, { warn: parseLimit('size-warn', '5%') }),
  );
  if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(golden, md);
  assert.equal(md, readFileSync(golden, 'utf8'));
});

test('unpacked sizes of layers the baseline already measured are reused, not unpacked again', async () => {
  const { gzipSync } = await import('node:zlib');
  const { createHash } = await import('node:crypto');
  const { measureImage, knownLayerSizes } = await import('../../src/sizereport/measure.ts');
  const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
  const baseLayer = gzipSync(Buffer.alloc(100_000, 1));
  const appLayer = gzipSync(Buffer.alloc(30_000, 2));
  const config = Buffer.from(
    JSON.stringify({ history: [{ created_by: 'base' }, { created_by: 'COPY app' }] }),
  );
  const blobs = new Map([baseLayer, appLayer, config].map((b) => [sha(b), b]));
  const streamed: string[] = [];
  const layer = (b: Buffer) => ({
    mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip',
    digest: sha(b),
    size: b.length,
  });
  const source = {
    platforms: async () => [
      {
        platform: 'linux/amd64',
        digest: 'sha256:' + 'f'.repeat(64),
        manifest: {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: 'sha256:' + 'f'.repeat(64),
          raw: Buffer.from('{}'),
          body: {
            config: {
              mediaType: 'application/vnd.oci.image.config.v1+json',
              digest: sha(config),
              size: config.length,
            },
            layers: [layer(baseLayer), layer(appLayer)],
          },
        },
      },
    ],
    blob: async (d: string) => blobs.get(d)!,
    streamBlob: async (d: string, sink: (c: Buffer) => void) => {
      streamed.push(d);
      sink(blobs.get(d)!);
    },
  };
  const cold = await measureImage(source as never, 'x', { uncompressed: true });
  assert.deepEqual(
    cold?.platforms[0]?.layers.map((l) => l.uncompressed),
    [100_000, 30_000],
  );
  assert.equal(streamed.length, 2);
  streamed.length = 0;
  // The baseline knows the base layer: only the app layer is unpacked.
  const base = {
    ...cold!,
    platforms: [{ ...cold!.platforms[0]!, layers: [cold!.platforms[0]!.layers[0]!] }],
  };
  const warm = await measureImage(source as never, 'x', {
    uncompressed: true,
    known: knownLayerSizes(base),
  });
  assert.deepEqual(
    warm?.platforms[0]?.layers.map((l) => l.uncompressed),
    [100_000, 30_000],
  );
  assert.deepEqual(streamed, [sha(appLayer)]);
});
