// The go.sum hash reads a pull request's checkout: a go.sum that links to a device, is a
// directory, dangles or is huge is hashed by what it is, never read without end; plain files hash
// as they always did, so existing cache keys stay.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { MAX_GO_SUM_BYTES, goSumHash } from '../../src/go/gosum.ts';

const tmp = () => mkdtempSync(path.join(tmpdir(), 'bgi-gosum-'));

test('plain go.sum files hash as before: path and bytes, sorted, 16 hex digits', () => {
  const dir = tmp();
  writeFileSync(path.join(dir, 'go.sum'), 'a v1 h1:x\n');
  mkdirSync(path.join(dir, 'tools'));
  writeFileSync(path.join(dir, 'tools', 'go.sum'), Buffer.from([0xff, 0x00, 0x41]));
  const h = createHash('sha256');
  h.update('/go.sum').update('a v1 h1:x\n');
  h.update('/tools/go.sum').update(Buffer.from([0xff, 0x00, 0x41]));
  assert.equal(goSumHash(dir), h.digest('hex').slice(0, 16));
});

test('a go.sum that is a link to a device, a directory, a dangling link or huge: hashed, not read', () => {
  const cases: [string, (file: string) => void][] = [
    ['a link to /dev/zero', (f) => symlinkSync('/dev/zero', f)],
    ['a link to /dev/urandom', (f) => symlinkSync('/dev/urandom', f)],
    // A directory named go.sum is walked as a directory (holding none here): no hash at all.
    ['a directory', (f) => mkdirSync(f)],
    ['a link to a directory', (f) => symlinkSync('/', f)],
    ['a dangling link', (f) => symlinkSync('/nonexistent/go.sum', f)],
    ['a link to itself', (f) => symlinkSync(f, f)],
    [
      'larger than the bound (sparse)',
      (f) => {
        writeFileSync(f, '');
        truncateSync(f, MAX_GO_SUM_BYTES + 1);
      },
    ],
  ];
  const hashes = new Set<string>();
  for (const [what, make] of cases) {
    const dir = tmp();
    mkdirSync(path.join(dir, 'svc'));
    make(path.join(dir, 'svc', 'go.sum'));
    const started = Date.now();
    const h = goSumHash(dir);
    assert.ok(Date.now() - started < 2000, `${what}: ${Date.now() - started} ms`);
    assert.match(h, what === 'a directory' ? /^nosum$/ : /^[0-9a-f]{16}$/, what);
    hashes.add(h);
  }
  assert.ok(hashes.size >= 3, 'what an entry is still tells keys apart');
});

test('a go.sum linked to another file hashes as that file at the link path', () => {
  const a = tmp();
  writeFileSync(path.join(a, 'real.sum'), 'm v1 h1:y\n');
  symlinkSync(path.join(a, 'real.sum'), path.join(a, 'go.sum'));
  const b = tmp();
  writeFileSync(path.join(b, 'go.sum'), 'm v1 h1:y\n');
  assert.equal(goSumHash(a), goSumHash(b));
});
