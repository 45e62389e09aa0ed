// The loopback channel between the action and a helper build: only the token holder gets or gives
// a file, each expected name once, and a transfer counts as complete only when it ended whole.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { files } from '../helpers/tree.ts';
import { receiveFiles, serveFiles } from '../../src/cachemounts/transport/loopback.ts';
import { TarEndFinder } from '../../src/cachemounts/archive/positions.ts';
import { scanArchive } from '../../src/cachemounts/archive/reader.ts';
import type { CacheMount } from '../../src/cachemounts/discover.ts';
import { pruneRule } from '../../src/cachemounts/store/prune.ts';
import {
  extractDockerfile,
  uploadCommand,
} from '../../src/cachemounts/transport/helper-dockerfile.ts';
import { stagingLimit } from '../../src/cachemounts/transport/index.ts';

const work = () => mkdtempSync(path.join(tmpdir(), 'bgi-direct-'));

test('serveFiles: the right token gets the file once; anything else gets 404', async (t) => {
  const dir = work();
  const file = path.join(dir, 'a.tar');
  writeFileSync(file, Buffer.alloc(300_000, 7));
  const ch = await serveFiles({ 'mount-0.tar': file });
  t.after(() => ch.close());
  assert.equal(ch.host, '127.0.0.1');
  const url = (token: string, name: string) => `http://${ch.host}:${ch.port}/${token}/${name}`;
  assert.equal((await fetch(url('0'.repeat(32), 'mount-0.tar'))).status, 404, 'wrong token');
  assert.equal((await fetch(url(ch.token, 'mount-1.tar'))).status, 404, 'unknown name');
  assert.equal((await fetch(url(ch.token, '..%2Fa.tar'))).status, 404, 'no paths');
  assert.equal(ch.completed.size, 0, 'nothing handed out yet');
  const res = await fetch(url(ch.token, 'mount-0.tar'));
  assert.equal(res.status, 200);
  assert.equal((await res.arrayBuffer()).byteLength, 300_000);
  await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual([...ch.completed], ['mount-0.tar']);
  assert.equal((await fetch(url(ch.token, 'mount-0.tar'))).status, 404, 'served once');
});

/** A real tar archive (GNU tar: long names, a 0600 file, a symlink, padding to 10 KiB records). */
function archive(): Buffer {
  const dir = work();
  const src = path.join(dir, 'src');
  mkdirSync(path.join(src, 'd'.repeat(120)), { recursive: true });
  writeFileSync(path.join(src, 'd'.repeat(120), 'entry-d'), Buffer.alloc(123_457, 9));
  writeFileSync(path.join(src, 'small'), 'x');
  symlinkSync('small', path.join(src, 'link'));
  execFileSync('tar', ['-c', '-f', path.join(dir, 'a.tar'), '-C', src, '.']);
  return readFileSync(path.join(dir, 'a.tar'));
}

/** Sends a head line and a body; closes its side after (halfClose), or never (like nc without -N). */
function send(port: number, head: string, body: Buffer, close: 'end' | 'reset' | 'never' = 'end') {
  return new Promise<void>((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.write(head);
      s.write(body);
      if (close === 'end') s.end();
      if (close === 'reset') setTimeout(() => s.resetAndDestroy(), 30);
    });
    s.on('close', () => resolve());
    s.on('error', () => resolve());
    s.resume();
  });
}

test('TarEndFinder finds the end marker whatever the chunking', () => {
  const tar = archive();
  const listed = execFileSync('tar', ['-t', '-f', '-'], { input: tar }).toString();
  assert.match(listed, /d{120}\/entry-d/, 'a long name is in the archive');
  let end = -1;
  for (const step of [1, 7, 511, 512, 4096, tar.length]) {
    const finder = new TarEndFinder();
    let used = 0;
    for (let off = 0; off < tar.length && !finder.ended; off += step)
      used += finder.feed(tar.subarray(off, off + step));
    assert.equal(finder.ended, true, `chunks of ${step}`);
    if (end < 0) end = used;
    assert.equal(used, end, `same end for chunks of ${step}`);
  }
  // The end is the first zero block after the last entry, before tar's record padding.
  assert.ok(end < tar.length && end % 512 === 0);
  assert.ok(tar.subarray(end - 512, end).every((b) => b === 0));
  assert.ok(!tar.subarray(end - 1024, end - 512).every((b) => b === 0));
  const cut = new TarEndFinder();
  cut.feed(tar.subarray(0, end - 600));
  assert.equal(cut.ended, false, 'a truncated archive has no end');
});

test('receiveFiles: writes an expected name once, for the token holder only', async (t) => {
  const dir = work();
  const ch = await receiveFiles(dir, ['mount-0', 'mount-1']);
  t.after(() => ch.close());
  const tar = archive();
  await send(ch.port, `${'f'.repeat(32)} mount-0\n`, tar);
  await send(ch.port, `${ch.token} ../../etc\n`, tar);
  await send(ch.port, `${ch.token} mount-9\n`, tar);
  assert.equal(existsSync(path.join(dir, 'mount-0')), false, 'nothing written for a wrong token');
  await send(ch.port, `${ch.token} mount-0\n`, tar);
  await send(ch.port, `${ch.token} mount-0\n`, Buffer.from('second'));
  await ch.settled();
  assert.deepEqual([...ch.completed], ['mount-0']);
  const got = path.join(dir, 'mount-0', 'content.tar');
  assert.equal((await scanArchive(got)).files, 2);
  assert.equal(
    execFileSync('tar', ['-t', '-f', got]).toString(),
    execFileSync('tar', ['-t', '-f', '-'], { input: tar }).toString(),
  );
});

test('receiveFiles: a sender that never closes its side is closed at the end marker', async (t) => {
  const dir = work();
  const ch = await receiveFiles(dir, ['mount-0']);
  t.after(() => ch.close());
  await send(ch.port, `${ch.token} mount-0\n`, archive(), 'never');
  await ch.settled();
  assert.deepEqual([...ch.completed], ['mount-0']);
});

// A sender killed mid-stream closes normally (FIN) or resets: either way the archive has no end.
test('receiveFiles: an archive cut short is not complete', async (t) => {
  const dir = work();
  const ch = await receiveFiles(dir, ['mount-0', 'mount-1']);
  t.after(() => ch.close());
  const tar = archive();
  await send(ch.port, `${ch.token} mount-0\n`, tar.subarray(0, 60_000), 'end');
  await send(ch.port, `${ch.token} mount-1\n`, tar.subarray(0, 60_000), 'reset');
  await ch.settled();
  assert.equal(ch.completed.size, 0);
});

test('receiveFiles: an upload the tar reader refuses is not complete, and says why', async (t) => {
  const dir = work();
  const ch = await receiveFiles(dir, ['mount-0']);
  t.after(() => ch.close());
  const tar = archive();
  tar[100] = tar[100]! ^ 1; // the first header's mode: its checksum no longer matches
  await send(ch.port, `${ch.token} mount-0\n`, tar, 'never');
  await ch.settled();
  assert.equal(ch.completed.size, 0);
  assert.match(ch.refused.get('mount-0') ?? '', /checksum/);
});

/**
 * An `nc` for the host that really connects: with `-e` in its usage (as BusyBox's) it runs the
 * program on the connection; without, it copies its stdin to the connection.
 */
function fakeNc(dir: string, withExec: boolean): string {
  const bin = path.join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const script = `
const net = require('node:net');
const { spawn } = require('node:child_process');
const a = process.argv.slice(2);
if (a[0] === '--help') {
  console.error(${JSON.stringify(withExec ? 'Usage: nc [-l] [IPADDR PORT] [-e PROG]' : 'usage: nc [-46] destination port')});
  process.exit(0);
}
const e = a.indexOf('-e');
// Each branch must be the one taken: -e where offered, the pipe elsewhere.
if ((e >= 0) !== ${withExec}) process.exit(2);
const s = net.connect(Number(a[1]), a[0], () => {
  if (e < 0) return void process.stdin.pipe(s);
  const p = spawn(a[e + 1], a.slice(e + 2), { stdio: [s, s, 'inherit'] });
  p.on('exit', (code) => { s.end(); process.exitCode = code ?? 1; });
});
s.on('error', () => process.exit(1));
`;
  writeFileSync(path.join(bin, 'nc-impl.cjs'), script);
  writeFileSync(
    path.join(bin, 'nc'),
    `#!/bin/sh\nexec "${process.execPath}" "${path.join(bin, 'nc-impl.cjs')}" "$@"\n`,
    { mode: 0o755 },
  );
  return bin;
}

for (const withExec of [true, false])
  test(`uploadCommand: the directory arrives whole through an nc ${withExec ? 'with' : 'without'} -e`, async (t) => {
    const dir = work();
    const src = path.join(dir, 'src');
    mkdirSync(path.join(src, 'ab'), { recursive: true });
    writeFileSync(path.join(src, 'ab', 'abc-d'), Buffer.alloc(700_001, 3));
    writeFileSync(path.join(src, 'README'), 'Go build system\n');
    const ch = await receiveFiles(path.join(dir, 'out'), ['mount-0']);
    t.after(() => ch.close());
    const bin = fakeNc(dir, withExec);
    await new Promise<void>((resolve, reject) => {
      // bash: the host's sh (dash) has no pipefail; BusyBox's ash has.
      const p = spawn('bash', ['-c', `set -o pipefail; ${uploadCommand(ch, 'mount-0')}`], {
        cwd: src,
        env: { ...process.env, PATH: `${bin}:${process.env['PATH']}` },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
      p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`exit ${code}`))));
    });
    await ch.settled();
    assert.deepEqual([...ch.completed], ['mount-0']);
    const scan = await scanArchive(path.join(dir, 'out', 'mount-0', 'content.tar'));
    assert.equal(scan.files, 2);
    assert.equal(scan.bytes, 700_001 + 16);
  });

test('archives are staged in memory up to a quarter of the free memory, at most 2 GiB', () => {
  assert.equal(stagingLimit(1024 ** 3), 256 * 1024 ** 2);
  assert.equal(stagingLimit(64 * 1024 ** 3), 2 * 1024 ** 3);
  assert.equal(stagingLimit(0), 0);
});

/**
 * The extract helper's shell, run by the host's shell: the RUN line of extractDockerfile with its
 * absolute paths (/cN mounts, /out, /tmp) moved under `dir`. GNU find, stat, sort, awk and tar
 * take the options BusyBox's do.
 */
function runExtractScript(dockerfile: string, dir: string): void {
  const lines = dockerfile.split('\n');
  let i = lines.findIndex((l) => l.startsWith('RUN '));
  while (lines[i]!.endsWith(' \\')) i++;
  const script = lines[i]!.trim().replace(/(?<=[\s(])\/(c\d+|out|tmp)\b/g, `${dir}/$1`);
  mkdirSync(path.join(dir, 'tmp'), { recursive: true });
  execFileSync('sh', ['-c', script], { stdio: ['ignore', 'ignore', 'inherit'] });
}

test("the extract helper prunes a Go build cache by the store's rule, oldest first over the cap, and keeps any other cache whole", () => {
  const dir = work();
  const now = Date.now();
  const put = (rel: string, bytes: number, minutesOld: number) => {
    const p = path.join(dir, rel);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, Buffer.alloc(bytes, 1));
    const t = new Date(now - minutesOld * 60_000);
    utimesSync(p, t, t);
  };
  // A Go build cache: an entry no build used for three hours, one this build used, a new one.
  put('c0/README', 0, 0);
  writeFileSync(
    path.join(dir, 'c0', 'README'),
    'This directory holds cached build artifacts from the Go build system.\n',
  );
  put('c0/trim.txt', 11, 600);
  put('c0/aa/unused-d', 1000, 180);
  put('c0/bb/used-d', 3000, 30);
  put('c0/cc/new-d', 3000, 1);
  // A module cache: its old files stay, whatever the rule says.
  put('c1/example.com/lib@v1.0.0/lib.go', 5000, 600);
  put('c1/example.com/lib@v1.1.0/lib.go', 5000, 1);
  const rule = pruneRule({ buildStartedAt: now - 10 * 60_000, sizeLimitBytes: 4400 });
  assert.ok(rule.pruneOlderThanMinutes > 10 + 60, 'Go marks use only on entries over an hour old');
  assert.ok(rule.pruneOlderThanMinutes < 180, 'the three-hour-old entry is unused');
  assert.ok(rule.capBytes > 3000 && rule.capBytes < 6000 && rule.capBytes < 4400);
  const mount = (id: string): CacheMount => ({
    id,
    target: `/${id}`,
    sharing: 'locked',
    where: 'Dockerfile:2',
  });
  const df = extractDockerfile(
    [
      { mount: mount('gocache'), ...rule },
      { mount: mount('gomod'), ...rule },
    ],
    'busybox',
  );
  runExtractScript(df, dir);
  assert.deepEqual(files(path.join(dir, 'c0')), ['README', 'cc/new-d', 'trim.txt']);
  assert.equal(files(path.join(dir, 'c1')).length, 2);
  for (const [i, count] of [
    [0, 3],
    [1, 2],
  ] as const) {
    const out = path.join(dir, 'out', `mount-${i}`);
    assert.equal(readFileSync(path.join(out, 'files'), 'utf8').trim(), String(count));
    const listed = execFileSync('tar', ['-t', '-f', path.join(out, 'content.tar')]).toString();
    assert.equal(listed.split('\n').filter((l) => l && !l.endsWith('/')).length, count);
  }
});
