// A comment list the API never ends (a next link on every page) is read to a bound, then the
// comment is not posted: creating one without having seen every page could add a second.
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { MAX_COMMENT_PAGES, upsertComment } from '../../src/github/comment.ts';

/** An API whose comment pages each hold `perPage` comments of others; `last` ends the list. */
async function api(opts: { last?: number; perPage: number; ours?: number }) {
  let listed = 0;
  let written = 0;
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    res.setHeader('content-type', 'application/json');
    if (url.pathname === '/user') return res.end('{"login":"ci-bot"}');
    if (req.method === 'GET' && url.pathname.endsWith('/comments')) {
      listed++;
      const page = Number(url.searchParams.get('page') ?? '1');
      const items = Array.from({ length: opts.perPage }, (_, i) => ({
        id: page * 1000 + i,
        user: { login: page === opts.ours && i === 0 ? 'ci-bot' : 'someone' },
        body: page === opts.ours && i === 0 ? '<!-- m -->\nold' : `comment ${page}.${i}`,
      }));
      if (opts.last === undefined || page < opts.last) {
        const next = new URL(url);
        next.searchParams.set('page', String(page + 1));
        res.setHeader(
          'link',
          `<http://${req.headers.host}${next.pathname}${next.search}>; rel="next"`,
        );
      }
      return res.end(JSON.stringify(items));
    }
    written++;
    res.statusCode = req.method === 'POST' ? 201 : 200;
    res.end('{"id":99}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts: () => ({ listed, written }),
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const upsert = (url: string) =>
  upsertComment({
    token: 't',
    baseUrl: url,
    owner: 'o',
    repo: 'r',
    issue: 1,
    marker: '<!-- m -->',
    body: '<!-- m -->\nreport',
    retryBackoffMs: 1,
  });

test('a comment list that never ends: read to the bound, nothing posted', async (t) => {
  const server = await api({ perPage: 1 });
  t.after(() => server.close());
  const started = Date.now();
  const outcome = await upsert(server.url);
  assert.equal(outcome.action, 'failed');
  assert.match(
    (outcome as { reason: string }).reason,
    /^#1 lists more than \d+ comments \(the API kept offering a next page\)/,
  );
  assert.deepEqual(server.counts(), { listed: MAX_COMMENT_PAGES + 1, written: 0 });
  assert.ok(Date.now() - started < 30_000, `${Date.now() - started} ms`);
});

test('a long list that ends is read to its end: our comment on its last page is updated', async (t) => {
  for (const last of [1, 2, MAX_COMMENT_PAGES]) {
    const server = await api({ perPage: 3, last, ours: last });
    t.after(() => server.close());
    assert.deepEqual(await upsert(server.url), { action: 'updated', id: last * 1000 }, `${last}`);
    assert.deepEqual(server.counts(), { listed: last, written: 1 });
  }
});
