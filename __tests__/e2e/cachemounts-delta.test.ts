// Three runs of the action on fresh builders (the builder wiped completely before each, as on a new
// hosted runner): the first saves a full entry, the next two save deltas of it. Each warm run gets
// the state the run before left (the Go compiler rebuilds only the changed package) and the cache
// stand-in holds one full entry and two small deltas tied to it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from '../../src/io/exec.ts';
import { deltaPrefix } from '../../src/cachemounts/store/keys.ts';
import { startCacheServer } from '../helpers/cache-server.ts';
import { requireEngine, uniqueRepo } from '../helpers/engine.ts';
import {
  changeOneLine,
  compiledPackages,
  pushBothPlatformsInputs,
  serviceCopy,
} from '../helpers/go-service.ts';
import { runAction } from '../helpers/run-action.ts';

const GOCACHE = '/root/.cache/go-build';

test(
  'full, delta, delta: each fresh builder gets the state the last run left, and the service holds one full entry and its deltas',
  { timeout: 20 * 60_000 },
  async (t) => {
    const engine = await requireEngine(t);
    if (!engine) return;
    const cache = await startCacheServer();
    t.after(() => cache.close());
    const svc = serviceCopy();
    const repo = uniqueRepo(engine, 'delta');
    const inputs = pushBothPlatformsInputs(engine, svc, repo, {
      'cache-key': `delta-${Date.now()}`,
    });
    const committed = () =>
      cache.entries.filter((e) => e.committed && e.key.startsWith('build-go-image-cm-'));

    await execFile('docker', ['buildx', 'prune', '--all', '--force']);
    const first = await runAction({ inputs, env: cache.env() });
    assert.equal(first.main.exitCode, 0, first.main.stdout.slice(-4000));
    assert.match(
      first.post?.stdout ?? '',
      /cache mount \/root\/\.cache\/go-build: full entry \(no full entry was restored/,
    );
    assert.match(
      first.post?.stdout ?? '',
      /cache mount \/root\/\.cache\/go-build: saved \(saved as build-go-image-cm-v1-\S+\)/,
    );
    const [full, ...others] = committed();
    assert.ok(
      full && others.length === 0,
      committed()
        .map((e) => e.key)
        .join(', '),
    );

    const runs = [];
    for (const n of [2, 3]) {
      await execFile('docker', ['buildx', 'prune', '--all', '--force']);
      changeOneLine(svc);
      const run = await runAction({
        inputs: { ...inputs, tags: `${repo}:v${n}` },
        env: cache.env(),
      });
      assert.equal(run.main.exitCode, 0, run.main.stdout.slice(-4000));
      assert.equal(run.post?.exitCode, 0, run.post?.stdout);
      const hits = JSON.parse(run.main.outputs['cache-hit'] ?? '{}') as Record<string, string>;
      assert.equal(hits[GOCACHE], 'partial');
      const compiled = [...compiledPackages(run.main.stdout)].sort();
      assert.deepEqual(
        compiled.filter((p) => !p.startsWith('example.com/go-service')),
        [],
        'no standard-library package is compiled',
      );
      assert.ok(compiled.includes('example.com/go-service/internal/store'), compiled.join(', '));
      assert.ok(!compiled.includes('example.com/go-service/internal/metrics'), compiled.join(', '));
      assert.match(
        run.post?.stdout ?? '',
        new RegExp(`cache mount ${GOCACHE}: saved \\(saved as ${deltaPrefix(full.key)}\\S+\\)`),
      );
      runs.push(run);
    }
    // The third run restored the full entry and the second run's delta.
    const deltas = committed().filter((e) => e.key.startsWith(deltaPrefix(full.key)));
    assert.equal(deltas.length, 2);
    assert.equal(
      committed().length,
      3,
      committed()
        .map((e) => e.key)
        .join(', '),
    );
    assert.match(
      runs[1]!.main.stdout,
      new RegExp(`restored \\d+ files .* from ${full.key} and ${deltas[0]!.key}`),
    );
    for (const d of deltas)
      assert.ok(
        d.data.length <= 0.1 * full.data.length,
        `a delta of ${d.data.length} bytes against a full entry of ${full.data.length}`,
      );
    t.diagnostic(
      `full entry ${full.data.length} bytes; deltas ${deltas.map((d) => d.data.length).join(', ')} bytes`,
    );
  },
);
