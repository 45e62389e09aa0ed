// What the post step does after main stopped at each phase, and on untrusted events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runPost } from '../../src/post.ts';
import { parseState, type MainState } from '../../src/state.ts';
import { recorder } from '../helpers/log-recorder.ts';

const withCache = (over: Partial<MainState>): MainState => ({
  phase: 'built',
  cacheSaveAllowed: true,
  sizeLimitBytes: 1 << 30,
  cache: {
    helperImage: 'busybox',
    workDir: '/nonexistent',
    mounts: [
      {
        mount: { id: 'gocache', target: '/root/.cache/go-build', sharing: 'shared', where: 'x' },
        label: 'gocache',
        node: '',
        platforms: ['linux/amd64'],
        helperPlatform: 'linux/amd64',
        key: 'k-1',
        restoreKeys: ['k-'],
        hit: 'miss',
        restoredBytes: 0,
        seconds: 0,
      },
    ],
  },
  ...over,
});

test('untrusted events do not save caches', async () => {
  const log = recorder();
  await runPost(withCache({ cacheSaveAllowed: false }), log, () =>
    assert.fail('no output expected'),
  );
  assert.deepEqual(log.lines, [
    'info post: cache mounts not saved: untrusted event (set cache-on-untrusted-events to opt in)',
  ]);
});

for (const phase of ['started', 'resolved', 'restored'] as const) {
  test(`main stopped at "${phase}": post saves nothing`, async () => {
    const log = recorder();
    await runPost(withCache({ phase }), log, () => assert.fail('no output expected'));
    assert.match(log.lines[0]!, new RegExp(`main stopped at "${phase}" before the build finished`));
  });
}

test('no state at all (main failed on its inputs): post does nothing and does not fail', async () => {
  const log = recorder();
  await runPost(undefined, log, () => {});
  assert.match(log.lines[0]!, /main did not get far enough/);
});

test('state read back is validated: unknown phase, foreign builder names are refused', () => {
  assert.equal(
    parseState(JSON.stringify({ phase: 'hacked', cacheSaveAllowed: true, sizeLimitBytes: 1 })),
    undefined,
  );
  assert.equal(
    parseState(
      JSON.stringify({
        phase: 'built',
        cacheSaveAllowed: true,
        sizeLimitBytes: 1,
        createdBuilder: 'default; rm -rf /',
      }),
    ),
    undefined,
  );
  assert.ok(
    parseState(
      JSON.stringify({
        phase: 'built',
        cacheSaveAllowed: true,
        sizeLimitBytes: 1,
        createdBuilder: 'build-go-image-123-45',
      }),
    ),
  );
  assert.equal(parseState(''), undefined);
});

test('every step that mounts the caches was CACHED: post takes nothing out and saves nothing', async () => {
  const log = recorder();
  const outputs: Record<string, string> = {};
  // workDir does not exist: taking the mounts out or saving would fail and warn.
  await runPost(withCache({ cacheStepsRan: false }), log, (k, v) => (outputs[k] = v));
  assert.deepEqual(log.lines, [
    'info post: cache mounts not saved: every build step that mounts them was cached, so they hold what was restored',
  ]);
  assert.deepEqual(JSON.parse(outputs['cache-saved']!), { gocache: false });
});

test('the hand-over keeps whether cache steps ran, and refuses a value of another type', () => {
  const state = withCache({ cacheStepsRan: false });
  assert.equal(parseState(JSON.stringify(state))?.cacheStepsRan, false);
  assert.equal(parseState(JSON.stringify({ ...state, cacheStepsRan: 'no' })), undefined);
});
