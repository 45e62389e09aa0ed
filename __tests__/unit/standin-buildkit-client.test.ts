// What BuildKit's `gha` client (tonistiigi/go-actions-cache, v2) needs from the cache stand-in,
// in the shapes it sends: a runtime token it can parse (JWT with ac/nbf/exp), a reservation, an
// upload as Put Block + Put Block List (the Azure Go SDK's UploadStream), a finalize, a lookup by
// key prefix (its index is `index-<scope>-...#<n>`), and reads from an offset (x-ms-range).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startCacheServer } from '../helpers/cache-server.ts';

test('the stand-in serves what BuildKit’s gha client sends', async (t) => {
  const cache = await startCacheServer();
  t.after(() => cache.close());
  const env = cache.env();
  const [, payload] = env['ACTIONS_RUNTIME_TOKEN']!.split('.');
  const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString('utf8')) as {
    ac: string;
    nbf: number;
    exp: number;
  };
  const now = Date.now() / 1000;
  assert.ok(claims.nbf < now && claims.exp > now);
  assert.deepEqual(JSON.parse(claims.ac), [{ Scope: 'refs/heads/main', Permission: 3 }]);

  const twirp = async (method: string, body: unknown) => {
    const res = await fetch(
      `${env['ACTIONS_RESULTS_URL']}twirp/github.actions.results.api.v1.CacheService/${method}`,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${env['ACTIONS_RUNTIME_TOKEN']}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify(body),
      },
    );
    return (await res.json()) as Record<string, string | boolean>;
  };
  const version = 'a'.repeat(64);
  const key = 'index-build-go-image-x-linux-amd64-1-0123abcd#1';
  const created = await twirp('CreateCacheEntry', { key, version });
  assert.equal(created['ok'], true);
  const blob = String(created['signed_upload_url']);
  const data = Buffer.from('0123456789abcdefghij');
  const ids = ['YmxvY2swMDAw', 'YmxvY2swMDAx'];
  // Blocks arrive in any order; the list says the order.
  for (const [id, part] of [
    [ids[1]!, data.subarray(10)],
    [ids[0]!, data.subarray(0, 10)],
  ] as const) {
    const put = await fetch(`${blob}&comp=block&blockid=${encodeURIComponent(id)}`, {
      method: 'PUT',
      body: part,
    });
    assert.equal(put.status, 201);
  }
  const list = `<?xml version="1.0" encoding="UTF-8"?><BlockList>${ids.map((i) => `<Latest>${i}</Latest>`).join('')}</BlockList>`;
  assert.equal((await fetch(`${blob}&comp=blocklist`, { method: 'PUT', body: list })).status, 201);
  const done = await twirp('FinalizeCacheEntryUpload', {
    key,
    size_bytes: data.length,
    version,
  });
  assert.equal(done['ok'], true);

  // BuildKit loads its index as `<key>#` by prefix, with the key among the restore keys too.
  const prefix = key.slice(0, key.indexOf('#') + 1);
  const found = await twirp('GetCacheEntryDownloadURL', {
    key: prefix,
    restore_keys: [prefix],
    version,
  });
  assert.equal(found['matched_key'], key);
  const url = String(found['signed_download_url']);
  assert.deepEqual(Buffer.from(await (await fetch(url)).arrayBuffer()), data);
  const tail = await fetch(url, { headers: { 'x-ms-range': 'bytes=12-' } });
  assert.equal(tail.status, 206);
  assert.equal(tail.headers.get('content-range'), `bytes 12-19/${data.length}`);
  assert.equal(Buffer.from(await tail.arrayBuffer()).toString(), 'cdefghij');
  const missing = await twirp('GetCacheEntryDownloadURL', {
    key: 'buildkit-blob-1-sha256:00',
    restore_keys: ['buildkit-blob-1-sha256:00'],
    version,
  });
  assert.equal(missing['ok'], false, 'a miss is ok:false, which the client reads as no entry');
});
