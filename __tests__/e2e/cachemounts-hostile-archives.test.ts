// Hostile cache archives restored into a real builder through the whole restore path (the cache
// stand-in, the normaliser, the helper build): links planted by one archive, or left in a mount by
// an earlier build, never carry a later write out of the mount or into the other cache mount.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import * as cache from '@actions/cache';
import type { CacheMount } from '../../src/cachemounts/discover.ts';
import { restoreCacheMounts } from '../../src/cachemounts/index.ts';
import { withTransferPath } from '../../src/cachemounts/store/index.ts';
import { cacheKeys } from '../../src/cachemounts/store/keys.ts';
import { extractMounts, injectMounts } from '../../src/cachemounts/transport/index.ts';
import { execFile } from '../../src/io/exec.ts';
import type { Logger } from '../../src/log.ts';
import { startCacheServer } from '../helpers/cache-server.ts';
import { requireEngine } from '../helpers/engine.ts';
import { archive, dir, file, gnuLong, pax, paxRecord, symlink } from '../helpers/tar-bytes.ts';

const PLATFORM = 'linux/amd64';
const LONG = `${'m'.repeat(120)}.zip`;

function captureLog() {
  const warnings: string[] = [];
  const log: Logger = {
    info: (m) => warnings.push(m),
    warning: (m) => warnings.push(m),
    notice: () => {},
    error: (m) => warnings.push(m),
    debug: () => {},
    group: (_n, fn) => fn(),
  };
  return { log, warnings };
}

test(
  'crafted archives restored into a real builder change nothing outside their own mount',
  { timeout: 10 * 60_000 },
  async (t) => {
    const engine = await requireEngine(t);
    if (!engine) return;
    const server = await startCacheServer();
    const savedEnv = { ...process.env };
    t.after(async () => {
      process.env = savedEnv;
      await server.close();
    });
    Object.assign(process.env, server.env('v2'));
    const work = mkdtempSync(path.join(tmpdir(), 'bgi-hostile-'));
    const run = randomBytes(4).toString('hex');
    const helperImage = `${engine.baseRegistry}/busybox:1.37.0`;
    // A Go build cache (entries that may not be carried are left out) and a module cache (an
    // archive with such an entry is refused whole). In the helper build they are /c0 and /c1.
    const goCache: CacheMount = {
      id: `bgi-hostile-go-${run}`,
      target: '/cache/go',
      sharing: 'locked',
      where: 'test',
    };
    const modCache: CacheMount = {
      id: `bgi-hostile-mod-${run}`,
      target: '/cache/mod',
      sharing: 'locked',
      where: 'test',
    };
    const keyParts = { goVersion: '1.24.4', goSumHash: run, userKey: '', runAttempt: '1' };
    const groups = [{ node: '', platforms: [PLATFORM], helperPlatform: PLATFORM }];

    /** Saves `bytes` as the mount's cache entry of run `runId`, as a save would. */
    const saveEntry = (mount: CacheMount, runId: string, bytes: Buffer) =>
      withTransferPath(60_000, async () => {
        const { key } = cacheKeys({ ...keyParts, platforms: [PLATFORM], mount, runId });
        const transferDir = path.join(tmpdir(), 'build-go-image-cache-mount');
        rmSync(transferDir, { recursive: true, force: true });
        mkdirSync(transferDir);
        writeFileSync(path.join(transferDir, 'content.tar'), bytes);
        try {
          assert.notEqual(await cache.saveCache([path.join(transferDir, 'content.tar')], key), -1);
        } finally {
          rmSync(transferDir, { recursive: true, force: true });
        }
      });
    const writeTar = (name: string, bytes: Buffer) => {
      writeFileSync(path.join(work, name), bytes);
      return path.join(work, name);
    };
    const restore = async (runId: string) => {
      const { log, warnings } = captureLog();
      const state = await restoreCacheMounts(
        [goCache, modCache],
        { ...keyParts, platforms: [PLATFORM], runId },
        { groups, helperImage, workDir: path.join(work, `restore-${runId}`), log, direct: true },
      );
      return { hits: state.mounts.map((m) => m.hit), warnings: warnings.join('\n') };
    };
    const transfer = {
      platform: PLATFORM,
      helperImage,
      workDir: path.join(work, 'transfer'),
      direct: true,
    };
    /**
     * Every entry of both mounts, taken out of the builder as a save takes them: type, path, a
     * file's content, a link's target and where it leads (outside its mount: OUTSIDE).
     */
    const listing = async () => {
      const outDir = path.join(work, `listing-${Date.now()}`);
      await extractMounts({
        ...transfer,
        outDir,
        runTag: `list-${Date.now()}`,
        items: [{ mount: goCache }, { mount: modCache }],
      });
      const lines: string[] = [];
      for (const [i, name] of ['go', 'mod'].entries()) {
        const root = path.join(outDir, name);
        mkdirSync(root);
        await execFile('tar', [
          '-x',
          '-f',
          path.join(outDir, `mount-${i}`, 'content.tar'),
          '-C',
          root,
        ]);
        const walk = (rel: string) => {
          lines.push(`dir ${rel}`);
          for (const entry of readdirSync(path.join(outDir, rel)).sort()) {
            const p = `${rel}/${entry}`;
            const abs = path.join(outDir, p);
            const st = lstatSync(abs);
            if (st.isDirectory()) walk(p);
            else if (st.isSymbolicLink()) {
              const target = readlinkSync(abs);
              const to = path.relative(outDir, path.resolve(path.dirname(abs), target));
              const inside = to === name || to.startsWith(`${name}/`);
              lines.push(`link ${p} -> ${target} => ${inside ? `/cache/${to}` : 'OUTSIDE'}`);
            } else lines.push(`file ${p} ${readFileSync(abs, 'utf8')}`);
          }
        };
        walk(name);
      }
      return lines;
    };

    // Run 1. The Go build cache plants links out of the mount and into the module cache, and
    // writes through them in the same archive; the module cache is benign. (Hard links and
    // devices are refused even before, by the store's index of the restored entry.)
    await saveEntry(
      goCache,
      '1',
      archive(
        dir('./'),
        file('./trim.txt', '1700000000'),
        dir('./ab/'),
        file('./ab/entry-d', 'object'),
        symlink('./ab/ok-link', 'entry-d'),
        symlink('./tomod', '../c1'),
        file('./tomod/evil-relative-link', 'evil'),
        symlink('./abs', '/c1'),
        file('./abs/evil-absolute-link', 'evil'),
        symlink('./up', 'ab/../..'),
        symlink('./in', 'ab'),
        file('./in/evil-beneath-own-link', 'evil'),
        file('../c1/evil-dotdot', 'evil'),
        pax(paxRecord('path', '../c1/evil-pax-path')),
        file('./innocent-name', 'evil'),
        dir('./d/'),
        symlink('./d', '../c1'),
      ),
    );
    await saveEntry(
      modCache,
      '1',
      archive(
        dir('./'),
        dir('./pkg/'),
        file('./pkg/mod.zip', 'module'),
        symlink('./latest', 'pkg'),
        // Names over 100 bytes as BusyBox's save writes them (GNU long-name records): they reach
        // the helper's tar as pax records the normaliser wrote.
        gnuLong(`./pkg/${LONG}`),
        file('./pkg/truncated', 'long name'),
        gnuLong(`pkg/${LONG}`, 'K'),
        symlink('./long-link', 'truncated'),
      ),
    );
    const first = await restore('restore-1');
    assert.deepEqual(first.hits, ['partial', 'partial'], first.warnings);
    assert.match(
      first.warnings,
      /cache mount bgi-hostile-go-\w+: 7 entries of \S+ left out of the Go build cache/,
    );
    const modWant = [
      'dir mod',
      'link mod/latest -> pkg => /cache/mod/pkg',
      `link mod/long-link -> pkg/${LONG} => /cache/mod/pkg/${LONG}`,
      'dir mod/pkg',
      `file mod/pkg/${LONG} long name`,
      'file mod/pkg/mod.zip module',
    ];
    const afterFirst = await listing();
    assert.deepEqual(
      afterFirst.filter((l) => / mod/.test(l.split(' ').slice(0, 2).join(' '))),
      modWant,
      `the module cache holds its own archive and nothing else:\n${afterFirst.join('\n')}\n${first.warnings}`,
    );
    assert.deepEqual(
      afterFirst.filter((l) => l.includes(' go')),
      [
        'dir go',
        'dir go/ab',
        'file go/ab/entry-d object',
        'link go/ab/ok-link -> entry-d => /cache/go/ab/entry-d',
        // The links were refused; what was to go through them is a plain file in a plain
        // directory of the mount.
        'dir go/abs',
        'file go/abs/evil-absolute-link evil',
        'dir go/d',
        'link go/in -> ab => /cache/go/ab',
        'dir go/tomod',
        'file go/tomod/evil-relative-link evil',
        'file go/trim.txt 1700000000',
      ],
    );

    // Between the runs the Go build cache gets links that point where the helper has the module
    // cache, as a build could leave them on a builder that keeps its mounts (a self-hosted runner).
    await injectMounts({
      ...transfer,
      runTag: `plant-${Date.now()}`,
      items: [
        {
          mount: goCache,
          tarFile: writeTar(
            'planted.tar',
            archive(
              file('./trim.txt', '1700000000'),
              symlink('./planted', '/c1'),
              symlink('./tomod', '../c1'),
            ),
          ),
        },
      ],
    });
    assert.deepEqual(
      (await listing()).filter((l) => l.startsWith('link')),
      [
        'link go/planted -> /c1 => OUTSIDE',
        'link go/tomod -> ../c1 => OUTSIDE',
        'link mod/latest -> pkg => /cache/mod/pkg',
        `link mod/long-link -> pkg/${LONG} => /cache/mod/pkg/${LONG}`,
      ],
      'the links are in place',
    );

    // Run 2. The Go build cache writes through every link run 1 tried to plant and through the
    // planted ones; the module cache entry of run 2 is hostile, so it is refused whole and the
    // module cache is not touched at all.
    await saveEntry(
      goCache,
      '2',
      archive(
        file('./trim.txt', '1700000000'),
        file('./planted/evil-through-planted', 'evil'),
        file('./tomod/evil-through-run-1', 'evil'),
        file('./abs/evil-through-run-1', 'evil'),
        file('./ab/entry-d', 'object 2'),
      ),
    );
    await saveEntry(
      modCache,
      '2',
      archive(dir('./'), file('./pkg/mod.zip', 'replaced'), symlink('./esc', '../c0')),
    );
    const second = await restore('restore-2');
    assert.deepEqual(second.hits, ['partial', 'rejected'], second.warnings);
    assert.match(
      second.warnings,
      /cache mount bgi-hostile-mod-\w+: restored archive \S+ discarded \("\.\/esc" at byte \d+: a symlink target above the mount/,
    );
    const afterSecond = await listing();
    assert.deepEqual(
      afterSecond.filter((l) => / mod/.test(l.split(' ').slice(0, 2).join(' '))),
      modWant,
      'the module cache is untouched',
    );
    // The Go build cache was emptied first: the planted links are gone, the writes are plain
    // files in plain directories inside it.
    assert.deepEqual(
      afterSecond.filter((l) => l.includes(' go')),
      [
        'dir go',
        'dir go/ab',
        'file go/ab/entry-d object 2',
        'dir go/abs',
        'file go/abs/evil-through-run-1 evil',
        'dir go/planted',
        'file go/planted/evil-through-planted evil',
        'dir go/tomod',
        'file go/tomod/evil-through-run-1 evil',
        'file go/trim.txt 1700000000',
      ],
    );
  },
);
