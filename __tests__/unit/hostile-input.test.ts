// Everything the action reads is untrusted: inputs, go.mod, the Dockerfile, the event payload,
// registry and API answers, the report file. None reaches a shell, escapes a path, or is read
// without a bound; secrets from inputs and the environment are masked and stored nowhere.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { buildxArgs } from '../../src/buildx/args.ts';
import { cacheMountsFromInput, discoverCacheMounts } from '../../src/cachemounts/discover.ts';
import { parseDockerfile } from '../../src/dockerfile/parse.ts';
import { upsertComment } from '../../src/github/comment.ts';
import { resolveGoVersion } from '../../src/go/index.ts';
import { readInputs } from '../../src/inputs.ts';
import { RegistryClient } from '../../src/registry/client.ts';
import { proxyCredentials } from '../../src/secrets.ts';
import { postReportFile, prNumber } from '../../src/sizereport/step.ts';
import { ROOT, runAction } from '../helpers/run-action.ts';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'bgi-hostile-'));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('no shell anywhere: processes start only through argv, in two reviewed places', () => {
  const src = path.join(ROOT, 'src');
  const starters: string[] = [];
  for (const file of sourceFiles(src)) {
    const text = readFileSync(file, 'utf8');
    assert.doesNotMatch(text, /shell\s*:\s*true/, `${file} asks for a shell`);
    const imported = /import\s*\{([^}]*)\}\s*from 'node:child_process'/.exec(text)?.[1];
    if (!imported) continue;
    starters.push(path.relative(src, file));
    // exec/execSync/execFileSync-with-shell take a command string; only argv spawners are allowed.
    for (const name of imported.split(',').map((n) => n.replace(/^\s*type\s+/, '').trim()))
      assert.ok(
        ['spawn', 'spawnSync', 'ChildProcess', ''].includes(name),
        `${file} imports ${name}`,
      );
  }
  assert.deepEqual(starters.sort(), ['cli.ts', 'io/exec.ts']);
});

test('inputs with shell syntax reach docker as single argv elements, or are refused', () => {
  const hostile = '$(touch /tmp/pwned); `id` && rm -rf / #';
  const inputs = readInputs(
    (name) =>
      ({
        'build-args': `EVIL=${hostile}`,
        labels: `org.example=${hostile}`,
        target: 'final',
      })[name] ?? '',
  );
  const argv = buildxArgs(inputs, {
    dockerfile: 'Dockerfile',
    buildArgs: new Map(inputs.buildArgs),
    metadataFile: '/tmp/m.json',
  });
  assert.ok(argv.includes(`EVIL=${hostile}`), 'the build-arg is one element, unchanged');
  assert.ok(argv.includes(`org.example=${hostile}`));
  for (const [name, value] of [
    ['tags', 'ghcr.io/o/r:$(id)'],
    ['platforms', 'linux/amd64;id'],
    ['cache-size-limit', '1; rm -rf /'],
  ] as const)
    assert.throws(() => readInputs((n) => (n === name ? value : '')), new RegExp(`"${name}"`));
});

test('go.mod: oversized or binary files are refused with the file named', async () => {
  const dir = tmp();
  const sources = { releaseSource: '', goProxy: 'off' };
  writeFileSync(
    path.join(dir, 'go.mod'),
    `module x\n\ngo 1.24.1\n// ${'x'.repeat(5 * 1024 * 1024)}`,
  );
  await assert.rejects(
    resolveGoVersion({ context: dir, sources, env: {} }),
    /go\.mod.*more than the 4194304 (bytes )?this action reads/,
  );
  writeFileSync(path.join(dir, 'go.mod'), 'module x\n\ngo 1.24.1\u0000\n');
  await assert.rejects(resolveGoVersion({ context: dir, sources, env: {} }), /go\.mod:3/);
});

test('Dockerfile: cache mount values that would be interpreted in the helper build are refused', () => {
  for (const bad of ['$(id)', 'a"b', "a'b", 'a b', 'a\\b', '../x;y'])
    assert.throws(
      () =>
        discoverCacheMounts(
          parseDockerfile(`FROM x\nRUN --mount=type=cache,id=${bad},target=/c go build\n`),
          new Map(),
        ),
      /Dockerfile:2|characters this action does not carry/,
      bad,
    );
  assert.throws(() => cacheMountsFromInput('target=/c,id=x\ny'), /cache-mounts|characters/);
  assert.throws(() => parseDockerfile(`FROM x\n${'#'.repeat(1024 * 1024 + 1)}\n`), /1 MiB/);
});

test('event payload: only a positive integer PR number is used; a huge payload is refused', () => {
  const dir = tmp();
  const file = path.join(dir, 'event.json');
  const pr = (payload: string) => {
    writeFileSync(file, payload);
    return prNumber({ GITHUB_EVENT_PATH: file });
  };
  assert.equal(pr('{"pull_request":{"number":12}}'), 12);
  for (const n of ['"12"', '-1', '1.5', '1e400', 'null', '{"x":1}'])
    assert.equal(pr(`{"pull_request":{"number":${n}}}`), undefined, n);
  assert.equal(pr('not json'), undefined);
  assert.equal(
    pr(`{"pull_request":{"number":12},"pad":"${'x'.repeat(65 * 1024 * 1024)}"}`),
    undefined,
  );
});

test('comment mode: the report file is bounded and must carry the marker', async () => {
  const dir = tmp();
  const file = path.join(dir, 'report.md');
  const host = {
    env: {},
    log: {
      info() {},
      warning() {},
      error() {},
      debug() {},
      group: (_: string, f: () => Promise<unknown>) => f(),
    },
  } as never;
  writeFileSync(file, `<!-- build-go-image:size-report:o/r -->\n${'x'.repeat(70_000)}`);
  await assert.rejects(
    postReportFile(host, { reportFile: file, githubToken: 't', pullRequest: 1 } as never),
    /report-file|more than/,
  );
  writeFileSync(file, '@everyone please merge\n<!-- build-go-image:size-report:o/r -->');
  await assert.rejects(
    postReportFile(host, { reportFile: file, githubToken: 't', pullRequest: 1 } as never),
    /not a size report written by this action/,
  );
});

async function serve(
  handler: (url: string) => { status: number; body: string; type?: string },
): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const r = handler(req.url ?? '/');
    res.writeHead(r.status, { 'content-type': r.type ?? 'application/json' }).end(r.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

test('registry answers: an index with thousands of entries is refused, not fetched', async (t) => {
  const manifests = Array.from({ length: 5000 }, (_, i) => ({
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    digest: `sha256:${i.toString(16).padStart(64, '0')}`,
    size: 1,
    platform: { os: 'linux', architecture: `arch${i}` },
  }));
  let requests = 0;
  const registry = await serve(() => {
    requests++;
    return {
      status: 200,
      type: 'application/vnd.oci.image.index.v1+json',
      body: JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.index.v1+json',
        manifests,
      }),
    };
  });
  t.after(() => registry.close());
  await assert.rejects(
    new RegistryClient().resolvePlatforms({ registry: registry.url, repository: 'x/y', tag: 'v1' }),
    /lists 5000 manifests, more than 256/,
  );
  assert.equal(requests, 1);
});

test('API answers: hostile comment list items are ignored, never trusted or crashed on', async (t) => {
  let created = 0;
  const api = await serve((url) => {
    if (url.startsWith('/user')) return { status: 200, body: '{"login":"ci-bot"}' };
    if (url.includes('/comments?'))
      return {
        status: 200,
        body: JSON.stringify([
          null,
          7,
          { id: 1, user: null, body: '<!-- m -->' },
          { id: 'x', user: { login: 'ci-bot' }, body: '<!-- m -->' },
          { id: 3, user: { login: 'ci-bot' }, body: 12345 },
          { id: 5, user: 'ci-bot', body: ['<!-- m -->'] },
          { id: 4, user: { login: 'someone' }, body: '<!-- m --> impostor' },
        ]),
      };
    created++;
    return { status: 201, body: '{"id":99}' };
  });
  t.after(() => api.close());
  const outcome = await upsertComment({
    token: 't',
    baseUrl: `http://${api.url}`,
    owner: 'o',
    repo: 'r',
    issue: 1,
    marker: '<!-- m -->',
    body: '<!-- m -->\nreport',
  });
  assert.deepEqual(outcome, { action: 'created', id: 99 });
  assert.equal(created, 1);
});

test('proxy credentials are found in both cases of every proxy variable, raw and decoded', () => {
  assert.deepEqual(
    proxyCredentials({
      HTTPS_PROXY: 'http://alice:p%40ss@proxy:3128',
      http_proxy: 'bob:hunter2@proxy:8080',
      NO_PROXY: 'user:nope@x',
      ALL_PROXY: 'http://proxy:1',
    }).sort(),
    ['alice:p%40ss', 'bob:hunter2', 'hunter2', 'p%40ss', 'p@ss', 'alice:p@ss'].sort(),
  );
});

test('the action masks token, secrets and proxy credentials first and stores none of them', async () => {
  const secrets = ['ghs-token-value-1', 'build-secret-value-2', 'proxy-pass-3'];
  const res = await runAction({
    inputs: {
      context: 'examples/go-service',
      'github-token': secrets[0]!,
      secrets: `npmrc=${secrets[1]}`,
      // Fails input validation after masking: nothing else may run.
      platforms: 'linux/amd65',
    },
    env: { HTTPS_PROXY: `http://user:${secrets[2]}@127.0.0.1:9` },
  });
  assert.equal(res.main.exitCode, 1);
  for (const s of secrets) assert.ok(res.main.masks.includes(s), s);
  const stored = JSON.stringify([res.state, res.main.outputs, res.main.summary, res.post?.outputs]);
  for (const s of secrets) assert.ok(!stored.includes(s), `${s} stored`);
});
