// A push that buildx reports without a cause gets the registry's own answer. BuildKit 0.25 prints a
// registry error that has a code but no message as `failed to push <ref>: unknown` (captured from
// the engines in __tests__/fixtures/engines); BuildKit 0.13 printed the HTTP status.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  causelessPush,
  explainPushFailure,
  withPushExplanation,
} from '../../src/buildx/push-failure.ts';
import { RegistryClient } from '../../src/registry/client.ts';

const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures', 'engines');

test('a push error without a cause is recognised; one with a cause is left alone', () => {
  const causeless = [
    'ERROR: failed to build: failed to solve: failed to push 127.0.0.1:5999/x/y:z: unknown',
    '#6 ERROR: failed to push localhost:5000/a/b:c: unknown\n------\n > exporting to image:',
    'failed to push ghcr.io/o/r:1:',
  ];
  for (const log of causeless) assert.ok(causelessPush(log), log);
  assert.equal(causelessPush(causeless[0]!), '127.0.0.1:5999/x/y:z');
  const withCause = [
    'ERROR: failed to solve: failed to push localhost:5000/a/b:c: unknown: repository name not known to registry',
    'failed to push r.io/a:b: unexpected status from HEAD request to http://r.io/v2/a/blobs/sha256:00: 404 Not Found',
    'failed to push r.io/a:b: server message: insufficient_scope: authorization failed',
    'ERROR: failed to solve: process "/bin/sh -c false" did not complete successfully: exit code: 1',
    '',
  ];
  for (const log of withCause) assert.equal(causelessPush(log), undefined, log);
});

test('the captured push failures of every engine keep their cause', () => {
  const dirs = readdirSync(FIXTURES);
  assert.ok(dirs.length > 0);
  for (const dir of dirs) {
    const log = readFileSync(path.join(FIXTURES, dir, 'build-push-notfound.txt'), 'utf8');
    assert.match(log, /failed to push/, dir);
    // A real registry sends a message with its error code: nothing to add.
    assert.equal(causelessPush(log), undefined, dir);
  }
});

async function registry(answer: (req: IncomingMessage, res: ServerResponse) => void) {
  const paths: string[] = [];
  const server = createServer((req, res) => {
    paths.push(`${req.method} ${req.url}`);
    answer(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { host, paths, close: () => new Promise<void>((r) => server.close(() => r())) };
}

test("the registry's own answer names the status, code and message", async (t) => {
  const r = await registry((_req, res) => {
    res.writeHead(404, { 'content-type': 'application/json' });
    res.end('{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known"}]}');
  });
  t.after(r.close);
  const log = `#6 ERROR: failed to push ${r.host}/team/app:v1: unknown\n`;
  const why = await explainPushFailure(log, new RegistryClient({ retryBackoffMs: 1 }));
  assert.match(why ?? '', /HTTP 404 NAME_UNKNOWN \(repository name not known\) for team\/app/);
  assert.deepEqual(r.paths, ['GET /v2/team/app/tags/list?n=1']);

  const error = await withPushExplanation(
    new Error(`docker buildx build failed:\n${log}`),
    new RegistryClient({ retryBackoffMs: 1 }),
  );
  assert.ok(error instanceof Error);
  assert.match(error.message, /docker buildx build failed:[\s\S]*HTTP 404 NAME_UNKNOWN/);
});

test('a refused login and hostile registry text are reported safely', async (t) => {
  const r = await registry((req, res) => {
    if (req.url?.includes('evil')) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ errors: [{ code: 'X\n::error::planted', message: 'a'.repeat(5000) }] }),
      );
      return;
    }
    res.writeHead(403, { 'content-type': 'application/json' });
    res.end('{"errors":[{"code":"DENIED"}]}');
  });
  t.after(r.close);
  const client = new RegistryClient({ retryBackoffMs: 1 });
  const denied = await explainPushFailure(`failed to push ${r.host}/a/b:c: unknown`, client);
  assert.match(denied ?? '', /refused access to a\/b \(HTTP 403\)/);
  const evil = await explainPushFailure(`failed to push ${r.host}/evil/b:c: unknown`, client);
  assert.ok(evil);
  assert.doesNotMatch(evil, /\n/, 'no new line reaches the log from the registry');
  assert.ok(evil.length < 700, `bounded: ${evil.length}`);
});

test('nothing is asked when the failure was not a causeless push', async () => {
  let asked = 0;
  const client = {
    describeRepository: async () => {
      asked++;
      return 'HTTP 200';
    },
  };
  const plain = new Error('docker buildx build failed:\nERROR: exit code: 1');
  assert.equal(await withPushExplanation(plain, client), plain);
  assert.equal(await withPushExplanation('a string', client), 'a string');
  assert.equal(asked, 0);
});
