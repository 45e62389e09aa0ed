// The cache-mount store against the cache stand-in with the real @actions/cache client: full and
// delta entries, their keys, rollover, a delta whose base was evicted or that does not fit its
// base, a save that never completes, and two jobs saving deltas of the same full entry. No Docker:
// the "builder" is a folder archived with the host's tar, as the helper build archives a mount.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { files } from '../helpers/tree.ts';
import * as cache from '@actions/cache';
import { startCacheServer, type CacheServer } from '../helpers/cache-server.ts';
import { restoreState, saveState, withTransferPath } from '../../src/cachemounts/store/index.ts';
import { deltaPrefix } from '../../src/cachemounts/store/keys.ts';
import { planDelta, writeDeltaArchive } from '../../src/cachemounts/store/delta.ts';
import { manifestOf } from '../../src/cachemounts/store/manifest.ts';
import { indexArchive } from '../../src/cachemounts/archive/positions.ts';
import type { Logger } from '../../src/log.ts';

const hex = (n: number) => randomBytes(n).toString('hex');

/** A Go build cache: README, trim.txt, `entries` pairs of an action file and an output file. */
function goCache(dir: string, entries: number, outputBytes = 16 * 1024): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'README'),
    'This directory holds cached build artifacts from the Go build system.\n',
  );
  writeFileSync(path.join(dir, 'trim.txt'), '1700000000\n');
  for (let i = 0; i < entries; i++) addEntry(dir, outputBytes, Date.now() - 3 * 3600_000);
}

function addEntry(dir: string, outputBytes: number, when = Date.now()): string {
  const id = hex(32);
  const sub = path.join(dir, id.slice(0, 2));
  mkdirSync(sub, { recursive: true });
  const a = path.join(sub, `${id}-a`);
  const d = path.join(sub, `${id}-d`);
  writeFileSync(
    a,
    `v1 ${id} ${hex(32)} ${String(outputBytes).padStart(20)} ${String(when).padStart(20)}\n`,
  );
  writeFileSync(d, randomBytes(outputBytes));
  for (const f of [a, d]) utimesSync(f, new Date(when), new Date(when));
  return id;
}

/** Names, content and mtime (seconds) of every file: what a restore must reproduce. */
function snapshot(dir: string): Record<string, string> {
  return Object.fromEntries(
    files(dir).map((f) => {
      const p = path.join(dir, f);
      const digest = createHash('sha256').update(readFileSync(p)).digest('hex').slice(0, 16);
      return [f, `${digest} ${Math.floor(statSync(p).mtimeMs / 1000)}`];
    }),
  );
}

function archive(dir: string, out: string): string {
  execFileSync('tar', ['-c', '--numeric-owner', '-f', out, '-C', dir, '.']);
  return out;
}

function unpack(tar: string, dir: string): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  execFileSync('tar', ['-x', '-f', tar, '-C', dir]);
  return dir;
}

function recorder(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const log = {
    lines,
    info: (m: string) => lines.push(`info: ${m}`),
    warning: (m: string) => lines.push(`warning: ${m}`),
    notice: (m: string) => lines.push(`notice: ${m}`),
    error: (m: string) => lines.push(`error: ${m}`),
    debug: () => {},
    group: <T>(_: string, fn: () => Promise<T>) => fn(),
  };
  return log;
}

interface Harness {
  server: CacheServer;
  work: string;
  log: ReturnType<typeof recorder>;
  /** One run: restore into the builder (a folder), returns it and what save needs. */
  restore(run: string): Promise<{
    builder: string;
    manifestFile: string;
    hit: string;
    matchedKey?: string;
    deltaKey?: string;
  }>;
  save(run: string, builder: string, manifestFile?: string): ReturnType<typeof saveState>;
  committed(): { key: string; bytes: number }[];
}

const PREFIX = 'build-go-image-cm-v1-test-';

async function harness(t: TestContext): Promise<Harness> {
  const server = await startCacheServer();
  const saved = { ...process.env };
  const work = mkdtempSync(path.join(tmpdir(), 'bgi-store-'));
  t.after(async () => {
    process.env = saved;
    await server.close();
    rmSync(work, { recursive: true, force: true });
  });
  mkdirSync(path.join(work, 'temp'));
  Object.assign(process.env, server.env('v2'), {
    RUNNER_TEMP: path.join(work, 'temp'),
    GITHUB_WORKSPACE: work,
  });
  delete process.env['ACTIONS_CACHE_MODE'];
  const log = recorder();
  const deadline = () => Date.now() + 60_000;
  return {
    server,
    work,
    log,
    async restore(run) {
      const dir = path.join(work, run, 'restore');
      mkdirSync(dir, { recursive: true });
      const manifestFile = path.join(work, run, 'manifest.json');
      // The store's fixed transfer path is shared with every job on the machine: hold its lock.
      const r = await withTransferPath(60_000, () =>
        restoreState({
          key: `${PREFIX}${run}-1`,
          restoreKeys: [PREFIX],
          dir,
          manifestFile,
          deadline: deadline(),
          label: 'gocache',
          log,
        }),
      );
      const builder = path.join(work, run, 'builder');
      if (r.tarFile) unpack(r.tarFile, builder);
      else mkdirSync(builder, { recursive: true });
      return {
        builder,
        manifestFile,
        hit: r.hit,
        matchedKey: r.matchedKey,
        deltaKey: r.deltaKey,
      };
    },
    save(run, builder, manifestFile) {
      const tar = archive(builder, path.join(work, run, `extract-${hex(4)}.tar`));
      return withTransferPath(60_000, () =>
        saveState({
          tarFile: tar,
          fullKey: `${PREFIX}${run}-1`,
          runSuffix: `${run}-1`,
          manifestFile,
          sizeLimitBytes: 1024 ** 3,
          deadline: deadline(),
          label: 'gocache',
          log,
        }),
      );
    },
    committed: () =>
      server.entries.filter((e) => e.committed).map((e) => ({ key: e.key, bytes: e.data.length })),
  };
}

test(
  'a full entry, then cumulative deltas: each restore is the state the last build left, refreshes included',
  { timeout: 120_000 },
  async (t) => {
    const h = await harness(t);
    // Run 1: cold, a full entry.
    const first = await h.restore('r1');
    assert.equal(first.hit, 'miss');
    goCache(first.builder, 120);
    const full = await h.save('r1', first.builder, first.manifestFile);
    assert.equal(full.kind, 'full');
    assert.ok(full.saved, full.reason);

    // Run 2: restores the full entry; the build adds two entries, rewrites one action file (same
    // size, new content) and refreshes some outputs (Go sets their mtime when it uses them).
    const second = await h.restore('r2');
    assert.equal(second.matchedKey, `${PREFIX}r1-1`);
    assert.equal(second.deltaKey, undefined);
    assert.deepEqual(snapshot(second.builder), snapshot(first.builder));
    // The outputs to refresh are chosen before the new entries exist: a new entry's random name
    // could otherwise sort among them and be counted as new rather than refreshed.
    const outputs = files(second.builder).filter((f) => f.endsWith('-d'));
    addEntry(second.builder, 16 * 1024);
    addEntry(second.builder, 16 * 1024);
    const now = new Date();
    for (const f of outputs.slice(0, 30)) utimesSync(path.join(second.builder, f), now, now);
    const action = files(second.builder).find((f) => f.endsWith('-a'))!;
    const text = readFileSync(path.join(second.builder, action), 'utf8');
    writeFileSync(
      path.join(second.builder, action),
      text.replace(/ [0-9a-f]{64} /, ` ${hex(32)} `),
    );
    const delta1 = await h.save('r2', second.builder, second.manifestFile);
    assert.equal(delta1.kind, 'delta', delta1.reason);
    assert.ok(delta1.saved, delta1.reason);
    assert.equal(delta1.key, `${deltaPrefix(`${PREFIX}r1-1`)}r2-1`);
    assert.equal(delta1.reason, `saved as ${delta1.key}`);
    assert.ok(
      h.log.lines.some((l) =>
        /: delta of .*r1-1 \(5 entries, 30 refreshed, .*\) uploaded in/.test(l),
      ),
      h.log.lines.join('\n'),
    );
    assert.ok(delta1.bytes < 0.1 * full.bytes, `delta ${delta1.bytes} of full ${full.bytes}`);

    // Run 3: full entry + delta = what run 2 left, mtimes of the refreshed outputs too.
    const third = await h.restore('r3');
    assert.equal(third.matchedKey, `${PREFIX}r1-1`);
    assert.equal(third.deltaKey, delta1.key);
    assert.deepEqual(snapshot(third.builder), snapshot(second.builder));
    // Its delta is cumulative: run 2's changes plus its own.
    const added = addEntry(third.builder, 16 * 1024);
    const delta2 = await h.save('r3', third.builder, third.manifestFile);
    assert.equal(delta2.kind, 'delta', delta2.reason);
    assert.ok(
      h.log.lines.some((l) =>
        /: delta of .*r1-1 \(7 entries, 30 refreshed, .*\) uploaded in/.test(l),
      ),
      h.log.lines.join('\n'),
    );
    const fourth = await h.restore('r4');
    assert.equal(fourth.deltaKey, delta2.key, 'the newest delta of the full entry');
    assert.deepEqual(snapshot(fourth.builder), snapshot(third.builder));
    assert.ok(files(fourth.builder).includes(`${added.slice(0, 2)}/${added}-d`));

    // Run 4 changes nothing: nothing is saved.
    const same = await h.save('r4', fourth.builder, fourth.manifestFile);
    assert.equal(same.saved, false);
    assert.match(same.reason, /^unchanged since .*r3-1$/);
    assert.deepEqual(
      h.committed().map((e) => e.key),
      [`${PREFIX}r1-1`, delta1.key, delta2.key],
    );
  },
);

test(
  'a delta over a quarter of its full entry becomes a new full entry, pruned as the build left it',
  { timeout: 120_000 },
  async (t) => {
    const h = await harness(t);
    const first = await h.restore('r1');
    goCache(first.builder, 40);
    await h.save('r1', first.builder);
    const second = await h.restore('r2');
    // A build that changed a lot (a new Go patch, say) and no longer uses some old entries.
    for (let i = 0; i < 15; i++) addEntry(second.builder, 16 * 1024);
    const gone = files(second.builder).find((f) => f.endsWith('-d'))!;
    rmSync(path.join(second.builder, gone));
    const rolled = await h.save('r2', second.builder, second.manifestFile);
    assert.equal(rolled.kind, 'full');
    assert.equal(rolled.reason, `saved as ${PREFIX}r2-1`);
    assert.ok(
      h.log.lines.some((l) => /: full entry \(the delta \(.*\) is over 25% of .*r1-1 /.test(l)),
      h.log.lines.join('\n'),
    );
    const third = await h.restore('r3');
    assert.equal(third.matchedKey, `${PREFIX}r2-1`, 'the newest full entry');
    assert.equal(third.deltaKey, undefined);
    assert.deepEqual(snapshot(third.builder), snapshot(second.builder));
    assert.ok(!files(third.builder).includes(gone));
  },
);

test(
  'a delta whose full entry was evicted is never used; a delta that does not fit is skipped with a warning',
  { timeout: 120_000 },
  async (t) => {
    const h = await harness(t);
    const r1 = await h.restore('r1');
    goCache(r1.builder, 30);
    await h.save('r1', r1.builder);
    // r2 rolls over to its own full entry (much added), r3 adds a delta to it.
    const r2 = await h.restore('r2');
    for (let i = 0; i < 20; i++) addEntry(r2.builder, 16 * 1024);
    assert.equal((await h.save('r2', r2.builder, r2.manifestFile)).kind, 'full');
    const r3 = await h.restore('r3');
    addEntry(r3.builder, 16 * 1024);
    const d = await h.save('r3', r3.builder, r3.manifestFile);
    assert.equal(d.kind, 'delta');

    // The service evicts r2's full entry: r1's full entry is restored, alone; r2's delta is not.
    const evicted = h.server.entries.findIndex((e) => e.key === `${PREFIX}r2-1`);
    h.server.entries.splice(evicted, 1);
    const r4 = await h.restore('r4');
    assert.equal(r4.matchedKey, `${PREFIX}r1-1`);
    assert.equal(r4.deltaKey, undefined);
    assert.deepEqual(snapshot(r4.builder), snapshot(r1.builder));

    // Everything evicted: cold.
    h.server.entries.splice(0, h.server.entries.length);
    assert.equal((await h.restore('r5')).hit, 'miss');

    // A delta entry under the right prefix whose description names another base, or whose archive
    // is damaged: the full entry alone, with a warning that says why.
    const r6 = await h.restore('r6');
    goCache(r6.builder, 10);
    await h.save('r6', r6.builder);
    const r7 = await h.restore('r7');
    addEntry(r7.builder, 1024);
    const good = await h.save('r7', r7.builder, r7.manifestFile);
    assert.equal(good.kind, 'delta');
    // Another entry under the same prefix, newer, whose description names another full entry.
    await new Promise((r) => setTimeout(r, 5));
    await withTransferPath(60_000, async () => {
      const forged = path.join(tmpdir(), 'build-go-image-cache-mount');
      mkdirSync(forged, { recursive: true });
      writeFileSync(path.join(forged, 'delta.tar'), Buffer.alloc(1024));
      writeFileSync(
        path.join(forged, 'delta.json'),
        JSON.stringify({ v: 1, base: `${PREFIX}r0-1`, digest: 'x', touched: [] }),
      );
      await cache.saveCache(
        [path.join(forged, 'delta.tar'), path.join(forged, 'delta.json')],
        `${deltaPrefix(`${PREFIX}r6-1`)}forged-1`,
      );
      rmSync(forged, { recursive: true, force: true });
    });
    h.log.lines.length = 0;
    const r8 = await h.restore('r8');
    assert.equal(r8.matchedKey, `${PREFIX}r6-1`);
    assert.equal(r8.deltaKey, undefined);
    assert.deepEqual(snapshot(r8.builder), snapshot(r6.builder));
    assert.ok(
      h.log.lines.some((l) => /warning: .*delta .* not used.*extends .*r0-1/.test(l)),
      h.log.lines.join('\n'),
    );
  },
);

test(
  'a save that never completes leaves the last state; two jobs saving deltas of one full entry: the newest wins, whole',
  { timeout: 120_000 },
  async (t) => {
    const h = await harness(t);
    const r1 = await h.restore('r1');
    goCache(r1.builder, 40);
    await h.save('r1', r1.builder);
    const r2 = await h.restore('r2');
    addEntry(r2.builder, 16 * 1024);
    assert.equal((await h.save('r2', r2.builder, r2.manifestFile)).kind, 'delta');

    // r3's upload is never committed (the job is cancelled mid-upload, or the service refuses it).
    const r3 = await h.restore('r3');
    addEntry(r3.builder, 16 * 1024);
    h.server.faults.push({
      match: (m, u) => m === 'POST' && u.endsWith('FinalizeCacheEntryUpload'),
      status: 400,
      times: 1,
    });
    const cut = await h.save('r3', r3.builder, r3.manifestFile);
    assert.equal(cut.saved, false);
    h.server.faults.length = 0;
    const r4 = await h.restore('r4');
    assert.equal(r4.deltaKey, `${deltaPrefix(`${PREFIX}r1-1`)}r2-1`, 'the last committed delta');
    assert.deepEqual(snapshot(r4.builder), snapshot(r2.builder));

    // Two jobs start from the same state and save their own deltas, one after the other.
    const a = await h.restore('ja');
    const b = await h.restore('jb');
    const onlyA = addEntry(a.builder, 16 * 1024);
    const onlyB = addEntry(b.builder, 16 * 1024);
    assert.ok((await h.save('ja', a.builder, a.manifestFile)).saved);
    await new Promise((r) => setTimeout(r, 5));
    assert.ok((await h.save('jb', b.builder, b.manifestFile)).saved);
    const after = await h.restore('r5');
    assert.equal(after.deltaKey, `${deltaPrefix(`${PREFIX}r1-1`)}jb-1`);
    assert.deepEqual(snapshot(after.builder), snapshot(b.builder), 'job b state, whole');
    assert.ok(!files(after.builder).some((f) => f.includes(onlyA)));
    assert.ok(files(after.builder).some((f) => f.includes(onlyB)));
  },
);

test('outside a Go build cache, a new mtime at the same size is a change, and new module versions are what the delta holds', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'bgi-store-mod-'));
  try {
    const mod = path.join(work, 'mod');
    const old = path.join(mod, 'example.com', 'lib@v1.0.0');
    mkdirSync(old, { recursive: true });
    writeFileSync(path.join(old, 'lib.go'), 'package lib\n'.repeat(1000));
    writeFileSync(path.join(old, 'go.mod'), 'module example.com/lib\n');
    const before = archive(mod, path.join(work, 'before.tar'));
    const base = manifestOf(before, 'full-key', statSync(before).size);
    assert.equal(base.goBuildCache, false);

    const added = path.join(mod, 'example.com', 'lib@v1.1.0');
    mkdirSync(added);
    writeFileSync(path.join(added, 'lib.go'), 'package lib // v1.1\n');
    const later = new Date(Date.now() + 7200_000);
    utimesSync(path.join(old, 'lib.go'), later, later);
    const after = archive(mod, path.join(work, 'after.tar'));
    const plan = planDelta(after, base);
    assert.equal(plan.touched.length, 0, 'no refreshes outside a Go build cache');
    assert.equal(plan.entries, 2, 'the new version and the file whose mtime moved');
    const out = path.join(work, 'delta.tar');
    writeDeltaArchive(after, plan, out);
    const listed = execFileSync('tar', ['-t', '-f', out], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map((n) => n.replace(/^\.\//, ''));
    assert.deepEqual(listed.sort(), [
      'example.com/lib@v1.0.0/lib.go',
      'example.com/lib@v1.1.0/',
      'example.com/lib@v1.1.0/lib.go',
    ]);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('the store index leaves hard links and fifos to the normaliser instead of failing the restore', () => {
  const work = mkdtempSync(path.join(tmpdir(), 'bgi-store-index-'));
  try {
    const dir = path.join(work, 'c');
    mkdirSync(path.join(dir, 'aa'), { recursive: true });
    writeFileSync(path.join(dir, 'aa', 'one-d'), 'x'.repeat(5000));
    execFileSync('ln', [path.join(dir, 'aa', 'one-d'), path.join(dir, 'aa', 'two-d')]);
    execFileSync('mkfifo', [path.join(dir, 'pipe')]);
    const long = `${'n'.repeat(120)}-d`;
    writeFileSync(path.join(dir, 'aa', long), 'long name');
    const tar = archive(dir, path.join(work, 'c.tar'));
    const names = indexArchive(tar)
      .entries.map((e) => `${e.kind} ${e.name}`)
      .sort();
    assert.deepEqual(names, ['dir aa', `file aa/${long}`, 'file aa/one-d']);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
