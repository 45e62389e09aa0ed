// Executables are collected into buffers reused from one to the next (layer-scan.ts): new memory
// costs a page fault per page on its first write. Each analysis must still see exactly its file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { archive, entry } from '../helpers/tar-bytes.ts';
import { LayerScan } from '../../src/sizereport/layer-scan.ts';

const ELF = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

test('each executable is analysed from exactly its own bytes, in a buffer reused from the one before', () => {
  const files = [40_000, 12_000, 30_000, 50_000].map((n, i) => ({
    name: `bin/tool${i}`,
    data: Buffer.concat([ELF, randomBytes(n)]),
  }));
  const seen: { file: string; bytes: Buffer; buffer: ArrayBufferLike }[] = [];
  const scan = new LayerScan({
    digest: `sha256:${'0'.repeat(64)}`,
    analyse: (bytes, file) => {
      seen.push({ file, bytes: Buffer.from(bytes), buffer: bytes.buffer });
      return undefined;
    },
    entrypoints: new Set(),
    below: new Set(),
    budget: { analysed: 0, max: 8 },
    cap: 1_000_000,
  });
  const layer = archive(...files.map((f) => entry({ name: f.name, mode: 0o755 }, f.data)));
  // In small chunks, as a decompressor hands them over.
  for (let at = 0; at < layer.length; at += 3000) scan.feed(layer.subarray(at, at + 3000));
  scan.finish();
  assert.deepEqual(
    seen.map((s) => s.file),
    files.map((f) => f.name),
  );
  for (const [i, f] of files.entries()) assert.ok(seen[i]!.bytes.equals(f.data), f.name);
  // The smaller files that follow a larger one are read into its buffer.
  assert.equal(seen[1]!.buffer, seen[0]!.buffer);
  assert.equal(seen[2]!.buffer, seen[0]!.buffer);
  assert.notEqual(seen[3]!.buffer, seen[0]!.buffer);
});

test('the walk finds the same files whatever the chunks: a whole layer at once or pieces that split headers', () => {
  // The size step unpacks in 256 KiB chunks (measure.ts), so one chunk can hold many entries and
  // end inside a header; a decompressor may as well hand over a few bytes at a time.
  const tools = [9_000, 700, 20_000].map((n, i) => ({
    name: `usr/bin/tool${i}`,
    data: Buffer.concat([ELF, randomBytes(n)]),
  }));
  const layer = archive(
    entry({ name: 'etc/motd', mode: 0o644 }, 'hello\n'),
    ...tools.map((f) => entry({ name: f.name, mode: 0o755 }, f.data)),
    entry({ name: 'usr/bin/.wh.old', mode: 0o644 }),
    entry({ name: 'usr/lib/script', mode: 0o755 }, '#!/bin/sh\n'),
  );
  const walk = (piece: number) => {
    const seen: string[] = [];
    const scan = new LayerScan({
      digest: `sha256:${'0'.repeat(64)}`,
      analyse: (bytes, file) => {
        seen.push(`${file} ${createHash('sha256').update(bytes).digest('hex')}`);
        return undefined;
      },
      entrypoints: new Set(),
      below: new Set(['usr/bin/tool1']),
      budget: { analysed: 0, max: 8 },
      cap: 1_000_000,
    });
    for (let at = 0; at < layer.length; at += piece) scan.feed(layer.subarray(at, at + piece));
    return { seen, record: scan.finish() };
  };
  const whole = walk(layer.length);
  assert.deepEqual(
    whole.seen,
    tools.map((f) => `${f.name} ${createHash('sha256').update(f.data).digest('hex')}`),
  );
  assert.deepEqual([...whole.record.removed].sort(), ['usr/bin/old', 'usr/bin/tool1']);
  assert.equal(whole.record.unread, undefined);
  for (const piece of [1, 509, 4096, 256 * 1024]) assert.deepEqual(walk(piece), whole, `${piece}`);
});
