// Release lists behind a corporate proxy (HTTP_PROXY with credentials, NO_PROXY) and behind TLS with
// a private CA (NODE_EXTRA_CA_CERTS): the real HTTP client, local servers only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from '../../src/io/exec.ts';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect, type AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { clearReleaseCache, fetchReleases } from '../../src/go/releases.ts';
import { selfSignedCertificate } from '../helpers/certificate.ts';
import { goDevJson, startReleaseServer } from '../helpers/release-server.ts';

const VERSIONS = ['1.24.5', '1.24.4'];

test('HTTP_PROXY carries the request (with its credentials); NO_PROXY bypasses it', async (t) => {
  const releases = await startReleaseServer(VERSIONS);
  const seen: { target: string; auth?: string }[] = [];
  // A forward proxy: tunnels every CONNECT to the local release server, whatever host was asked for.
  const proxy = createHttpServer();
  proxy.on('connect', (req, client, head) => {
    seen.push({ target: req.url ?? '', auth: req.headers['proxy-authorization'] });
    const upstream = connect(Number(new URL(releases.url).port), '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const saved = { ...process.env };
  t.after(async () => {
    process.env = saved;
    proxy.close();
    await releases.close();
  });
  const proxyUrl = `http://build:s3cret@127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  // A host name that does not resolve here: only the proxy can reach it.
  const source = 'http://go-releases.corp.test/dl/?mode=json&include=all';
  process.env['HTTP_PROXY'] = proxyUrl;
  delete process.env['NO_PROXY'];
  delete process.env['no_proxy'];
  clearReleaseCache();
  const list = await fetchReleases({ releaseSource: source, goProxy: 'off', retryBackoffMs: 1 });
  assert.deepEqual(list.versions, VERSIONS);
  assert.deepEqual(seen[0], {
    target: 'go-releases.corp.test:80',
    auth: `Basic ${Buffer.from('build:s3cret').toString('base64')}`,
  });

  process.env['NO_PROXY'] = 'go-releases.corp.test';
  clearReleaseCache();
  const before = seen.length;
  await assert.rejects(
    fetchReleases({ releaseSource: source, goProxy: 'off', retryBackoffMs: 1 }),
    /go-releases\.corp\.test/,
  );
  assert.equal(seen.length, before, 'NO_PROXY: the proxy was not asked');
});

test('a release list behind TLS with a private CA: works with NODE_EXTRA_CA_CERTS, refused without', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bgi-ca-'));
  const { keyFile: key, certFile: cert } = selfSignedCertificate('127.0.0.1');
  const server = createHttpsServer(
    { key: readFileSync(key), cert: readFileSync(cert) },
    (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end(goDevJson(VERSIONS));
    },
  );
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.after(() => server.close());
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/dl/`;
  // NODE_EXTRA_CA_CERTS is read when Node starts, as on a runner: each case is its own process.
  const script = path.join(dir, 'fetch.ts');
  writeFileSync(
    script,
    `import { fetchReleases } from ${JSON.stringify(path.resolve(import.meta.dirname, '../../src/go/releases.ts'))};\n` +
      `fetchReleases({ releaseSource: ${JSON.stringify(url)}, goProxy: 'off', retryBackoffMs: 1 }).then((l) => console.log(l.versions.join(',')), (e) => { console.log(String(e.message)); process.exit(1); });\n`,
  );
  const env = { ...process.env };
  delete env['NODE_EXTRA_CA_CERTS'];
  // Asynchronously: the HTTPS server answers from this very process.
  const without = await execFile(process.execPath, [script], { env, allowFailure: true });
  assert.equal(without.exitCode, 1);
  assert.match(without.stdout, /self[- ]signed|certificate/i);
  const withCa = await execFile(process.execPath, [script], {
    env: { ...env, NODE_EXTRA_CA_CERTS: cert },
    allowFailure: true,
  });
  assert.equal(withCa.exitCode, 0, withCa.stdout + withCa.stderr);
  assert.equal(withCa.stdout.trim(), VERSIONS.join(','));
});
