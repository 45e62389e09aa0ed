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
    ]),
    's',
  );
  assert.deepEqual(r.versions, ['1.24.1']);
  assert.equal(r.rejected, 3);
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
