// The recommended Dockerfiles of docs/dockerfiles.md build through the bundled action with no
// advice raised, and their images run as documented. (The static scratch one is
// examples/go-service, built and run in action-build.test.ts; the private-module one in
// private-modules.test.ts.) Distroless is not reachable here, so a stand-in with the same shape
// (/etc/passwd with nonroot, user 65532 in the config, no shell) is published to the local
// registry first.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { adviseDockerfile } from '../../src/advice/advice.ts';
import { parseDockerfile } from '../../src/dockerfile/parse.ts';
import { execFile } from '../../src/io/exec.ts';
import { pushBothPlatforms, requireEngine, type EngineInfo } from '../helpers/engine.ts';
import { ROOT, runAction } from '../helpers/run-action.ts';
import { readFileSync } from 'node:fs';

async function publishDistrolessStandIn(engine: EngineInfo): Promise<string> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bgi-distroless-'));
  writeFileSync(
    path.join(dir, 'passwd'),
    'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n',
  );
  writeFileSync(path.join(dir, 'group'), 'root:x:0:\nnonroot:x:65532:\n');
  writeFileSync(
    path.join(dir, 'Dockerfile'),
    'FROM scratch\nCOPY passwd group /etc/\nUSER 65532:65532\nWORKDIR /home/nonroot\n',
  );
  const ref = `${engine.registry}/distroless-standin/static-debian12:nonroot`;
  return pushBothPlatforms(dir, ref);
}

test(
  'distroless nonroot: builds for both platforms with no advice, runs as 65532 on each',
  { timeout: 10 * 60_000 },
  async (t) => {
    const engine = await requireEngine(t);
    if (!engine) return;
    const distroless = await publishDistrolessStandIn(engine);
    const context = path.join(ROOT, 'examples', 'go-distroless');
    const tag = `${engine.registry}/distroless-${randomBytes(4).toString('hex')}/service:v1`;
    const res = await runAction({
      inputs: {
        context,
        tags: tag,
        push: 'true',
        'build-args': `BASE_REGISTRY=${engine.baseRegistry}\nDISTROLESS=${distroless}`,
        'go-version': engine.goVersion,
        'check-go-image': 'false',
        'cache-mounts': 'false',
        'size-report': 'false',
        advice: 'error',
      },
    });
    assert.equal(res.main.exitCode, 0, res.main.stdout.slice(-3000));
    assert.deepEqual(
      res.main.annotations.filter((a) => a.props['file']?.endsWith('Dockerfile')),
      [],
      'the recommended Dockerfile raises no advice',
    );
    for (const platform of ['linux/amd64', 'linux/arm64']) {
      const run = await execFile('docker', [
        'run',
        '--rm',
        '--pull',
        'always',
        '--platform',
        platform,
        tag,
      ]);
      assert.equal(run.stdout.trim(), 'uid=65532', platform);
    }
    await execFile('docker', ['image', 'rm', '--force', tag], { allowFailure: true });
  },
);

test('the documented Dockerfiles are the example files, and raise no advice offline', () => {
  const doc = readFileSync(path.join(ROOT, 'docs', 'dockerfiles.md'), 'utf8');
  for (const example of ['go-service', 'go-distroless', 'go-private']) {
    const file = path.join(ROOT, 'examples', example, 'Dockerfile');
    const text = readFileSync(file, 'utf8');
    assert.ok(
      doc.includes(text.trim()),
      `docs/dockerfiles.md shows ${example}/Dockerfile as it is`,
    );
    const advice = adviseDockerfile(parseDockerfile(text, file), {
      platforms: ['linux/amd64', 'linux/arm64'],
      context: path.dirname(file),
      hostArch: 'amd64',
    });
    assert.deepEqual(
      advice.map((a) => a.title),
      [],
      example,
    );
  }
});
