// Both ways of moving cache-mount content through the real builder carry the same bytes, owners
// and modes: the loopback channel (the docker driver on a local engine) and the build context /
// export (any builder). An engine that refuses host networking to builds makes the loopback
// attempt fail; the context path then carries the content without losing anything.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { CacheMount } from '../../src/cachemounts/discover.ts';
import { extractMount, injectMount } from '../../src/cachemounts/transfer.ts';
import { execFile } from '../../src/io/exec.ts';
import { requireEngine, startSecondEngine } from '../helpers/engine.ts';

/** name, type, mode, owner and size of each entry, sorted: what a transfer must keep. */
async function listing(tarFile: string): Promise<string[]> {
  const r = await execFile('tar', ['-t', '-v', '--numeric-owner', '-f', tarFile]);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => l.split(/\s+/))
    .map((f) => [f[0], f[1], f[2], f.slice(5).join(' ')].join(' '))
    .filter((l) => !/ \.\/$/.test(l))
    .sort();
}

test(
  'loopback and context transfers carry the same content; a refused loopback falls back',
  { timeout: 10 * 60_000 },
  async (t) => {
    const engine = await requireEngine(t);
    if (!engine) return;
    const work = mkdtempSync(path.join(tmpdir(), 'bgi-xfer-'));
    const src = path.join(work, 'src');
    mkdirSync(path.join(src, 'ab', 'deep'), { recursive: true });
    writeFileSync(path.join(src, 'ab', 'entry-d'), randomBytes(3_000_000));
    writeFileSync(path.join(src, 'ab', 'deep', 'private'), 'only the owner reads this\n');
    chmodSync(path.join(src, 'ab', 'deep', 'private'), 0o600);
    chownSync(path.join(src, 'ab', 'deep', 'private'), 1234, 5678);
    symlinkSync('entry-d', path.join(src, 'ab', 'link'));
    const tarFile = path.join(work, 'in.tar');
    await execFile('tar', ['-c', '--numeric-owner', '-f', tarFile, '-C', src, '.']);
    const want = await listing(tarFile);
    assert.ok(
      want.some((l) => l.includes('1234/5678') && l.startsWith('-rw-------')),
      want.join('\n'),
    );

    const helperImage = `${engine.baseRegistry}/busybox:1.37.0`;
    const why: string[] = [];
    const common = {
      platform: 'linux/amd64',
      workDir: path.join(work, 'wd'),
      onLoopbackFailure: (w: string) => why.push(w),
    };
    const round = async (n: number, helper: string, direct: boolean) => {
      const mount: CacheMount = {
        id: `bgi-xfer-${randomBytes(4).toString('hex')}`,
        target: '/cache',
        sharing: 'locked',
        where: 'test',
      };
      const into = await injectMount({
        ...common,
        mount,
        helperImage: helper,
        tarFile,
        runTag: `in-${n}-${Date.now()}`,
        direct,
      });
      const outDir = path.join(work, `out-${n}`);
      const out = await extractMount({
        ...common,
        mount,
        helperImage: helper,
        outDir,
        runTag: `out-${n}-${Date.now()}`,
        direct,
      });
      const got = await listing(path.join(outDir, 'content.tar'));
      return { into, out, got };
    };

    const loop = await round(1, helperImage, true);
    assert.deepEqual([loop.into, loop.out], ['loopback', 'loopback'], why.join('\n'));
    assert.deepEqual(loop.got, want);
    const ctx = await round(2, helperImage, false);
    assert.deepEqual([ctx.into, ctx.out], ['context', 'context']);
    assert.deepEqual(ctx.got, want);

    // An engine that refuses host networking to builds (the second engine is configured so): the
    // loopback attempt fails inside the build, the context path carries the content instead.
    const { host: secondHost } = await startSecondEngine(t);
    const before = process.env['DOCKER_HOST'];
    process.env['DOCKER_HOST'] = secondHost;
    try {
      const hardened = await round(3, helperImage, true);
      assert.deepEqual([hardened.into, hardened.out], ['context', 'context']);
      assert.deepEqual(hardened.got, want);
    } finally {
      if (before === undefined) delete process.env['DOCKER_HOST'];
      else process.env['DOCKER_HOST'] = before;
    }
    assert.equal(why.length, 2, why.join('\n'));
    for (const w of why) assert.match(w, /network\.host is not allowed/);
  },
);
