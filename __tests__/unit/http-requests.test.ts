// src/io/http.ts against real servers on 127.0.0.1: one deadline per request however the server
// stalls (silent, trickling, slow headers), then the next release source; redirects resolved
// against the URL that answered, bounded, http(s) only, credentials kept to their origin.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { test } from 'node:test';
import { clearReleaseCache, fetchReleases } from '../../src/go/releases.ts';
import { resolveGoVersion } from '../../src/go/index.ts';
import { request } from '../../src/io/http.ts';
import { goDevJson, startReleaseServer } from '../helpers/release-server.ts';

type Handler = (req: IncomingMessage, res: ServerResponse, socket: Socket) => void;

async function serve(handler: Handler) {
  const seen: { url: string; authorization?: string }[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', authorization: req.headers.authorization });
    handler(req, res, req.socket);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    seen,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** Writes one byte every `everyMs`, for ever: never idle, never done. */
function trickle(res: ServerResponse, everyMs: number, headers = true): void {
  if (headers) res.writeHead(200, { 'content-type': 'application/json' });
  const t = setInterval(() => {
    if (res.destroyed || res.socket?.destroyed) return clearInterval(t);
    res.write(' ');
  }, everyMs);
  res.on('close', () => clearInterval(t));
}

const elapsed = async <T>(fn: () => Promise<T>): Promise<[T, number]> => {
  const t0 = Date.now();
  return [await fn(), Date.now() - t0];
};

test('a trickling body is cut at the deadline though the socket is never idle', async (t) => {
  const srv = await serve((_req, res) => trickle(res, 50));
  t.after(() => srv.close());
  const t0 = Date.now();
  await assert.rejects(
    request(`${srv.url}/dl/`, { timeoutMs: 1000, deadlineMs: 700, attempts: 3, backoffMs: 1 }),
    /no complete answer within 0\.7 s/,
  );
  const ms = Date.now() - t0;
  assert.ok(ms >= 650 && ms < 2500, `cut near the deadline: ${ms} ms`);
  assert.equal(srv.seen.length, 1, 'the deadline spans the attempts: no new attempt after it');
});

test('the deadline covers headers that never finish and the backoff between attempts', async (t) => {
  // Headers trickled byte by byte: the response never starts.
  const slowHeaders = await serve((_req, _res, socket) => {
    const head = 'HTTP/1.1 200 OK\r\nX-Slow: ' + 'a'.repeat(1000);
    let i = 0;
    const timer = setInterval(() => {
      if (socket.destroyed) return clearInterval(timer);
      socket.write(head[i++ % head.length]!);
    }, 40);
    socket.on('close', () => clearInterval(timer));
  });
  const failing = await serve((_req, res) => res.writeHead(503).end('busy'));
  t.after(() => Promise.all([slowHeaders.close(), failing.close()]));
  const [err1, ms1] = await elapsed(() =>
    request(slowHeaders.url, { timeoutMs: 5000, deadlineMs: 600 }).then(
      () => undefined,
      (e: Error) => e,
    ),
  );
  assert.match(String(err1?.message), /within 0\.6 s/);
  assert.ok(ms1 < 2000, `slow headers cut: ${ms1} ms`);
  // 503 with a long backoff: the deadline ends the wait instead of sleeping through it.
  const [err2, ms2] = await elapsed(() =>
    request(failing.url, { deadlineMs: 500, attempts: 3, backoffMs: 5000 }).then(
      () => undefined,
      (e: Error) => e,
    ),
  );
  assert.match(String(err2?.message), /within 0\.5 s/);
  assert.ok(ms2 < 2000, `backoff cut: ${ms2} ms`);
});

test('a trickling release source: the deadline ends it and the proxy list is used, with a notice', async (t) => {
  const slow = await serve((_req, res) => trickle(res, 100));
  const releases = await startReleaseServer(['1.24.5', '1.24.4', '1.24.1']);
  t.after(() => Promise.all([slow.close(), releases.close()]));
  clearReleaseCache();
  const [list, ms] = await elapsed(() =>
    fetchReleases({
      releaseSource: `${slow.url}/dl/?mode=json`,
      goProxy: releases.proxyUrl,
      retryBackoffMs: 1,
      timeoutMs: 5000,
      deadlineMs: 800,
    }),
  );
  assert.equal(list.source, `${releases.proxyUrl}/golang.org/toolchain/@v/list`);
  assert.ok(list.versions.includes('1.24.5'));
  assert.ok(ms < 4000, `bounded: ${ms} ms`);
  assert.match(
    list.notice ?? '',
    new RegExp(
      `^go release list from ${releases.proxyUrl}.*used this list because .*/dl/.*within 0\\.8 s`,
    ),
  );
});

test('resolveGoVersion with a trickling go.dev: builds the newest patch from the proxy', async (t) => {
  const slow = await serve((_req, res) => trickle(res, 100));
  const releases = await startReleaseServer(['1.24.5', '1.24.1']);
  t.after(() => Promise.all([slow.close(), releases.close()]));
  clearReleaseCache();
  const r = await resolveGoVersion({
    context: '.',
    goVersion: '1.24',
    sources: {
      releaseSource: slow.url,
      goProxy: releases.proxyUrl,
      retryBackoffMs: 1,
      deadlineMs: 600,
    },
    env: {},
  });
  assert.equal(r.version.patch, 5);
  assert.equal(r.notices.length, 1);
});

test('redirects: relative and absolute Locations are resolved against the URL that answered', async (t) => {
  const body = goDevJson(['1.24.5']);
  const srv = await serve((req, res) => {
    if (req.url === '/a/start') return res.writeHead(302, { location: 'next?x=1' }).end();
    if (req.url === '/a/next?x=1') return res.writeHead(301, { location: '../b/dl' }).end();
    if (req.url === '/b/dl') return res.writeHead(307, { location: '/final' }).end();
    if (req.url === '/final') return res.writeHead(200).end(body);
    res.writeHead(404).end();
  });
  t.after(() => srv.close());
  const res = await request(`${srv.url}/a/start`, { attempts: 1 });
  assert.equal(res.status, 200);
  assert.equal(res.body.toString(), body);
  assert.deepEqual(
    srv.seen.map((s) => s.url),
    ['/a/start', '/a/next?x=1', '/b/dl', '/final'],
  );
});

test('redirects: bounded in number, and a loop is an error naming the count', async (t) => {
  const srv = await serve((req, res) => {
    const n = Number(/\/(\d+)$/.exec(req.url ?? '')?.[1] ?? 0);
    res.writeHead(302, { location: `/r/${n + 1}` }).end();
  });
  const loop = await serve((_req, res) => res.writeHead(301, { location: '/same' }).end());
  t.after(() => Promise.all([srv.close(), loop.close()]));
  await assert.rejects(
    request(`${srv.url}/r/0`, { maxRedirects: 3, attempts: 3 }),
    /more than 3 redirects/,
  );
  assert.equal(srv.seen.length, 4, 'the first request and three redirects, not retried');
  await assert.rejects(request(`${loop.url}/same`), /more than 5 redirects/);
  assert.equal(loop.seen.length, 6);
});

test('redirects: only to http(s); a broken Location is an error, not a crash', async (t) => {
  for (const location of [
    'file:///etc/passwd',
    'ftp://x.example/list',
    'javascript:alert(1)',
    'http://[::1',
  ]) {
    const srv = await serve((_req, res) => res.writeHead(302, { location }).end());
    t.after(() => srv.close());
    await assert.rejects(
      request(`${srv.url}/x`),
      /redirect to (a \w+: URL|an invalid Location)/,
      location,
    );
    assert.equal(srv.seen.length, 1, location);
  }
});

test('redirects: credentials go to their own origin only, never to another host or port', async (t) => {
  const other = await serve((_req, res) => res.writeHead(200).end('elsewhere'));
  const home = await serve((req, res) => {
    if (req.url === '/start') return res.writeHead(302, { location: '/same-origin' }).end();
    if (req.url === '/same-origin')
      return res.writeHead(302, { location: `${other.url}/cdn` }).end();
    res.writeHead(404).end();
  });
  t.after(() => Promise.all([home.close(), other.close()]));
  const homeUrl = new URL(home.url);
  homeUrl.username = 'bot';
  homeUrl.password = 'pa ss';
  const res = await request(`${homeUrl.href}start`, { attempts: 1 });
  assert.equal(res.body.toString(), 'elsewhere');
  const basic = `Basic ${Buffer.from('bot:pa ss').toString('base64')}`;
  assert.deepEqual(
    home.seen.map((s) => s.authorization),
    [basic, basic],
  );
  assert.equal(other.seen[0]!.authorization, undefined, 'not forwarded to another port');
  // A caller's own Authorization header (a registry token) is dropped on the other origin too.
  const res2 = await request(`${home.url}/start`, {
    attempts: 1,
    headers: { Authorization: 'Bearer registry-token' },
  });
  assert.equal(res2.status, 200);
  assert.equal(home.seen[2]!.authorization, 'Bearer registry-token');
  assert.equal(other.seen[1]!.authorization, undefined);
});

test('redirects: userinfo in a Location is never used or sent on', async (t) => {
  const other = await serve((_req, res) => res.writeHead(200).end('ok'));
  const home = await serve((_req, res) =>
    res
      .writeHead(302, { location: other.url.replace('http://', 'http://evil:stolen@') + '/x' })
      .end(),
  );
  t.after(() => Promise.all([home.close(), other.close()]));
  const res = await request(`${home.url}/start`, {
    attempts: 1,
    credentials: { username: 'bot', password: 'mine' },
  });
  assert.equal(res.status, 200);
  assert.equal(home.seen[0]!.authorization, `Basic ${Buffer.from('bot:mine').toString('base64')}`);
  assert.equal(other.seen[0]!.authorization, undefined);
});

test('each GOPROXY entry sends its own credentials, to its own host only', async (t) => {
  const first = await serve((_req, res) => res.writeHead(404).end());
  const second = await serve((_req, res) =>
    res.writeHead(200).end('v0.0.1-go1.24.5.linux-amd64\n'),
  );
  t.after(() => Promise.all([first.close(), second.close()]));
  clearReleaseCache();
  const list = await fetchReleases({
    releaseSource: '',
    goProxy: `${first.url.replace('//', '//one:pw1@')},${second.url.replace('//', '//two:pw2@')}`,
    retryBackoffMs: 1,
  });
  assert.deepEqual(list.versions, ['1.24.5']);
  assert.equal(first.seen[0]!.authorization, `Basic ${Buffer.from('one:pw1').toString('base64')}`);
  assert.equal(second.seen[0]!.authorization, `Basic ${Buffer.from('two:pw2').toString('base64')}`);
  assert.match(list.notice ?? '', /used this list because .*HTTP 404/);
  assert.doesNotMatch(list.notice ?? '', /pw1|pw2/);
});
