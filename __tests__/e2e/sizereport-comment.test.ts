// The size report end to end: a push build on main saves its report as the baseline; a pull request
// whose image adds a file gets one comment with per-platform deltas, updated in place on the next run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { startCacheServer } from '../helpers/cache-server.ts';
import { startGitHubApi } from '../helpers/github-api.ts';
import { requireEngine, uniqueRepo } from '../helpers/engine.ts';
import { ROOT, runAction } from '../helpers/run-action.ts';
import { RegistryClient } from '../../src/registry/client.ts';
import { parseImageReference } from '../../src/registry/reference.ts';

test(
  'size report: baseline from main, one PR comment with per-platform deltas, updated not duplicated',
  { timeout: 10 * 60_000 },
  async (t) => {
    const engine = await requireEngine(t);
    if (!engine) return;
    const cache = await startCacheServer();
    const api = await startGitHubApi({
      'ghs-token': {
        login: 'github-actions[bot]',
        id: 41898282,
        type: 'Bot',
        write: true,
        installation: true,
      },
    });
    t.after(() => Promise.all([cache.close(), api.close()]));
    const svc = mkdtempSync(path.join(tmpdir(), 'bgi-size-'));
    cpSync(path.join(ROOT, 'examples', 'go-service'), svc, { recursive: true });
    const repo = uniqueRepo(engine, 'size');
    const inputs = {
      context: svc,
      tags: `${repo}:main`,
      push: 'true',
      'build-args': `BASE_REGISTRY=${engine.baseRegistry}`,
      'go-version': engine.goVersion,
      'cache-mounts': 'false',
      'github-token': 'ghs-token',
    };
    const env = { ...cache.env(), GITHUB_API_URL: api.url };

    const base = await runAction({
      inputs,
      env,
      event: { name: 'push', payload: { ref: 'refs/heads/main' } },
      skipPost: true,
    });
    assert.equal(base.main.exitCode, 0, base.main.stdout.slice(-3000));
    assert.ok(
      cache.entries.some((e) => e.committed && e.key.startsWith('build-go-image-size-v1-')),
      'the push build saved its report',
    );

    // The PR's image adds a 300 KiB file of random bytes (incompressible) in the final stage.
    writeFileSync(path.join(svc, 'asset.bin'), randomBytes(300 * 1024));
    const df = path.join(svc, 'Dockerfile');
    writeFileSync(
      df,
      readFileSync(df, 'utf8').replace(
        'USER 65532:65532',
        'COPY asset.bin /asset.bin\nUSER 65532:65532',
      ),
    );
    writeFileSync(
      path.join(svc, '.dockerignore'),
      readFileSync(path.join(svc, '.dockerignore'), 'utf8').replace('Dockerfile*\n', ''),
    );
    const pr = {
      name: 'pull_request',
      payload: { number: 12, pull_request: { number: 12, base: { ref: 'main' } } },
    };
    const prEnv = {
      ...env,
      GITHUB_BASE_REF: 'main',
      GITHUB_HEAD_REF: 'feature',
      GITHUB_REF: 'refs/pull/12/merge',
    };
    const first = await runAction({
      inputs: { ...inputs, tags: `${repo}:pr-12` },
      env: prEnv,
      event: pr,
      skipPost: true,
    });
    assert.equal(first.main.exitCode, 0, first.main.stdout.slice(-3000));
    const comments = api.comments.get(12) ?? [];
    assert.equal(comments.length, 1);

    // Expected deltas come from the registry itself: the new layer's compressed size per platform.
    const registry = new RegistryClient();
    const baseRef = parseImageReference(`${repo}:main`);
    const headRef = parseImageReference(`${repo}:pr-12`);
    const basePlatforms = (await registry.resolvePlatforms(baseRef))!;
    const headPlatforms = (await registry.resolvePlatforms(headRef))!;
    const report = JSON.parse(first.main.outputs['size-report'] ?? '{}') as {
      diff: { platforms: { platform: string; base: number; head: number }[] };
    };
    for (const platform of ['linux/amd64', 'linux/arm64']) {
      const b = basePlatforms.find((p) => p.platform === platform)!.manifest.body;
      const h = headPlatforms.find((p) => p.platform === platform)!.manifest.body;
      const added = h.layers!.filter((l) => !b.layers!.some((x) => x.digest === l.digest));
      assert.equal(added.length, 1, `${platform}: one new layer`);
      const row = report.diff.platforms.find((p) => p.platform === platform)!;
      assert.equal(
        row.head - row.base,
        added[0]!.size + (h.config!.size - b.config!.size),
        `${platform}: delta is the added layer`,
      );
      assert.ok(added[0]!.size > 300 * 1024, 'random bytes do not compress');
    }
    assert.match(
      comments[0]!.body,
      /\| linux\/amd64 \| [\d.]+ MiB \| [\d.]+ MiB \| \+3\d\d\.\d KiB/,
    );
    assert.match(comments[0]!.body, /`COPY asset\.bin \/asset\.bin` \| added/);
    assert.match(first.main.summary, /Image size/);

    // The next push to the PR: the same comment is updated (the new report names another digest).
    writeFileSync(path.join(svc, 'asset.bin'), randomBytes(200 * 1024));
    const second = await runAction({
      inputs: { ...inputs, tags: `${repo}:pr-12` },
      env: prEnv,
      event: pr,
      skipPost: true,
    });
    assert.equal(second.main.exitCode, 0, second.main.stdout.slice(-3000));
    const after = api.comments.get(12) ?? [];
    assert.equal(after.length, 1, 'no second comment');
    assert.equal(after[0]!.id, comments[0]!.id);
    assert.match(after[0]!.body, /\+2\d\d\.\d KiB/);
    assert.ok(
      api.requests.some((r) => r.method === 'PATCH'),
      'updated in place',
    );
  },
);

test(
  'size report of a build that pushes nothing: measured from its own OCI layout export',
  { timeout: 10 * 60_000 },
  async (t) => {
    const engine = await requireEngine(t);
    if (!engine) return;
    const svc = mkdtempSync(path.join(tmpdir(), 'bgi-size-oci-'));
    cpSync(path.join(ROOT, 'examples', 'go-service'), svc, { recursive: true });
    const res = await runAction({
      inputs: {
        context: svc,
        tags: 'example.com/octo/service:pr',
        push: 'false',
        'build-args': `BASE_REGISTRY=${engine.baseRegistry}`,
        'go-version': engine.goVersion,
        'cache-mounts': 'false',
        comment: 'false',
      },
      skipPost: true,
    });
    assert.equal(res.main.exitCode, 0, res.main.stdout.slice(-3000));
    const report = JSON.parse(res.main.outputs['size-report'] ?? '{}') as {
      head: {
        platforms: {
          platform: string;
          compressed: number;
          uncompressed: number;
          layers: { size: number; uncompressed: number }[];
        }[];
      };
    };
    assert.deepEqual(
      report.head.platforms.map((p) => p.platform),
      ['linux/amd64', 'linux/arm64'],
    );
    for (const p of report.head.platforms) {
      assert.ok(p.compressed > 1_000_000, `${p.platform} compressed ${p.compressed}`);
      // The Go binary compresses: unpacked is larger than stored, and both are real measurements.
      assert.ok(
        p.uncompressed > p.layers[0]!.size,
        `${p.platform} unpacked ${p.uncompressed} > stored ${p.layers[0]!.size}`,
      );
    }
    assert.match(res.main.outputs['size-report-markdown'] ?? '', /No baseline to compare with/);
  },
);
