// The pruning rule, shown on a real Go build: Go refreshes the mtime of a build-cache entry it uses
// when that mtime is more than an hour old, so after a build that started at T0 every entry older
// than T0 - 1h was not used by it. Entries are aged first, a build runs, and the extract must keep
// exactly what the build used (a rebuild from it stays fully cached) and drop the rest.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { files } from '../helpers/tree.ts';
import { execFile } from '../../src/io/exec.ts';
import { discoverCacheMounts } from '../../src/cachemounts/discover.ts';
import { extractMount, injectMount } from '../../src/cachemounts/transport/index.ts';
import { parseDockerfile } from '../../src/dockerfile/parse.ts';
import { requireEngine } from '../helpers/engine.ts';
import { compiledPackages, serviceCopy } from '../helpers/go-service.ts';

test(
  'pruning keeps the entries a build used and drops the ones it did not',
  { timeout: 10 * 60_000 },
  async (t) => {
    const engine = await requireEngine(t);
    if (!engine) return;
    const svc = serviceCopy();
    const df = path.join(svc, 'Dockerfile');
    const gocache = discoverCacheMounts(
      parseDockerfile(readFileSync(df, 'utf8'), df),
      new Map(),
    ).find((m) => m.target === '/root/.cache/go-build')!;
    const work = mkdtempSync(path.join(tmpdir(), 'bgi-prune-work-'));
    const common = {
      platform: 'linux/amd64',
      mount: gocache,
      helperImage: `${engine.baseRegistry}/busybox:stable`,
      workDir: work,
    };
    const build = (_step: string) =>
      execFile('docker', [
        'buildx',
        'build',
        '--platform',
        'linux/amd64',
        '--build-arg',
        `BASE_REGISTRY=${engine.baseRegistry}`,
        '--build-arg',
        `GO_VERSION=${engine.goVersion}`,
        '--progress',
        'plain',
        '--output',
        'type=cacheonly',
        svc,
      ]);

    // A cold build fills GOCACHE; take it out.
    await execFile('docker', ['buildx', 'prune', '--all', '--force']);
    await build('cold');
    const first = path.join(work, 'first');
    await extractMount({ ...common, outDir: first, runTag: 'first' });
    const unpacked = path.join(work, 'unpacked');
    mkdirSync(unpacked);
    await execFile('tar', ['-x', '-f', path.join(first, 'content.tar'), '-C', unpacked]);
    const used = files(unpacked).filter((f) => /-d$/.test(f));
    assert.ok(used.length > 100, `a real GOCACHE (${used.length} entries)`);

    // Age every entry by two hours and add entries no build will ever use, then put it all back.
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    const junk = ['00/00junk1-d', 'ff/ffjunk2-d', 'ab/abjunk3-a'];
    for (const j of junk) {
      mkdirSync(path.join(unpacked, path.dirname(j)), { recursive: true });
      writeFileSync(path.join(unpacked, j), 'stale');
    }
    for (const f of files(unpacked)) utimesSync(path.join(unpacked, f), twoHoursAgo, twoHoursAgo);
    const aged = path.join(work, 'aged');
    mkdirSync(aged);
    await execFile('tar', [
      '-c',
      '--numeric-owner',
      '-f',
      path.join(aged, 'content.tar'),
      '-C',
      unpacked,
      '.',
    ]);
    await execFile('docker', ['buildx', 'prune', '--all', '--force']);
    await injectMount({ ...common, tarFile: path.join(aged, 'content.tar'), runTag: 'aged' });

    // The build uses the entries it needs (and Go refreshes their mtimes); extract with the rule.
    const started = Date.now();
    const warm = await build('warm');
    assert.ok(
      !/\n#\d+ [\d.]+ net\/http\n/.test(warm.stderr + warm.stdout),
      'the aged cache served the build',
    );
    const pruned = path.join(work, 'pruned');
    await extractMount({
      ...common,
      outDir: pruned,
      runTag: 'pruned',
      pruneOlderThanMinutes: (Date.now() - started) / 60000 + 65,
    });
    const keptDir = path.join(work, 'kept');
    mkdirSync(keptDir);
    await execFile('tar', ['-x', '-f', path.join(pruned, 'content.tar'), '-C', keptDir]);
    const kept = files(keptDir);
    for (const j of junk) assert.ok(!kept.includes(j), `${j} was not used and is pruned`);
    assert.ok(
      kept.length > 50 && kept.length < files(unpacked).length,
      `kept ${kept.length} of ${files(unpacked).length}`,
    );
    for (const f of kept.filter((k) => k.endsWith('-d')))
      assert.ok(
        statSync(path.join(keptDir, f)).mtimeMs > started - 61 * 60_000,
        `${f} kept because the build refreshed it`,
      );

    // What was kept is everything the build needs: from it alone, the build compiles nothing.
    await execFile('docker', ['buildx', 'prune', '--all', '--force']);
    await injectMount({ ...common, tarFile: path.join(pruned, 'content.tar'), runTag: 'again' });
    const again = await build('again');
    const compiled = [...compiledPackages(again.stdout + again.stderr)];
    assert.deepEqual(compiled, [], 'nothing recompiled after pruning');
  },
);

test('over the size cap, the oldest Go build-cache entries go first; other caches are kept whole', async (t) => {
  const engine = await requireEngine(t);
  if (!engine) return;
  const work = mkdtempSync(path.join(tmpdir(), 'bgi-cap-'));
  const helperImage = `${engine.baseRegistry}/busybox:1.37.0`;
  const run = `${process.pid}-${Date.now()}`;
  const results: Record<string, string[]> = {};
  for (const [kind, marker] of [
    ['gocache', 'This directory holds cached build artifacts from the Go build system.\n'],
    ['modcache', ''],
  ] as const) {
    // Ten 100 KiB entries, entry i last used i minutes ago (00 is the newest).
    const src = path.join(work, kind, 'src');
    mkdirSync(path.join(src, 'aa'), { recursive: true });
    if (marker) writeFileSync(path.join(src, 'README'), marker);
    for (let i = 0; i < 10; i++) {
      const f = path.join(src, 'aa', `aa${String(i).padStart(2, '0')}-d`);
      writeFileSync(f, Buffer.alloc(100 * 1024, i));
      const when = new Date(Date.now() - i * 60_000);
      utimesSync(f, when, when);
    }
    const tarDir = path.join(work, kind, 'tar');
    mkdirSync(tarDir, { recursive: true });
    await execFile('tar', [
      '-c',
      '--numeric-owner',
      '-f',
      path.join(tarDir, 'content.tar'),
      '-C',
      src,
      '.',
    ]);
    const mount = {
      id: `cap-${kind}-${run}`,
      target: `/root/.cache/${kind}`,
      sharing: 'locked' as const,
      where: 'test',
    };
    const common = { platform: 'linux/amd64', mount, helperImage, workDir: path.join(work, kind) };
    // Run tags differ per mount: BuildKit's layer cache does not tell cache-mount ids apart.
    await injectMount({
      ...common,
      tarFile: path.join(tarDir, 'content.tar'),
      runTag: `${run}-${kind}-in`,
    });
    const out = path.join(work, kind, 'out');
    await extractMount({
      ...common,
      outDir: out,
      runTag: `${run}-${kind}-out`,
      capBytes: 450 * 1024,
    });
    const unpacked = path.join(work, kind, 'unpacked');
    mkdirSync(unpacked);
    await execFile('tar', ['-x', '-f', path.join(out, 'content.tar'), '-C', unpacked]);
    results[kind] = files(unpacked).filter((f) => f.endsWith('-d'));
  }
  assert.deepEqual(
    results['gocache'],
    ['aa/aa00-d', 'aa/aa01-d', 'aa/aa02-d', 'aa/aa03-d'],
    'the four newest entries fit under 450 KiB; the six oldest were dropped',
  );
  assert.equal(results['modcache']!.length, 10, 'a module cache is never cut');
});
