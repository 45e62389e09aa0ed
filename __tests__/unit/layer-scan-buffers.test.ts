// Executables are collected into buffers reused from one to the next (layer-scan.ts): new memory
// costs a page fault per page on its first write. Each analysis must still see exactly its file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { archive, entry } from '../helpers/tar-bytes.ts';
import { readFileSync } from 'node:fs';
import { brotliDecompressSync } from 'node:zlib';
import { LayerScan, codeRange } from '../../src/sizereport/layer-scan.ts';
import { analyseGoExecutable } from '../../src/sizereport/go/analyse.ts';
import { parseElf } from '../../src/sizereport/go/elf.ts';

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

test("a Go executable's machine code is not copied: the analysis is the same as from the whole file", async () => {
  const dir = new URL('../fixtures/go-size/', import.meta.url);
  for (const arch of ['amd64', 'arm64']) {
    const bin = brotliDecompressSync(readFileSync(new URL(`${arch}/fixture.br`, dir)));
    // The code range from the section headers, as readelf shows it (.text, after the headers).
    const elf = parseElf(bin);
    const text = elf.sections.find((s) => s.name === '.text')!;
    assert.deepEqual(codeRange(bin, bin.length, 2048), {
      from: text.offset,
      to: text.offset + text.size,
    });
    // Not known before the section headers are in; never once the code has started to arrive.
    assert.equal(codeRange(bin, bin.length, 40), 64);
    assert.equal(codeRange(bin, bin.length, 100), 400 + elf.sections.length * 64);
    assert.equal(codeRange(bin, bin.length, text.offset + 1), null);
    // An ELF file of the same size first, so the executable is read into a buffer already written.
    const before = Buffer.concat([ELF, Buffer.alloc(bin.length - 4, 0xaa)]);
    const lent: Buffer[] = [];
    const found: unknown[] = [];
    const scan = new LayerScan({
      digest: `sha256:${'0'.repeat(64)}`,
      analyse: (bytes, file) => {
        lent.push(Buffer.from(bytes));
        const sizes = analyseGoExecutable(bytes, file);
        found.push(sizes);
        return sizes;
      },
      entrypoints: new Set(['app/fixture']),
      below: new Set(),
      budget: { analysed: 0, max: 8 },
      cap: 64 << 20,
    });
    const layer = archive(
      entry({ name: 'app/other', mode: 0o755 }, before),
      entry({ name: 'app/fixture', mode: 0o755 }, bin),
    );
    for (let at = 0; at < layer.length; at += 65536) scan.feed(layer.subarray(at, at + 65536));
    const record = scan.finish();
    assert.equal(record.executables.length, 1, JSON.stringify(record));
    assert.deepEqual(found[1], analyseGoExecutable(bin, 'app/fixture'), arch);
    const got = lent[1]!;
    // Everything but the code is the file's; the code's pages were left as they were.
    assert.ok(got.subarray(0, text.offset).equals(bin.subarray(0, text.offset)));
    assert.ok(got.subarray(text.offset + text.size).equals(bin.subarray(text.offset + text.size)));
    assert.ok(got.subarray(text.offset, text.offset + text.size).every((b) => b === 0xaa));
  }
});

test('code ranges that are not certain are copied: headers after the code, overlapping sections, other bytes', () => {
  const elf64 = (
    sections: { type: number; flags: number; offset: number; size: number }[],
    shoff: number,
  ) => {
    const size = 4 << 20;
    const b = Buffer.alloc(size);
    ELF.copy(b, 0);
    b[4] = 2; // 64-bit
    b[5] = 1; // little-endian
    b.writeBigUInt64LE(BigInt(shoff), 0x28);
    b.writeUInt16LE(64, 0x3a);
    b.writeUInt16LE(sections.length, 0x3c);
    sections.forEach((s, i) => {
      const at = shoff + i * 64;
      b.writeUInt32LE(s.type, at + 4);
      b.writeBigUInt64LE(BigInt(s.flags), at + 8);
      b.writeBigUInt64LE(BigInt(s.offset), at + 0x18);
      b.writeBigUInt64LE(BigInt(s.size), at + 0x20);
    });
    return b;
  };
  const code = { type: 1, flags: 0x6, offset: 0x1000, size: 1 << 20 };
  const data = { type: 1, flags: 0x2, offset: 0x101000, size: 1 << 20 };
  const ok = elf64([code, data], 400);
  assert.deepEqual(codeRange(ok, ok.length, 4096), { from: 0x1000, to: 0x101000 });
  // The section headers at the end (as external linkers write them): not waited for.
  const late = elf64([code, data], (4 << 20) - 200);
  assert.equal(codeRange(late, late.length, late.length), null);
  // The code overlapping a section the analysis may read.
  const overlap = elf64([code, { ...data, offset: 0x100000 }], 400);
  assert.equal(codeRange(overlap, overlap.length, 4096), null);
  // Small code, not executable, a 32-bit table of the wrong entry size, a file shorter than its code.
  const small = elf64([{ ...code, size: 4096 }, data], 400);
  assert.equal(codeRange(small, small.length, 4096), null);
  const notCode = elf64([{ ...code, flags: 0x2 }, data], 400);
  assert.equal(codeRange(notCode, notCode.length, 4096), null);
  const short = elf64([code, data], 400);
  assert.equal(codeRange(short, 0x2000, 4096), null);
  const odd = elf64([code, data], 400);
  odd[4] = 1;
  assert.equal(codeRange(odd, odd.length, 4096), null);
  for (const bad of [0, 3, 0xff]) {
    const b = elf64([code, data], 400);
    b[5] = bad;
    assert.equal(codeRange(b, b.length, 4096), null);
  }
});
