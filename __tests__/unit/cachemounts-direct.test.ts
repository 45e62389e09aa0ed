// The loopback channel between the action and a helper build: only the token holder gets or gives
// a file, each expected name once, and a transfer counts as complete only when it ended whole.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { receiveFiles, serveFiles, TarEndFinder } from '../../src/cachemounts/direct.ts';
import { checkTar } from '../../src/cachemounts/tar-check.ts';

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
  const check = checkTar(got);
  assert.deepEqual([check.ok, check.files], [true, 2]);
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
