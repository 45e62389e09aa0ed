// What the fresh-runner benchmarks share: a copy of the reference service, the cache stand-in, the
// action's inputs (both platforms, pushed to the local registry) and the wipe that makes a fresh
// runner (builder pruned, base and helper images removed so they come from the local registry).
import { cpSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFile } from '../src/io/exec.ts';
import { readEngineEnv } from '../__tests__/helpers/engine.ts';
import { startCacheServer } from '../__tests__/helpers/cache-server.ts';

export async function freshRunnerSetup(name: string) {
  const env = readEngineEnv();
  const base = env['BGI_BASE_REGISTRY']!;
  const svc = mkdtempSync(path.join(tmpdir(), `bgi-${name}-svc-`));
  cpSync(path.join(import.meta.dirname, '..', 'examples', 'go-service'), svc, { recursive: true });
  const repo = `${env['BGI_REGISTRY']}/bench-${name}-${process.pid}/go-service`;
  const cache = await startCacheServer();
  const inputs = {
    context: svc,
    platforms: 'linux/amd64,linux/arm64',
    push: 'true',
    'build-args': `BASE_REGISTRY=${base}`,
    'cache-helper-image': `${base}/busybox:stable`,
    'cache-key': `bench-${process.pid}`,
    'github-token': '',
    comment: 'false',
  };
  /** What a fresh hosted runner does not have: the base image and the helper image. */
  const runnerImages = [`${base}/golang:${env['BGI_GO_VERSION']}`, `${base}/busybox:stable`];
  const wipe = async (): Promise<void> => {
    await execFile('docker', ['buildx', 'prune', '--all', '--force']);
    await execFile('docker', ['image', 'rm', '--force', ...runnerImages], { allowFailure: true });
    await execFile('sync', []);
  };
  return { svc, repo, cache, inputs, wipe };
}
