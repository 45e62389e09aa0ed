// Executables are collected into buffers reused from one to the next (layer-scan.ts): new memory
// costs a page fault per page on its first write. Each analysis must still see exactly its file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
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
