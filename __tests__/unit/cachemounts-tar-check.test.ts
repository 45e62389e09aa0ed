// Restored archives are untrusted: crafted hostile tars must be refused before they reach a builder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { checkTar } from '../../src/cachemounts/tar-check.ts';

interface Entry {
  name: string;
  type?: string;
  mode?: number;
  data?: string;
  link?: string;
}

/** Writes a ustar archive byte by byte, so the test controls every header field. */
function tar(entries: Entry[], opts: { truncate?: boolean } = {}): string {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const h = Buffer.alloc(512);
    const data = Buffer.from(e.data ?? '');
    h.write(e.name, 0, 100);
    h.write((e.mode ?? 0o644).toString(8).padStart(7, '0') + '\0', 100);
    h.write('0000000\0', 108);
    h.write('0000000\0', 116);
    h.write(data.length.toString(8).padStart(11, '0') + '\0', 124);
    h.write('00000000000\0', 136);
    h.write(e.type ?? '0', 156);
    h.write(e.link ?? '', 157, 100);
    h.write('ustar\0', 257);
    h.write('00', 263);
    h.fill(32, 148, 156);
    let sum = 0;
    for (const b of h) sum += b;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
    blocks.push(h, data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  if (!opts.truncate) blocks.push(Buffer.alloc(1024));
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'bgi-tar-')), 'content.tar');
  writeFileSync(file, Buffer.concat(blocks));
  return file;
}

test('a plain Go build cache archive passes and is counted', () => {
  const r = checkTar(
    tar([
      { name: './', type: '5', mode: 0o755 },
      { name: './ab/', type: '5' },
      { name: './ab/ab12-d', data: 'x'.repeat(1000) },
      { name: './trim.txt', data: '1700000000' },
      { name: './ab/link', type: '2', link: 'ab12-d' },
    ]),
  );
  assert.deepEqual(r, { ok: true, files: 2, bytes: 1010 });
});

const HOSTILE: [string, Entry[], RegExp][] = [
  ['absolute path', [{ name: '/etc/cron.d/x', data: 'evil' }], /escapes the mount/],
  [
    'parent traversal',
    [{ name: './../../root/.ssh/authorized_keys', data: 'k' }],
    /escapes the mount/,
  ],
  [
    'symlink to an absolute path',
    [{ name: './bin', type: '2', link: '/usr/bin' }],
    /points out of the mount/,
  ],
  [
    'symlink climbing out',
    [{ name: './a/b', type: '2', link: '../../../etc' }],
    /points out of the mount/,
  ],
  ['hard link', [{ name: './h', type: '1', link: 'etc/shadow' }], /hard link/],
  ['character device', [{ name: './null', type: '3' }], /device, fifo or unknown/],
  ['fifo', [{ name: './p', type: '6' }], /device, fifo or unknown/],
  ['setuid binary', [{ name: './sh', mode: 0o4755, data: '#!' }], /setuid or setgid/],
  ['setgid directory', [{ name: './d/', type: '5', mode: 0o2755 }], /setuid or setgid/],
];
for (const [name, entries, reason] of HOSTILE) {
  test(`hostile archive refused: ${name}`, () => {
    const r = checkTar(tar([{ name: './ok', data: 'fine' }, ...entries]));
    assert.equal(r.ok, false);
    assert.match(r.reason ?? '', reason);
  });
}

test('a truncated or corrupt archive is refused', () => {
  assert.match(
    checkTar(tar([{ name: './a', data: 'x' }], { truncate: true })).reason ?? '',
    /truncated/,
  );
  const file = tar([{ name: './a', data: 'x' }]);
  const buf = readFileSync(file);
  buf[10] = 0x41;
  writeFileSync(file, buf);
  assert.match(checkTar(file).reason ?? '', /corrupt header/);
});
