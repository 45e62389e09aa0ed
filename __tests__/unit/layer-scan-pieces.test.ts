// Executables are analysed from the pieces their layer was unpacked in, never joined
// (go/file-bytes.ts): each analysis must still see exactly its file, and read it as it would one
// buffer, wherever the pieces end (inside a header, a function record, a name or a pc table).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { archive, entry } from '../helpers/tar-bytes.ts';
import { readFileSync } from 'node:fs';
import { brotliDecompressSync } from 'node:zlib';
import { LayerScan, type GoAnalyser } from '../../src/sizereport/layer-scan.ts';
import { analyseGoExecutable } from '../../src/sizereport/go/analyse.ts';
import { Cursor, ElfFormatError, FileBytes } from '../../src/sizereport/go/file-bytes.ts';
import { findSection, parseElf } from '../../src/sizereport/go/elf.ts';

const ELF = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);
const all = (f: FileBytes) => Buffer.from(f.bytes(0, f.length, 'test'));
const fixture = (arch: string) =>
  brotliDecompressSync(
    readFileSync(new URL(`../fixtures/go-size/${arch}/fixture.br`, import.meta.url)),
  );

/** Pieces of `bytes`, `size` bytes each (the last shorter), as views of it. */
const piecesOf = (bytes: Uint8Array, size: number) =>
  FileBytes.of(
    Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) =>
      bytes.subarray(i * size, (i + 1) * size),
    ),
  );

function scanWith(analyse: GoAnalyser, opts: { entrypoints?: string[]; cap?: number } = {}) {
  return new LayerScan({
    digest: `sha256:${'0'.repeat(64)}`,
    analyse,
    entrypoints: new Set(opts.entrypoints ?? []),
    below: new Set(),
    budget: { analysed: 0, max: 8 },
    cap: opts.cap ?? 1_000_000,
  });
}

test('each executable is analysed from exactly its own bytes, as views of the chunks it came in', () => {
  const files = [40_000, 12_000, 30_000, 50_000].map((n, i) => ({
    name: `bin/tool${i}`,
    data: Buffer.concat([ELF, randomBytes(n)]),
  }));
  const seen: { file: string; bytes: Buffer; shared: boolean }[] = [];
  const layer = archive(...files.map((f) => entry({ name: f.name, mode: 0o755 }, f.data)));
  const scan = scanWith((bytes, file) => {
    // Every piece is a view of the layer's own memory: nothing was copied to collect the file.
    let shared = true;
    for (let at = 0; at < bytes.length;) {
      const i = bytes.pieceIndex(at);
      shared &&= bytes.piece(i).buffer === layer.buffer;
      at = bytes.startOf(i) + bytes.piece(i).length;
    }
    seen.push({ file, bytes: all(bytes), shared });
    return undefined;
  });
  // In small chunks, as a decompressor hands them over.
  for (let at = 0; at < layer.length; at += 3000) scan.feed(layer.subarray(at, at + 3000));
  scan.finish();
  assert.deepEqual(
    seen.map((s) => s.file),
    files.map((f) => f.name),
  );
  for (const [i, f] of files.entries()) {
    assert.ok(seen[i]!.bytes.equals(f.data), f.name);
    assert.ok(seen[i]!.shared, f.name);
  }
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
        seen.push(`${file} ${createHash('sha256').update(all(bytes)).digest('hex')}`);
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

test('a Go executable read from its pieces is analysed as from one buffer, wherever the pieces end', () => {
  for (const arch of ['amd64', 'arm64']) {
    const bin = fixture(arch);
    const whole = analyseGoExecutable(bin, 'app/fixture');
    assert.equal(whole?.attributed, true, arch);
    // Odd sizes put piece ends inside headers, records, names and pc tables; 7 bytes split most reads.
    for (const size of [7, 509, 4093, 65_536, 256 * 1024])
      assert.deepEqual(
        analyseGoExecutable(piecesOf(bin, size), 'app/fixture'),
        whole,
        `${arch} ${size}`,
      );
    // Through the layer walk, after another ELF file, in the size step's chunk size.
    const found: unknown[] = [];
    const scan = scanWith(
      (bytes, file) => {
        const sizes = analyseGoExecutable(bytes, file);
        found.push(sizes);
        return sizes;
      },
      { entrypoints: ['app/fixture'], cap: 64 << 20 },
    );
    const layer = archive(
      entry({ name: 'app/other', mode: 0o755 }, Buffer.concat([ELF, randomBytes(70_000)])),
      entry({ name: 'app/fixture', mode: 0o755 }, bin),
    );
    for (let at = 0; at < layer.length; at += 256 * 1024)
      scan.feed(layer.subarray(at, at + 256 * 1024));
    const record = scan.finish();
    assert.equal(record.executables.length, 1, JSON.stringify(record));
    assert.deepEqual(found, [undefined, whole], arch);
  }
});

test('a damaged function table gives the same answer from pieces as from one buffer', () => {
  // Crafted bytes must fail (or pass) the same way whichever way the file is held: each of these
  // overwrites a few bytes of the table's header, records, names or pc tables.
  const bin = fixture('amd64');
  const table = findSection(parseElf(bin), '.gopclntab')!;
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
  let differentAnswers = 0;
  for (let round = 0; round < 40; round++) {
    const damaged = Buffer.from(bin);
    // The header (first 72 bytes) in a quarter of the rounds, anywhere in the table otherwise.
    const span = round % 4 === 0 ? 72 : table.size;
    for (let k = 0; k < 1 + (round % 5); k++)
      damaged[table.offset + (next() % span)] = next() % 256;
    const whole = analyseGoExecutable(damaged, 'bin');
    assert.deepEqual(analyseGoExecutable(piecesOf(damaged, 509), 'bin'), whole, `round ${round}`);
    if (JSON.stringify(whole) !== JSON.stringify(analyseGoExecutable(bin, 'bin')))
      differentAnswers++;
  }
  // The damage was real: most rounds changed the answer.
  assert.ok(differentAnswers > 20, `${differentAnswers} of 40 rounds changed the answer`);
});

test('pc-value tables that never end cost no more than their functions, from pieces as from one buffer', () => {
  // Every pc-value table made of steps of one quantum that never reach the end marker: each walk
  // stops past its function's span (kilobytes of table for the large functions, read across pieces).
  const bin = fixture('amd64');
  const table = findSection(parseElf(bin), '.gopclntab')!;
  const word = (i: number) => Number(bin.readBigUInt64LE(table.offset + 8 + i * 8));
  const [pctabOffset, pclnOffset] = [word(6), word(7)];
  const endless = Buffer.from(bin);
  endless.fill(0x01, table.offset + pctabOffset, table.offset + pclnOffset);
  const whole = analyseGoExecutable(endless, 'bin');
  assert.equal(whole?.attributed, true);
  // Each function counted at its span (code and padding): more than the real sizes add up to.
  const total = (r: ReturnType<typeof analyseGoExecutable>) =>
    r!.packages.reduce((a, p) => a + p.bytes, 0);
  assert.ok(total(whole) > total(analyseGoExecutable(bin, 'bin')));
  for (const size of [509, 4093, 256 * 1024])
    assert.deepEqual(analyseGoExecutable(piecesOf(endless, size), 'bin'), whole, `${size}`);
});

test('FileBytes reads ranges across pieces, copying only what straddles them, and refuses reads outside', () => {
  const bytes = Uint8Array.from({ length: 100 }, (_, i) => i);
  const file = piecesOf(bytes, 10);
  assert.equal(file.length, 100);
  // Inside one piece: a view of it; across pieces: a copy with the same bytes.
  const inside = file.bytes(12, 5, 'inside');
  assert.equal(inside.buffer, bytes.buffer);
  assert.deepEqual([...inside], [12, 13, 14, 15, 16]);
  const across = file.bytes(8, 25, 'across');
  assert.notEqual(across.buffer, bytes.buffer);
  assert.deepEqual([...across], [...bytes.subarray(8, 33)]);
  assert.deepEqual([...all(file.slice(37, 41, 'slice'))], [...bytes.subarray(37, 78)]);
  assert.equal(file.indexOf(55, 3), 55);
  assert.equal(file.indexOf(5, 6), -1);
  assert.equal(FileBytes.of([]).length, 0);
  for (const [from, n] of [
    [95, 6],
    [-1, 2],
    [100, 1],
    [0.5, 1],
    [2 ** 53, 1],
  ] as const)
    assert.throws(
      () => file.bytes(from, n, 'the field'),
      /the field at offset .* lies outside the file \(100 bytes\)/,
    );
  assert.throws(() => file.slice(90, 11, 'x'), ElfFormatError);
  // A cursor reads words that straddle pieces, in either order of reads.
  const le = new Cursor(file, true);
  assert.equal(le.u32(8, 'w'), 0x0b0a0908);
  assert.equal(le.u32(40, 'w'), 0x2b2a2928);
  assert.equal(le.u32(38, 'w'), 0x29282726);
  assert.equal(new Cursor(file, false).i32(9, 'w'), 0x090a0b0c);
  assert.deepEqual([...le.view(97, 3, 'v')], [97, 98, 99]);
  // A view inside a piece is the piece's memory; one across pieces is a copy.
  assert.equal(le.view(21, 4, 'v').buffer, bytes.buffer);
  assert.deepEqual([...le.view(18, 4, 'v')], [18, 19, 20, 21]);
  assert.throws(() => le.u32(97, 'the word'), /the word at offset 97 \(\+4\) lies outside/);
  assert.throws(() => le.view(98, 3, 'the view'), /the view at offset 98 \(\+3\)/);
});
