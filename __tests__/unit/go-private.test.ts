// Private modules, proxies and CAs: what the action hands to the build, and how (secrets and
// env-only build-args, never values in argv).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { secretMountAdvice } from '../../src/advice/secrets.ts';
import { buildxArgs } from '../../src/buildx/args.ts';
import { parseDockerfile } from '../../src/dockerfile/parse.ts';
import {
  buildExtras,
  combineCaBundle,
  netrcHosts,
  proxyBuildArgNames,
  renderNetrc,
} from '../../src/go/private.ts';
import { readInputs } from '../../src/inputs.ts';

const inputs = (values: Record<string, string>) => readInputs((n) => values[n] ?? '');
const tmp = () => mkdtempSync(path.join(tmpdir(), 'bgi-private-'));
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';

test('netrc hosts: from GOPRIVATE patterns without globs, plus the workflow host', () => {
  assert.deepEqual(
    netrcHosts(['github.com/acme/*', '*.corp.example', 'git.example.com/x', 'nodots/x'], undefined),
    ['github.com', 'git.example.com'],
  );
  assert.deepEqual(netrcHosts([], 'https://ghe.example.com'), ['ghe.example.com']);
  assert.equal(
    renderNetrc(['a.example'], 'x-access-token', 'tok'),
    'machine a.example\nlogin x-access-token\npassword tok\n',
  );
});

test('go-private: GOPRIVATE build-arg, the netrc as a secret from the environment, token never in argv', () => {
  const i = inputs({
    'go-private': 'git.example.com/acme/*,github.com/acme/*',
    'go-private-token': 'tok-123-secret',
  });
  const extras = buildExtras(i, { GITHUB_SERVER_URL: 'https://github.com' }, tmp());
  assert.equal(extras.buildArgs.get('GOPRIVATE'), 'git.example.com/acme/*,github.com/acme/*');
  assert.deepEqual(extras.secrets, [{ id: 'netrc', env: 'BGI_NETRC' }]);
  assert.match(
    extras.env['BGI_NETRC']!,
    /machine git\.example\.com\nlogin x-access-token\npassword tok-123-secret/,
  );
  assert.match(extras.env['BGI_NETRC']!, /machine github\.com\n/);
  const argv = buildxArgs(i, {
    dockerfile: 'Dockerfile',
    buildArgs: new Map([...i.buildArgs, ...extras.buildArgs]),
    metadataFile: '/m.json',
    extraSecrets: extras.secrets,
  });
  assert.ok(argv.includes('id=netrc,env=BGI_NETRC'));
  assert.ok(!argv.join(' ').includes('tok-123-secret'), 'no token in argv');
  // Without a token there is nothing to write, and the log says why.
  const none = buildExtras(inputs({ 'go-private': 'github.com/acme/*' }), {}, tmp());
  assert.deepEqual(none.secrets, []);
  assert.match(none.notes.join('\n'), /no token/);
});

test('go-private inputs are validated with the fix', () => {
  assert.throws(
    () => inputs({ 'go-private': 'github.com/acme/*;rm' }),
    /"go-private".*GOPRIVATE pattern/,
  );
  for (const bad of [
    'exa mple.com',
    '-github.com',
    'a..b',
    'github-.com',
    '.github.com',
    'github.com:0',
    'github.com:65536',
    'host:123456',
    `${'a'.repeat(64)}.com`,
    `${'a.'.repeat(127)}com`,
  ])
    assert.throws(
      () => inputs({ 'go-private-hosts': bad }),
      /"go-private-hosts".*is not a host name .*e\.g\. github\.com/,
      bad,
    );
  assert.deepEqual(
    inputs({ 'go-private-hosts': 'github.com, git.corp.example:8443\nlocalhost' }).goPrivateHosts,
    ['github.com', 'git.corp.example:8443', 'localhost'],
  );
  assert.throws(() => inputs({ 'go-private-user': 'a b' }), /"go-private-user"/);
  assert.throws(() => inputs({ network: 'host;id' }), /"network"/);
});

test('proxy settings: passed by name (buildx reads the values), both cases, opt-out', () => {
  const env = {
    HTTPS_PROXY: 'http://u:pw@proxy:3128',
    no_proxy: 'localhost',
    HOME: '/root',
  };
  assert.deepEqual(proxyBuildArgNames(env), ['HTTPS_PROXY', 'no_proxy']);
  const i = inputs({});
  const extras = buildExtras(i, env, tmp());
  const argv = buildxArgs(i, {
    dockerfile: 'Dockerfile',
    buildArgs: new Map(),
    metadataFile: '/m.json',
    envBuildArgs: extras.envBuildArgs,
  });
  assert.ok(argv.includes('HTTPS_PROXY') && argv.includes('no_proxy'));
  assert.ok(!argv.join(' ').includes('u:pw'), 'no proxy credentials in argv');
  assert.deepEqual(buildExtras(inputs({ 'build-proxy': 'false' }), env, tmp()).envBuildArgs, []);
});

test('ca-bundle: the runner bundle plus the user CA, private file, given as a secret file', () => {
  const dir = tmp();
  const system = path.join(dir, 'system.pem');
  writeFileSync(system, '-----BEGIN CERTIFICATE-----\nSYSTEM\n-----END CERTIFICATE-----\n');
  const user = path.join(dir, 'corp.pem');
  writeFileSync(user, PEM);
  const out = path.join(dir, 'out.pem');
  assert.equal(combineCaBundle(user, out, ['/nonexistent', system]), system);
  const text = readFileSync(out, 'utf8');
  assert.ok(text.indexOf('SYSTEM') < text.indexOf('MIIB'), 'both, system first');
  assert.equal(statSync(out).mode & 0o777, 0o600);
  writeFileSync(user, 'not a certificate');
  assert.throws(() => combineCaBundle(user, out, [system]), /"ca-bundle".*no PEM certificate/);
  assert.throws(
    () => combineCaBundle(path.join(dir, 'missing.pem'), out),
    /"ca-bundle".*does not exist/,
  );
  writeFileSync(user, PEM);
  const extras = buildExtras(inputs({ 'ca-bundle': user }), {}, dir);
  assert.deepEqual(extras.secrets, [{ id: 'ca-bundle', src: path.join(dir, 'ca-bundle.pem') }]);
});

test('advice: a provided secret no RUN mounts, and a mounted secret nothing provides', () => {
  const df = parseDockerfile(
    [
      'FROM golang AS build',
      'RUN --mount=type=secret,id=ca-bundle,target=/etc/ssl/certs/ca-certificates.crt go mod download',
      'RUN go build ./...',
      '',
    ].join('\n'),
  );
  const found = secretMountAdvice(df, ['netrc'], []);
  assert.deepEqual(
    found.map((a) => [a.title, a.line]),
    [
      ['secret "netrc" is never mounted', 2],
      ['secret "ca-bundle" is not provided', 2],
    ],
  );
  assert.match(found[0]!.message, /target=\/root\/\.netrc/);
  // Provided by the user's own secrets input: no advice.
  assert.deepEqual(
    secretMountAdvice(df, [], ['ca-bundle']).map((a) => a.title),
    [],
  );
});
