// The real @actions/cache client saves to and restores from the cache stand-in, byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as cache from '@actions/cache';
import { startCacheServer } from '../helpers/cache-server.ts';

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      const rel = path.relative(dir, p);
      if (e.isDirectory()) {
        out[`${rel}/`] = (statSync(p).mode & 0o777).toString(8);
        walk(p);
      } else
        out[rel] =
          `${(statSync(p).mode & 0o777).toString(8)} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`;
    }
  };
  walk(dir);
  return out;
}

for (const version of ['v2', 'v1'] as const) {
  test(
    `real @actions/cache ${version}: save, exact restore byte for byte, prefix hit, miss, duplicate`,
    { timeout: 120_000 },
    async (t) => {
      const server = await startCacheServer();
      const saved = { ...process.env };
      t.after(async () => {
        process.env = saved;
        await server.close();
      });
      const work = mkdtempSync(path.join(tmpdir(), 'bgi-cache-'));
      Object.assign(process.env, server.env(version), {
        RUNNER_TEMP: path.join(work, 'temp'),
        GITHUB_WORKSPACE: work,
      });
      delete process.env['ACTIONS_CACHE_MODE'];
      mkdirSync(path.join(work, 'temp'));
      const data = path.join(work, 'data');
      mkdirSync(path.join(data, 'nested', 'deeper'), { recursive: true });
      writeFileSync(path.join(data, 'random.bin'), randomBytes(20 * 1024 * 1024));
      writeFileSync(path.join(data, 'empty'), '');
      writeFileSync(path.join(data, 'nested', 'deeper', 'run.sh'), '#!/bin/sh\necho hi\n');
      chmodSync(path.join(data, 'nested', 'deeper', 'run.sh'), 0o755);
      const before = snapshot(data);

      assert.equal(cache.isFeatureAvailable(), true);
      const id = await cache.saveCache([data], 'bgi-test-linux-abc-1');
      assert.ok(id > 0);
      rmSync(data, { recursive: true });
      assert.equal(
        await cache.restoreCache([data], 'bgi-test-linux-abc-1'),
        'bgi-test-linux-abc-1',
      );
      assert.deepEqual(snapshot(data), before);

      assert.equal(
        await cache.restoreCache([data], 'bgi-test-linux-zzz-2', ['bgi-test-linux-']),
        'bgi-test-linux-abc-1',
        'restore-key prefix hit',
      );
      assert.equal(await cache.restoreCache([data], 'other-key'), undefined, 'miss');
      assert.equal(
        await cache.restoreCache([path.join(work, 'elsewhere')], 'bgi-test-linux-abc-1'),
        undefined,
        'other paths are another version',
      );
      assert.equal(
        await cache.saveCache([data], 'bgi-test-linux-abc-1'),
        -1,
        'entries are immutable',
      );
      assert.equal(server.entries.filter((e) => e.committed).length, 1);
    },
  );
}
