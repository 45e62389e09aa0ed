// Both ways of moving cache-mount content through the real builder carry the same bytes, owners
// and modes: the loopback channel (the docker driver on a local engine) and the build context /
// export (any builder). An engine that refuses host networking to builds makes the loopback
// attempt fail; the context path then carries the content without losing anything.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  realpathSync,
  chownSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { CacheMount } from '../../src/cachemounts/discover.ts';
import { injectScript } from '../../src/cachemounts/transport/helper-dockerfile.ts';
import {
  extractMount,
  injectMount,
  type HelperRoot,
} from '../../src/cachemounts/transport/index.ts';
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

/** A work directory holding in.tar: what `populate` writes into a fresh folder, owners numeric. */
async function archiveOf(prefix: string, populate: (src: string) => void) {
  const work = mkdtempSync(path.join(tmpdir(), prefix));
  const src = path.join(work, 'src');
  mkdirSync(src);
  populate(src);
  const tarFile = path.join(work, 'in.tar');
  await execFile('tar', ['-c', '--numeric-owner', '-f', tarFile, '-C', src, '.']);
  return { work, tarFile };
}

test(
  'loopback and context transfers carry the same content; a refused loopback falls back',
  { timeout: 10 * 60_000 },
  async (t) => {
    const engine = await requireEngine(t);
    if (!engine) return;
    const { work, tarFile } = await archiveOf('bgi-xfer-', (src) => {
      mkdirSync(path.join(src, 'ab', 'deep'), { recursive: true });
      writeFileSync(path.join(src, 'ab', 'entry-d'), randomBytes(3_000_000));
      writeFileSync(path.join(src, 'ab', 'deep', 'private'), 'only the owner reads this\n');
      chmodSync(path.join(src, 'ab', 'deep', 'private'), 0o600);
      chownSync(path.join(src, 'ab', 'deep', 'private'), 1234, 5678);
      symlinkSync('entry-d', path.join(src, 'ab', 'link'));
    });
    const want = await listing(tarFile);
    assert.ok(
      want.some((l) => l.includes('1234/5678') && l.startsWith('-rw-------')),
      want.join('\n'),
    );

    const helperImage = `${engine.baseRegistry}/busybox:1.37.0`;
    const why: string[] = [];
    const roots: string[] = [];
    const common = {
      platform: 'linux/amd64',
      workDir: path.join(work, 'wd'),
      onLoopbackFailure: (w: string) => why.push(w),
      onHelperRoot: (root: string) => roots.push(root),
    };
    const round = async (n: number, helper: string, direct: boolean, stageMaxBytes?: number) => {
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
        stageMaxBytes,
      });
      const injectDf = readFileSync(path.join(common.workDir, 'inject-df', 'Dockerfile'), 'utf8');
      const staged = injectDf.split('\n').some((l) => l.includes('--mount=type=tmpfs,target=/in'));
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
      // busybox is statically linked: both helper builds run it from an empty root.
      const extractDf = readFileSync(path.join(common.workDir, 'extract-df', 'Dockerfile'), 'utf8');
      assert.deepEqual(
        [injectDf, extractDf].map((df) => df.split('\n')[0]),
        ['FROM scratch', 'FROM scratch AS dump'],
      );
      return { into, out, got, staged };
    };

    // Loopback, the archive staged in a tmpfs (the default for an archive this small), then piped.
    const loop = await round(1, helperImage, true);
    assert.deepEqual(
      [loop.into, loop.out, loop.staged],
      ['loopback', 'loopback', true],
      why.join('\n'),
    );
    assert.deepEqual(loop.got, want);
    const piped = await round(4, helperImage, true, 0);
    assert.deepEqual([piped.into, piped.out, piped.staged], ['loopback', 'loopback', false]);
    assert.deepEqual(piped.got, want);
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
    assert.deepEqual(roots, [], 'busybox needed its own root');
    assert.equal(why.length, 2, why.join('\n'));
    for (const w of why) assert.match(w, /network\.host is not allowed/);
  },
);

/**
 * Builds and pushes a helper whose /bin/sh is the host's dynamically linked dash and whose other
 * tools are busybox applets. (Not busybox's own image with /bin/sh replaced: its applets are
 * hard links of one file, and replacing one replaces them all.)
 */
async function dynamicShellHelper(baseRegistry: string, work: string): Promise<string> {
  const root = path.join(work, 'dynamic-helper', 'root');
  const dash = realpathSync('/bin/dash');
  // The loader and libraries dash needs, at the paths it looks for them ("x => /path" or "/path").
  const libs = [...(await execFile('ldd', [dash])).stdout.matchAll(/(\/\S+) \(0x/g)].map(
    (m) => m[1]!,
  );
  assert.ok(
    libs.some((l) => l.includes('ld-linux')),
    `no loader in ldd ${dash}`,
  );
  for (const lib of libs) {
    mkdirSync(path.join(root, path.dirname(lib)), { recursive: true });
    copyFileSync(lib, path.join(root, lib));
  }
  mkdirSync(path.join(root, 'bin'), { recursive: true });
  mkdirSync(path.join(root, 'tmp'), { mode: 0o1777 });
  copyFileSync(dash, path.join(root, 'bin', 'sh'));
  const applets = 'awk cat find grep mkdir nc rm sort stat tar wc wget xargs'.split(' ');
  for (const a of applets) symlinkSync('busybox', path.join(root, 'bin', a));
  writeFileSync(
    path.join(root, '..', 'Dockerfile'),
    [
      `FROM ${baseRegistry}/busybox:1.37.0 AS busybox`,
      'FROM scratch',
      'COPY --from=busybox /bin/busybox /bin/busybox',
      'COPY root/ /',
      '',
    ].join('\n'),
  );
  const ref = `${baseRegistry.split('/')[0]}/bgi-test/dynamic-sh:${Date.now()}`;
  await execFile('docker', [
    ...['buildx', 'build', '--platform', 'linux/amd64'],
    ...['--tag', ref, '--push', path.join(root, '..')],
  ]);
  return ref;
}

test(
  'a helper that cannot run from an empty root runs as its own root; the next transfer starts there',
  { timeout: 10 * 60_000 },
  async (t) => {
    const engine = await requireEngine(t);
    if (!engine) return;
    const { work, tarFile } = await archiveOf('bgi-root-', (src) => {
      mkdirSync(path.join(src, 'ab'));
      writeFileSync(path.join(src, 'ab', 'entry-d'), randomBytes(200_000));
      chownSync(path.join(src, 'ab', 'entry-d'), 1234, 5678);
    });
    // busybox with the host's dash as /bin/sh: a dynamically linked shell, which cannot start
    // without the loader and libc of its own root.
    const helperImage = await dynamicShellHelper(engine.baseRegistry, work);
    const roots: { root: HelperRoot; why: string }[] = [];
    const common = {
      platform: 'linux/amd64',
      workDir: path.join(work, 'wd'),
      helperImage,
      direct: true,
      onHelperRoot: (root: HelperRoot, why: string) => roots.push({ root, why }),
    };
    const mount: CacheMount = {
      id: `bgi-root-${Date.now()}`,
      target: '/c',
      sharing: 'locked',
      where: 'test',
    };
    await injectMount({ ...common, mount, tarFile, runTag: `in-${Date.now()}` });
    assert.equal(roots.length, 1, JSON.stringify(roots));
    assert.equal(roots[0]!.root, 'image');
    assert.match(roots[0]!.why, /\/h\/bin\/sh/, 'the note names what did not start');
    const injectDf = readFileSync(path.join(common.workDir, 'inject-df', 'Dockerfile'), 'utf8');
    assert.equal(injectDf.split('\n')[0], `FROM ${helperImage}`);

    // The save starts from the root the restore found (CacheRestoreState.helperRoot): no second
    // failed attempt, no second note, and the content comes back whole.
    const outDir = path.join(work, 'out');
    await extractMount({
      ...common,
      mount,
      outDir,
      runTag: `out-${Date.now()}`,
      helperRoot: 'image',
    });
    assert.equal(roots.length, 1, JSON.stringify(roots));
    assert.deepEqual(await listing(path.join(outDir, 'content.tar')), await listing(tarFile));
  },
);

test(
  'a loopback inject that gets a short body fails, staged or piped, in the real helper',
  { timeout: 5 * 60_000 },
  async (t) => {
    const engine = await requireEngine(t);
    if (!engine) return;
    const work = mkdtempSync(path.join(tmpdir(), 'bgi-short-'));
    const src = path.join(work, 'src');
    mkdirSync(src);
    writeFileSync(path.join(src, 'entry'), randomBytes(64 * 1024));
    await execFile('tar', ['-c', '-f', path.join(work, 'a.tar'), '-C', src, '.']);
    const tar = readFileSync(path.join(work, 'a.tar'));
    // Says the whole length, sends `sent` bytes of it, then drops the connection.
    let sent = tar.length;
    const server = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-length': tar.length });
      res.write(tar.subarray(0, sent), () => {
        if (sent < tar.length) res.destroy();
        else res.end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise((resolve) => server.close(resolve)));
    const peer = { host: '127.0.0.1', port: (server.address() as AddressInfo).port, token: 'ab' };
    // The helper's own command, as the inject build runs it, in the helper image on host network.
    const unpack = async (staged: boolean) => {
      const command = injectScript(1, { peer, staged });
      return execFile(
        'docker',
        [
          ...['run', '--rm', '--network', 'host', '--tmpfs', '/in', '--tmpfs', '/c0'],
          ...[`${engine.baseRegistry}/busybox:1.37.0`, 'sh', '-c', command],
        ],
        { allowFailure: true },
      );
    };
    // Cut inside the file's data (tar notices too), and right before the end marker: tar sees a
    // clean end there, so only wget's own check of the length stands between it and a partial cache.
    const beforeEndMarker = 512 + 512 + 64 * 1024; // './' header, 'entry' header, its data
    for (const staged of [true, false]) {
      sent = tar.length;
      assert.equal((await unpack(staged)).exitCode, 0, `whole body, staged=${staged}`);
      for (const cut of [tar.length - 20_000, beforeEndMarker]) {
        sent = cut;
        const short = await unpack(staged);
        assert.notEqual(short.exitCode, 0, `${cut} of ${tar.length} bytes, staged=${staged}`);
      }
    }
  },
);
