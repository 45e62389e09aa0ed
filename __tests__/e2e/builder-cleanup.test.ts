// Post removes the builder main created, and only that one. (Creating a docker-container builder
// needs a BuildKit image this machine cannot pull, so the builder here is created without being
// started; removing it is the same `docker buildx rm` post runs after a real one.)
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { execFile } from '../../src/io/exec.ts';
import type { Logger } from '../../src/log.ts';
import { runPost } from '../../src/post.ts';
import { requireEngine } from '../helpers/engine.ts';

const listed = async (name: string) =>
  (await execFile('docker', ['buildx', 'ls'])).stdout.split('\n').some((l) => l.startsWith(name));

test('post removes the builder main recorded, after a finished or a cancelled main', async (t) => {
  const engine = await requireEngine(t);
  if (!engine) return;
  for (const phase of ['reported', 'started'] as const) {
    const name = `build-go-image-test-${randomBytes(4).toString('hex')}`;
    await execFile('docker', ['buildx', 'create', '--name', name, '--driver', 'docker-container']);
    t.after(() => execFile('docker', ['buildx', 'rm', '--force', name], { allowFailure: true }));
    assert.ok(await listed(name), 'the builder exists before post');
    const lines: string[] = [];
    const log: Logger = {
      info: (m) => lines.push(m),
      warning: (m) => lines.push(`warning ${m}`),
      notice: () => {},
      error: (m) => lines.push(`error ${m}`),
      debug: () => {},
      group: (_n, fn) => fn(),
    };
    await runPost(
      {
        phase,
        cancelled: phase === 'started',
        createdBuilder: name,
        cacheSaveAllowed: true,
        sizeLimitBytes: 1,
      },
      log,
      () => {},
    );
    assert.ok(!(await listed(name)), `removed after phase ${phase}`);
    assert.ok(lines.includes(`post: removed builder ${name}`), lines.join('\n'));
    assert.ok(await listed('default'), 'the default builder is untouched');
  }
});
