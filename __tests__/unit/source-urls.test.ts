// URL inputs (go-release-source, go-proxy, GOPROXY): only http(s), credentials masked first, sent as
// Basic authorization, and never printed with the URL. Real servers on 127.0.0.1.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { clearReleaseCache, fetchReleases } from '../../src/go/releases.ts';
import { goProxySetting, parseGoProxy, parseReleaseSource } from '../../src/go/sources.ts';
import { readInputs } from '../../src/inputs.ts';
import { parseHttpUrl, redactUrl, urlCredentialSecrets } from '../../src/io/url.ts';
import { releaseSourceCredentials } from '../../src/secrets.ts';
import { goDevJson } from '../helpers/release-server.ts';
import { ROOT, runAction } from '../helpers/run-action.ts';

const only = (name: string, value: string) => (n: string) => (n === name ? value : '');

const BAD_SCHEMES = [
  'file:///etc/passwd',
  'ftp://mirror.example/dl',
  'javascript:alert(1)',
  'data:text/plain,go1.99.0',
  'gopher://mirror.example/',
  'ws://mirror.example/dl',
];

for (const input of ['go-release-source', 'go-proxy'] as const)
  test(`${input}: only https and http are accepted, the error names the input and the fix`, () => {
    for (const bad of BAD_SCHEMES)
      assert.throws(
        () => readInputs(only(input, bad)),
        (e: Error) => e.message.startsWith(`input "${input}"`) && /only https:\/\//.test(e.message),
        bad,
      );
    for (const bad of ['mirror.example/dl', 'http://', 'https://exa mple.com/', 'https://a\n.b/'])
      assert.throws(() => readInputs(only(input, bad)), new RegExp(`input "${input}"`), bad);
    for (const good of ['https://mirror.example/dl/?mode=json', 'http://127.0.0.1:8080/x'])
      assert.doesNotThrow(() => readInputs(only(input, good)), good);
  });

test('go-proxy: every entry of a GOPROXY list is checked; direct and off are skipped', () => {
  assert.deepEqual(
    parseGoProxy('https://a.example,direct|http://b.example/p/ ,off').map((u) => u.url),
    ['https://a.example/', 'http://b.example/p/'],
  );
  assert.throws(
    () => parseGoProxy('https://a.example,file:///srv/goproxy'),
    /input "go-proxy".*file/,
  );
  assert.throws(() => parseGoProxy('https://a.example|goproxy.example:8080'), /has no scheme/);
  assert.throws(() => parseGoProxy('javascript:alert(1)'), /input "go-proxy"/);
});

test('GOPROXY from the environment goes through the same rules and is named in the error', async () => {
  const setting = goProxySetting('', { GOPROXY: 'ftp://u:hunter2@mirror.example' });
  assert.match(setting.input, /GOPROXY from the environment/);
  clearReleaseCache();
  await assert.rejects(
    fetchReleases({ releaseSource: '', goProxy: setting.value, goProxyInput: setting.input }),
    (e: Error) =>
      /input "go-proxy \(empty, so GOPROXY from the environment\)"/.test(e.message) &&
      !e.message.includes('hunter2'),
  );
  assert.equal(goProxySetting('https://in.example', { GOPROXY: 'x' }).value, 'https://in.example');
  assert.equal(goProxySetting('', {}).value, 'https://proxy.golang.org');
});

test('credentials are split off the URL, percent-decoded, and never in the error text', () => {
  const u = parseHttpUrl('https://bot:p%40ss%3Aw0rd@mirror.example:8443/go/?mode=json', 'x');
  assert.equal(u.url, 'https://mirror.example:8443/go/?mode=json');
  assert.deepEqual(u.credentials, { username: 'bot', password: 'p@ss:w0rd' });
  assert.equal(parseHttpUrl('https://mirror.example/', 'x').credentials, undefined);
  for (const bad of [
    'ftp://bot:s3cr3t@mirror.example/',
    'https://bot:s3cr3t@/x',
    'htps//bot:s3cr3t@x',
  ])
    assert.throws(
      () => parseReleaseSource(bad),
      (e: Error) => !e.message.includes('s3cr3t'),
      bad,
    );
});

test('redactUrl removes the userinfo of every URL in a text and nothing else', () => {
  const cases: [string, string][] = [
    ['https://u:p@h/x', 'https://***@h/x'],
    ['a http://tok@h:1/x, b https://u:p@ss@h2/y?z=1', 'a http://***@h:1/x, b https://***@h2/y?z=1'],
    ['https://a:b@x,https://c:d@y|direct', 'https://***@x,https://***@y|direct'],
    ['https://h/path@not-userinfo', 'https://h/path@not-userinfo'],
    ['https://h/?q=a@b', 'https://h/?q=a@b'],
    ['mail me@example.com', 'mail me@example.com'],
  ];
  for (const [text, want] of cases) assert.equal(redactUrl(text), want, text);
});

test('every form of the credentials is masked, from inputs and GOPROXY, even in refused URLs', () => {
  const masks = releaseSourceCredentials(
    (n) =>
      ({
        'go-release-source': 'https://alice:p%40ss@mirror.example/dl',
        'go-proxy': 'ftp://tok-only@bad.example,https://bob:hunter2@proxy.example',
      })[n] ?? '',
    { GOPROXY: 'https://carol:c4rol@envproxy.example' },
  );
  for (const s of ['p%40ss', 'p@ss', 'alice:p%40ss', 'tok-only', 'hunter2', 'c4rol'])
    assert.ok(masks.includes(s), s);
  assert.ok(masks.includes(Buffer.from('alice:p@ss').toString('base64')), 'the Basic value');
  assert.ok(!masks.some((m) => m.includes('mirror.example')), 'hosts are not secrets');
  assert.deepEqual(urlCredentialSecrets('https://proxy.golang.org,direct'), []);
});

interface Seen {
  path: string;
  authorization?: string;
}

async function listServer(opts: { status?: number } = {}) {
  const seen: Seen[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    seen.push({ path: req.url ?? '', authorization: req.headers.authorization });
    if (opts.status) return res.writeHead(opts.status).end('no');
    if (req.url?.startsWith('/dl/')) return res.writeHead(200).end(goDevJson(['1.24.5', '1.24.4']));
    if (req.url === '/golang.org/toolchain/@v/list')
      return res.writeHead(200).end('v0.0.1-go1.24.5.linux-amd64\n');
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return { port, seen, close: () => new Promise<void>((r) => server.close(() => r())) };
}

test('URL credentials are sent as Basic authorization, and the source is named without them', async (t) => {
  const srv = await listServer();
  t.after(() => srv.close());
  clearReleaseCache();
  const list = await fetchReleases({
    releaseSource: `http://ci%2Dbot:p%40ss@127.0.0.1:${srv.port}/dl/?mode=json`,
    goProxy: 'off',
    retryBackoffMs: 1,
  });
  assert.equal(list.source, `http://127.0.0.1:${srv.port}/dl/?mode=json`);
  assert.equal(
    srv.seen[0]!.authorization,
    `Basic ${Buffer.from('ci-bot:p@ss').toString('base64')}`,
  );
  clearReleaseCache();
  await fetchReleases({
    releaseSource: '',
    goProxy: `off,http://tok3n@127.0.0.1:${srv.port}`,
    retryBackoffMs: 1,
  });
  assert.equal(srv.seen[1]!.path, '/golang.org/toolchain/@v/list');
  assert.equal(srv.seen[1]!.authorization, `Basic ${Buffer.from('tok3n:').toString('base64')}`);
});

test('a failing source with credentials: neither the error nor the fallback notice prints them', async (t) => {
  const bad = await listServer({ status: 503 });
  const good = await listServer();
  t.after(() => Promise.all([bad.close(), good.close()]));
  clearReleaseCache();
  const list = await fetchReleases({
    releaseSource: `http://u:s3cr3t-1@127.0.0.1:${bad.port}/dl/`,
    goProxy: `http://u:s3cr3t-2@127.0.0.1:${good.port}`,
    retryBackoffMs: 1,
  });
  assert.match(list.notice ?? '', /used this list because .*HTTP 503/);
  assert.doesNotMatch(JSON.stringify(list), /s3cr3t/);
  clearReleaseCache();
  await assert.rejects(
    fetchReleases({
      releaseSource: `http://u:s3cr3t-1@127.0.0.1:${bad.port}/dl/`,
      goProxy: 'off',
      retryBackoffMs: 1,
    }),
    (e: Error) => /HTTP 503/.test(e.message) && !e.message.includes('s3cr3t'),
  );
});

test('the action masks URL credentials before anything and prints no URL with them', async () => {
  const res = await runAction({
    entry: path.join(ROOT, 'src', 'index.ts'),
    inputs: {
      context: 'examples/go-service',
      'go-release-source': 'ftp://bot:rel-s3cret@mirror.example/dl',
      'go-proxy': 'https://bot:proxy-s3cret@proxy.example',
    },
    env: { GOPROXY: 'https://envbot:env-s3cret@envproxy.example' },
    skipPost: true,
  });
  assert.equal(res.main.exitCode, 1);
  for (const s of ['rel-s3cret', 'proxy-s3cret', 'env-s3cret'])
    assert.ok(res.main.masks.includes(s), s);
  assert.match(res.main.stdout, /input "go-release-source".*only https:\/\//);
  // The masking commands themselves carry the values; nothing else may.
  const printed = res.main.stdout
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask::'))
    .join('\n');
  for (const s of ['rel-s3cret', 'proxy-s3cret', 'env-s3cret'])
    assert.ok(!printed.includes(s) && !res.main.stderr.includes(s), `${s} printed`);
});

test('mistyped URLs with credentials: refused, masked, and shown without the token', () => {
  for (const bad of [
    'htps//bot:tok-9@mirror.example/x',
    'bot:tok-9@mirror.example',
    'ht!tp://bot:tok-9@m',
  ])
    for (const input of ['go-release-source', 'go-proxy'] as const) {
      assert.throws(
        () => readInputs(only(input, bad)),
        (e: Error) => e.message.startsWith(`input "${input}"`) && !e.message.includes('tok-9'),
        `${input}: ${bad}`,
      );
      assert.ok(urlCredentialSecrets(bad).includes('tok-9'), `masked: ${bad}`);
    }
  // The URL standard reads one slash as two for https: accepted, credentials still split off.
  assert.deepEqual(parseReleaseSource('https:/bot:tok-9@m.example').credentials, {
    username: 'bot',
    password: 'tok-9',
  });
});
