import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  clearReleaseCache,
  fetchReleases,
  parseGoDevJson,
  parseToolchainList,
} from '../../src/go/releases.ts';
import { resolveGoVersion } from '../../src/go/index.ts';
import { formatGoVersion } from '../../src/go/version.ts';
import { goDevJson, startReleaseServer } from '../helpers/release-server.ts';

const VERSIONS = ['1.25rc1', '1.24.5', '1.24.4', '1.24.1', '1.23.11'];

test('both list formats give the same versions', () => {
  const a = parseGoDevJson(goDevJson(VERSIONS), 'godev');
  const b = parseToolchainList(
    VERSIONS.flatMap((v) => [`v0.0.1-go${v}.linux-amd64`, `v0.0.1-go${v}.darwin-arm64`]).join('\n'),
    'proxy',
  );
  assert.deepEqual([...a.versions].sort(), [...b.versions].sort());
});

test('hostile version strings are rejected and counted', () => {
  const r = parseGoDevJson(
    JSON.stringify([
      { version: 'go1.24.1' },
      { version: 'go1.24.2; curl x|sh' },
      { version: '../../etc/passwd' },
      { version: 42 },
      // Leading zeros: no Go release is named so, and read as numbers they pass for 1.24.9.
      { version: 'go1.24.09' },
      { version: 'go1.024.9' },
      { version: 'go1.25rc01' },
    ]),
    's',
  );
  assert.deepEqual(r.versions, ['1.24.1']);
  assert.equal(r.rejected, 6);
  const proxy = parseToolchainList(
    'v0.0.1-go1.24.1.linux-amd64\nv0.0.1-go1.24.09.linux-amd64\nv0.0.1-go01.24.9.linux-amd64\n',
    'proxy',
  );
  assert.deepEqual(proxy.versions, ['1.24.1']);
  assert.equal(proxy.rejected, 2);
  assert.throws(() => parseGoDevJson('<html>proxy error</html>', 's'), /not a JSON release list/);
  assert.throws(
    () => parseToolchainList('v0.0.1-go1.24.9$(id).linux-amd64\n', 'p'),
    /no valid toolchain versions/,
  );
});

function module(text: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'bgi-mod-'));
  writeFileSync(path.join(dir, 'go.mod'), text);
  return dir;
}

test('resolution from a local release list, one request for several calls', async (t) => {
  const srv = await startReleaseServer(VERSIONS);
  t.after(() => srv.close());
  clearReleaseCache();
  const opts = {
    context: module('module m\ngo 1.24.1\n'),
    sources: { releaseSource: srv.goDevUrl, goProxy: srv.proxyUrl, retryBackoffMs: 1 },
    env: {},
  };
  const a = await resolveGoVersion(opts);
  const b = await resolveGoVersion(opts);
  assert.equal(formatGoVersion(a.version), '1.24.5');
  assert.equal(formatGoVersion(b.version), '1.24.5');
  assert.equal(srv.hits.get('/dl/'), 1);
});

for (const fault of ['status500', 'html', 'truncated', 'hostile'] as const) {
  test(`go.dev list ${fault}: falls back to the module proxy's toolchain list`, async (t) => {
    const srv = await startReleaseServer(VERSIONS);
    t.after(() => srv.close());
    clearReleaseCache();
    srv.fault.godev = fault;
    const r = await fetchReleases({
      releaseSource: srv.goDevUrl,
      goProxy: `off,${srv.proxyUrl}|direct`,
      retryBackoffMs: 1,
    });
    assert.equal(r.source, `${srv.proxyUrl}/golang.org/toolchain/@v/list`);
    assert.ok(r.versions.includes('1.24.5'));
  });
}

test('every source down: a pinned go.mod builds its own version with a warning naming the sources', async (t) => {
  const srv = await startReleaseServer(VERSIONS);
  t.after(() => srv.close());
  clearReleaseCache();
  srv.fault.godev = 'status500';
  srv.fault.proxy = 'html';
  const r = await resolveGoVersion({
    context: module('go 1.24.1\n'),
    sources: { releaseSource: srv.goDevUrl, goProxy: srv.proxyUrl, retryBackoffMs: 1 },
    env: {},
  });
  assert.equal(formatGoVersion(r.version), '1.24.1');
  assert.equal(r.warnings.length, 1);
  assert.match(r.warnings[0]!, /\/dl\/.*HTTP 500.*toolchain\/@v\/list/);
  assert.equal(srv.hits.get('/dl/'), 3, 'a 5xx is retried within a bound');
});

test('every source down and go.mod names only a minor: fails with the fix', async (t) => {
  clearReleaseCache();
  await assert.rejects(
    resolveGoVersion({
      context: module('go 1.24\n'),
      sources: { releaseSource: 'http://127.0.0.1:9/dl', goProxy: 'off', retryBackoffMs: 1 },
      env: {},
    }),
    /names no exact release.*Set go-version to an exact release/,
  );
  t.diagnostic('refused connection on 127.0.0.1:9');
});

test('go-version input: an exact version is used as given, a minor resolves', async (t) => {
  const srv = await startReleaseServer(VERSIONS);
  t.after(() => srv.close());
  clearReleaseCache();
  const sources = { releaseSource: srv.goDevUrl, goProxy: 'off', retryBackoffMs: 1 };
  assert.equal(
    formatGoVersion(
      (await resolveGoVersion({ context: '.', goVersion: '1.23.2', sources, env: {} })).version,
    ),
    '1.23.2',
  );
  assert.equal(
    formatGoVersion(
      (await resolveGoVersion({ context: '.', goVersion: '1.24', sources, env: {} })).version,
    ),
    '1.24.5',
  );
  assert.equal(
    formatGoVersion(
      (await resolveGoVersion({ context: '.', goVersion: '~1.23.0', sources, env: {} })).version,
    ),
    '1.23.11',
  );
  await assert.rejects(
    resolveGoVersion({ context: '.', goVersion: '1.99', sources, env: {} }),
    /input "go-version": no Go release matches/,
  );
});

test('CLI: resolve-go-version prints the version a local build script can use', async (t) => {
  const srv = await startReleaseServer(VERSIONS);
  t.after(() => srv.close());
  const { execFile } = await import('../../src/io/exec.ts');
  const cli = path.resolve(import.meta.dirname, '..', '..', 'src', 'cli.ts');
  const out = await execFile(process.execPath, [
    cli,
    'resolve-go-version',
    '--context',
    module('module m\ngo 1.24.1\n'),
    '--go-release-source',
    srv.goDevUrl,
    '--go-proxy',
    'off',
  ]);
  assert.equal(out.stdout.trim(), '1.24.5');
  const bad = await execFile(
    process.execPath,
    [cli, 'resolve-go-version', '--go-version-file', '/nonexistent/go.mod'],
    { allowFailure: true },
  );
  // A refused input value is a usage error (exit code 2), as an unknown option is.
  assert.equal(bad.exitCode, 2);
  assert.match(bad.stderr, /input "go-version-file": \/nonexistent\/go.mod does not exist/);
});

async function serveJson(body: string) {
  const { createServer } = await import('node:http');
  const server = createServer((_req, res) => res.writeHead(200).end(body));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as import('node:net').AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/dl/`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

test('release entries whose stable flag contradicts their name are dropped and counted', () => {
  const r = parseGoDevJson(
    JSON.stringify([
      { version: 'go1.24.9', stable: false },
      { version: 'go1.25rc1', stable: true },
      { version: 'go1.24.5', stable: true },
      { version: 'go1.25rc2', stable: false },
      { version: 'go1.24.6', stable: 'yes' },
      { version: 'go1.24.4' },
      null,
    ]),
    's',
  );
  assert.deepEqual(r.versions, ['1.24.5', '1.25rc2', '1.24.4']);
  assert.deepEqual(r.dropped, { 'stable flag contradicts the name': 2, malformed: 2 });
  assert.equal(r.rejected, 4);
});

test('an unstable build is never the newest patch, from go.mod or go-version', async (t) => {
  const srv = await serveJson(
    JSON.stringify([
      { version: 'go1.24.9', stable: false },
      { version: 'go1.24.5', stable: true },
      { version: 'go1.24.1', stable: true },
      { version: 'go1.25rc2', stable: false },
    ]),
  );
  t.after(() => srv.close());
  const sources = { releaseSource: srv.url, goProxy: 'off', retryBackoffMs: 1 };
  for (const how of [
    { context: module('go 1.24.1\n') },
    { context: module('go 1.24\n') },
    { context: '.', goVersion: '1.24' },
    { context: '.', goVersion: 'go1.24' },
  ]) {
    clearReleaseCache();
    const r = await resolveGoVersion({ ...how, sources, env: {} });
    assert.equal(formatGoVersion(r.version), '1.24.5', JSON.stringify(how));
    assert.ok(!r.candidates.some((c) => c.patch === 9));
    assert.match(
      r.notices.join('\n'),
      /1 of 4 entries dropped \(1 stable flag contradicts the name\)/,
    );
  }
});

test('pre-releases qualify only when the requirement is one, the same for go.mod and go-version', async (t) => {
  const srv = await startReleaseServer(['1.26rc1', '1.25rc2', '1.25rc1', '1.24.5']);
  t.after(() => srv.close());
  const sources = { releaseSource: srv.goDevUrl, goProxy: 'off', retryBackoffMs: 1 };
  const resolve = (how: { context: string; goVersion?: string }) => {
    clearReleaseCache();
    return resolveGoVersion({ ...how, sources, env: {} });
  };
  // go.mod names an rc: the newest pre-release of the minor, never another minor's.
  assert.equal(
    formatGoVersion((await resolve({ context: module('go 1.25rc1\n') })).version),
    '1.25rc2',
  );
  // The same version as input is accepted (Go's grammar, with or without "go"): used as given.
  for (const v of ['1.25rc1', 'go1.25rc1', ' go1.25rc1 '])
    assert.equal(
      formatGoVersion((await resolve({ context: '.', goVersion: v })).version),
      '1.25rc1',
      v,
    );
  // A stable requirement never resolves to a pre-release, from either path.
  await assert.rejects(resolve({ context: module('go 1.26\n') }), /no stable release of Go 1\.26/);
  await assert.rejects(
    resolve({ context: '.', goVersion: '1.26' }),
    /input "go-version": no Go release matches "1\.26"/,
  );
});

test('go-version: Go version forms and semver ranges are accepted, anything else refused at once', async () => {
  const { readInputs } = await import('../../src/inputs.ts');
  const read = (v: string) => readInputs((n) => (n === 'go-version' ? v : ''));
  for (const ok of [
    '1.21',
    '1.21.0',
    'go1.21rc1',
    'go1.22.3',
    '1.25beta1',
    '~1.24',
    '>=1.23 <1.25',
    '1.24.x',
    '^1.22',
  ])
    assert.doesNotThrow(() => read(ok), ok);
  for (const bad of [
    '1.21rc',
    '1.21.1rc1',
    '-1.21',
    '1.21\n1.22',
    'latest',
    'go 1.21',
    '1.21;id',
    `1.${'1'.repeat(200)}`,
  ])
    assert.throws(() => read(bad), /input "go-version": .* is not a Go version/, bad);
});

test('a hostile list used after a failed source: one notice with the counts and the reason', async (t) => {
  const srv = await startReleaseServer(['1.24.5']);
  t.after(() => srv.close());
  const hostile = await serveJson('not json');
  t.after(() => hostile.close());
  clearReleaseCache();
  srv.fault.proxy = 'none';
  const body = [
    'v0.0.1-go1.24.5.linux-amd64',
    'v0.0.1-go1.24.9$(id).linux-amd64',
    'garbage',
    '',
  ].join('\n');
  const proxy = await (async () => {
    const { createServer } = await import('node:http');
    const server = createServer((_req, res) => res.writeHead(200).end(body));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return {
      url: `http://127.0.0.1:${(server.address() as import('node:net').AddressInfo).port}`,
      close: () => new Promise<void>((r) => server.close(() => r())),
    };
  })();
  t.after(() => proxy.close());
  const list = await fetchReleases({
    releaseSource: hostile.url,
    goProxy: proxy.url,
    retryBackoffMs: 1,
  });
  assert.deepEqual(list.versions, ['1.24.5']);
  const notice = list.notice ?? '';
  assert.equal(notice.split('\n').length, 1);
  assert.match(
    notice,
    /^go release list from http:\/\/127\.0\.0\.1:\d+\/golang\.org\/toolchain\/@v\/list: 2 of 3 entries dropped \(2 malformed\); used this list because http:\/\/127\.0\.0\.1:\d+\/dl\/: not a JSON release list/,
  );
  // A clean first source: no notice at all.
  clearReleaseCache();
  assert.equal(
    (await fetchReleases({ releaseSource: srv.goDevUrl, goProxy: 'off' })).notice,
    undefined,
  );
});
