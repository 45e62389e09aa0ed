// Scale out on one machine: two independent Docker engines (separate data roots, sockets and
// BuildKit state, standing in for two runners) each build one platform of the reference service
// with push-by-digest; a merge run joins the digests into one index under the final tags and posts
// one PR comment for both platforms. Each engine's cache-mount state is saved under its own keys
// and, after that engine's builder is wiped, restored from its own keys only.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { execFile } from '../../src/io/exec.ts';
import { RegistryClient } from '../../src/registry/client.ts';
import { parseImageReference } from '../../src/registry/reference.ts';
import { startCacheServer } from '../helpers/cache-server.ts';
import { requireEngine, startSecondEngine } from '../helpers/engine.ts';
import { startGitHubApi } from '../helpers/github-api.ts';
import { ROOT, runAction } from '../helpers/run-action.ts';

const savedKeys = (stdout: string) => [...stdout.matchAll(/saved as (\S+)\)/g)].map((m) => m[1]!);
const restoredFrom = (stdout: string) =>
  [...stdout.matchAll(/restored \d+ files \([^)]*\) from (\S+)/g)].map((m) => m[1]!);

test(
  'two engines build one platform each by digest; merge makes one index, one comment; caches stay per engine',
  { timeout: 15 * 60_000 },
  async (t) => {
    const engine = await requireEngine(t);
    if (!engine) return;
    const { host: secondHost } = await startSecondEngine(t);
    const cache = await startCacheServer();
    t.after(() => cache.close());
    const api = await startGitHubApi({
      'ghs-bot': {
        login: 'github-actions[bot]',
        id: 41898282,
        type: 'Bot',
        write: true,
        installation: true,
      },
    });
    t.after(() => api.close());

    const svc = mkdtempSync(path.join(tmpdir(), 'bgi-scale-'));
    cpSync(path.join(ROOT, 'examples', 'go-service'), svc, { recursive: true });
    const repo = `${engine.registry}/scale-${randomBytes(4).toString('hex')}/go-service`;
    const event = {
      name: 'pull_request',
      payload: { pull_request: { number: 7, base: { ref: 'main' } } },
    };
    const env = {
      ...cache.env('v2'),
      GITHUB_API_URL: api.url,
      GITHUB_BASE_REF: 'main',
      GITHUB_RUN_ID: `${Date.now()}`,
    };
    const legInputs = (platform: string) => ({
      context: svc,
      platforms: platform,
      tags: `${repo}:unused`,
      'push-by-digest': 'true',
      'build-args': `BASE_REGISTRY=${engine.baseRegistry}`,
      'go-version': engine.goVersion,
      'check-go-image': 'false',
      'cache-helper-image': `${engine.baseRegistry}/busybox:1.37.0`,
      'github-token': 'ghs-bot',
    });
    const job = (platform: string, dockerHost?: string) =>
      runAction({
        inputs: legInputs(platform),
        env: dockerHost ? { ...env, DOCKER_HOST: dockerHost } : env,
        event,
      });

    // Both "runners" at once, as a matrix runs.
    const [amd64, arm64] = await Promise.all([job('linux/amd64'), job('linux/arm64', secondHost)]);
    for (const [name, r] of [
      ['amd64', amd64],
      ['arm64', arm64],
    ] as const) {
      assert.equal(r.main.exitCode, 0, `${name}: ${r.main.stdout.slice(-3000)}`);
      assert.equal(r.post?.exitCode, 0);
      assert.ok(r.main.outputs['part-file'], `${name} wrote a part file`);
    }
    assert.equal(api.comments.get(7)?.length ?? 0, 0, 'per-platform jobs do not comment');
    // The tag was never pushed: the final tags are the merge job's.
    assert.equal(
      await new RegistryClient().getManifest(parseImageReference(`${repo}:unused`)),
      undefined,
    );
    // The docker driver cannot push untagged; it pushes under a per-run part tag instead.
    assert.match(amd64.main.stdout, /per-run tag build-go-image-part-/);

    // Artifacts land in one folder per job, as actions/download-artifact lays them out.
    const parts = mkdtempSync(path.join(tmpdir(), 'bgi-parts-'));
    for (const [name, r] of [
      ['amd64', amd64],
      ['arm64', arm64],
    ] as const) {
      mkdirSync(path.join(parts, `part-${name}`));
      cpSync(
        r.main.outputs['part-file']!,
        path.join(parts, `part-${name}`, path.basename(r.main.outputs['part-file']!)),
      );
    }
    const merge = await runAction({
      inputs: { merge: parts, tags: `${repo}:pr-7\n${repo}:latest`, 'github-token': 'ghs-bot' },
      env,
      event,
    });
    assert.equal(merge.main.exitCode, 0, merge.main.stdout.slice(-3000));

    // One index, both platforms, the same per-platform manifests the jobs pushed, both tags.
    const registry = new RegistryClient();
    const merged = await registry.resolvePlatforms(parseImageReference(`${repo}:pr-7`));
    assert.deepEqual(merged?.map((p) => p.platform).sort(), ['linux/amd64', 'linux/arm64']);
    for (const [r, platform] of [
      [amd64, 'linux/amd64'],
      [arm64, 'linux/arm64'],
    ] as const) {
      const own = await registry.resolvePlatforms(
        parseImageReference(`${repo}@${r.main.outputs['digest']}`),
      );
      assert.equal(
        merged?.find((p) => p.platform === platform)?.digest,
        own?.[0]?.digest,
        `${platform} is the image its job pushed`,
      );
    }
    const latest = await registry.getManifest(parseImageReference(`${repo}:latest`));
    assert.equal(latest?.digest, merge.main.outputs['digest']);
    const comments = api.comments.get(7) ?? [];
    assert.equal(comments.length, 1, 'one comment for all platforms');
    assert.match(comments[0]!.body, /linux\/amd64/);
    assert.match(comments[0]!.body, /linux\/arm64/);

    // Cache-mount state: each engine saved its own keys (GOCACHE; GOMODCACHE stays empty for a
    // service without dependencies and is not saved).
    // The second engine refuses host networking to builds: its leg moved the state through the
    // build export instead of the loopback channel, and said why.
    assert.match(arm64.post!.stdout, /loopback transfer not usable \(.*network\.host/);
    assert.match(arm64.post!.stdout, /taken out of the builder through the build export/);
    assert.match(amd64.post!.stdout, /taken out of the builder through the loopback channel/);
    const amdKeys = savedKeys(amd64.post!.stdout);
    const armKeys = savedKeys(arm64.post!.stdout);
    assert.ok(amdKeys.length >= 1, amd64.post!.stdout.slice(-2000));
    assert.ok(armKeys.length >= 1, arm64.post!.stdout.slice(-2000));
    assert.deepEqual(
      amdKeys.filter((k) => armKeys.includes(k)),
      [],
      'no key shared between platforms',
    );
    // Wipe the second engine's builder, run its job again: it restores its own state only.
    await execFile('docker', ['buildx', 'prune', '--all', '--force'], {
      env: { ...process.env, DOCKER_HOST: secondHost },
    });
    const again = await runAction({
      inputs: { ...legInputs('linux/arm64'), 'size-report': 'false' },
      env: { ...env, DOCKER_HOST: secondHost, GITHUB_RUN_ID: `${Date.now()}` },
      event,
      skipPost: true,
    });
    assert.equal(again.main.exitCode, 0, again.main.stdout.slice(-3000));
    const restored = restoredFrom(again.main.stdout);
    assert.equal(restored.length, armKeys.length, again.main.stdout.slice(-3000));
    for (const k of restored) assert.ok(armKeys.includes(k), `${k} is one of the arm64 job's keys`);
  },
);
