// The runner's proxy settings reach RUN instructions as BuildKit's predefined proxy args (both
// cases), never appear in argv, the log or the image's config and history, and stay out with
// build-proxy: false.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { RegistryClient } from '../../src/registry/client.ts';
import { parseImageReference } from '../../src/registry/reference.ts';
import { requireEngine } from '../helpers/engine.ts';
import { runAction } from '../helpers/run-action.ts';

test('proxy settings reach the build as predefined args and leak nowhere', async (t) => {
  const engine = await requireEngine(t);
  if (!engine) return;
  const run = randomBytes(4).toString('hex');
  const password = `pw-${randomBytes(6).toString('hex')}`;
  const ctx = mkdtempSync(path.join(tmpdir(), 'bgi-proxy-'));
  writeFileSync(path.join(ctx, 'go.mod'), 'module example.com/proxy\n\ngo 1.24.1\n');
  writeFileSync(path.join(ctx, '.dockerignore'), '.git\n');
  writeFileSync(
    path.join(ctx, 'Dockerfile'),
    [
      `FROM ${engine.baseRegistry}/busybox:1.37.0`,
      // The run id keeps this RUN out of the layer cache: proxy args are not part of its key.
      `RUN echo "${run} https=$HTTPS_PROXY no=$no_proxy" > /proxy.txt`,
      '',
    ].join('\n'),
  );
  const proxyEnv = {
    HTTPS_PROXY: `http://builder:${password}@127.0.0.1:3128`,
    no_proxy: 'example.internal',
  };
  const common = {
    context: ctx,
    platforms: 'linux/amd64',
    'go-version': engine.goVersion,
    'check-go-image': 'false',
    'cache-mounts': 'false',
    'size-report': 'false',
    advice: 'off',
  };

  const out = mkdtempSync(path.join(tmpdir(), 'bgi-proxy-out-'));
  const local = await runAction({
    inputs: { ...common, outputs: `type=local,dest=${out}` },
    env: proxyEnv,
  });
  assert.equal(local.main.exitCode, 0, local.main.stdout.slice(-2000));
  assert.equal(
    readFileSync(path.join(out, 'proxy.txt'), 'utf8').trim(),
    `${run} https=http://builder:${password}@127.0.0.1:3128 no=example.internal`,
  );
  assert.ok(local.main.masks.includes(password), 'the proxy password is masked');
  const shown = local.main.stdout
    .split('\n')
    .filter((l) => !l.startsWith('::add-mask::'))
    .join('\n');
  assert.ok(!shown.includes(password) && !local.main.stderr.includes(password), 'not in the log');

  // Pushed: the value is in no blob of the image's config (history included).
  const tag = `${engine.registry}/proxy-${run}/img:v1`;
  const pushed = await runAction({ inputs: { ...common, tags: tag, push: 'true' }, env: proxyEnv });
  assert.equal(pushed.main.exitCode, 0, pushed.main.stdout.slice(-2000));
  const client = new RegistryClient();
  const platforms = await client.resolvePlatforms(parseImageReference(tag));
  for (const p of platforms ?? []) {
    const config = await client.getBlob(parseImageReference(tag), p.manifest.body.config!.digest);
    assert.ok(!config.includes(password), 'no proxy credentials in the image config');
  }

  // Opted out: the build sees no proxy.
  const off = mkdtempSync(path.join(tmpdir(), 'bgi-proxy-off-'));
  writeFileSync(
    path.join(ctx, 'Dockerfile'),
    readFileSync(path.join(ctx, 'Dockerfile'), 'utf8').replace(run, `${run}-off`),
  );
  const optOut = await runAction({
    inputs: { ...common, outputs: `type=local,dest=${off}`, 'build-proxy': 'false' },
    env: proxyEnv,
  });
  assert.equal(optOut.main.exitCode, 0);
  assert.ok(existsSync(path.join(off, 'proxy.txt')));
  assert.equal(readFileSync(path.join(off, 'proxy.txt'), 'utf8').trim(), `${run}-off https= no=`);
});
