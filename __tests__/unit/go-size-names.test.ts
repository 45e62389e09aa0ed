// The size analysis reads function names as bytes: each name's end once (pclntab.ts, NameEnds) and
// its package from the bytes (attribute.ts, PackageSizes) rather than decoding every name. These
// names, the unusual ones included, must land in exactly the package packageOfFunction gives their
// decoded text, and name offsets in any order must read the same names within the same bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { brotliDecompressSync } from 'node:zlib';
import { analyseGoExecutable } from '../../src/sizereport/go/analyse.ts';
import { PackageSizes, packageOfFunction } from '../../src/sizereport/go/attribute.ts';
import type { GoBuildInfo } from '../../src/sizereport/go/buildinfo.ts';
import { findSection, parseElf } from '../../src/sizereport/go/elf.ts';
import { readFunctionTable } from '../../src/sizereport/go/pclntab.ts';

const info: GoBuildInfo = {
  goVersion: 'go1.24.4',
  path: 'example.com/svc',
  main: { path: 'example.com/svc', version: '(devel)' },
  deps: [{ path: 'gopkg.in/yaml.v3', version: 'v3.0.1' }],
  settings: {},
};

const NAMES = [
  'main.main',
  'main.main.func1',
  'net/http.(*Server).Serve',
  'net/http.(*Server).Serve.func2',
  'net.(*conn).Read',
  'net/http.x',
  'gopkg.in/yaml%2ev3.Marshal',
  'gopkg.in/yaml%2ev3.(*parser).parse',
  'slices.SortFunc[go.shape.[]example.com/x/y.T,go.shape.*uint8]',
  'example.com/svc/inner.(*Table[go.shape.string,go.shape.struct { main.x int }]).Put',
  'a[x]/b.c',
  'a[x/b.c',
  'a]x/b.c',
  'x/y[a.b]',
  'go:buildid',
  'go.buildid',
  'type:.eq.[2]interface {}',
  'type..eq.main.point',
  'typed.F',
  'gopher.F',
  'go',
  'type',
  '_rt0_amd64_linux',
  '.leadingdot',
  'trailing/',
  'trailing/slash.',
  'ünïcode/päckage.F',
  'ascii/then/ü.F',
  '\uFEFFgo:x.y',
  '\uFEFFmain.main',
  'weird%zz/p.F',
  'p/q.F%2e',
];

test('the package of a function from its name bytes is packageOfFunction of the decoded name', () => {
  const encoder = new TextEncoder();
  // The names in one table, NUL-terminated as the linker writes them, including bytes that are not
  // UTF-8 (a lone continuation byte, a truncated sequence before the package's dot).
  const encoded = [
    ...NAMES.map((n) => encoder.encode(n)),
    Uint8Array.from([0x61, 0x80, 0x2f, 0x62, 0x2e, 0x46]),
    Uint8Array.from([0x61, 0x2f, 0x62, 0xc3, 0x2e, 0x46]),
    Uint8Array.from([0xef, 0xbb, 0xbf, 0x61, 0x2e, 0x46]),
  ];
  const table = new Uint8Array(encoded.reduce((a, e) => a + e.length + 1, 0));
  const counter = new PackageSizes(info);
  const want = new Map<string, number>();
  let at = 0;
  encoded.forEach((bytes, i) => {
    table.set(bytes, at);
    const size = 1 << (i % 20);
    counter.add({
      name: table.subarray(at, at + bytes.length),
      nameStart: at,
      entry: at,
      size,
      span: size,
    });
    const pkg = packageOfFunction(new TextDecoder().decode(bytes));
    if (pkg !== undefined) want.set(pkg, (want.get(pkg) ?? 0) + size);
    at += bytes.length + 1;
  });
  const got = counter.result(1 << 30).packages;
  assert.deepEqual(new Map(got.map((p) => [p.path, p.bytes])), want);
  assert.ok(want.size > 15, `${want.size} packages`);
  assert.equal(got.find((p) => p.path === 'gopkg.in/yaml.v3')?.module, 'gopkg.in/yaml.v3');
});

/** The amd64 fixture with each function's name offset (its _func record's nameOff) rewritten. */
function withNameOffsets(
  rewrite: (offsets: number[]) => number[],
  { oneLongName = false } = {},
): Uint8Array {
  const bytes = new Uint8Array(
    brotliDecompressSync(
      readFileSync(
        path.join(import.meta.dirname, '..', 'fixtures', 'go-size', 'amd64', 'fixture.br'),
      ),
    ),
  );
  const table = findSection(parseElf(bytes), '.gopclntab')!.offset;
  const view = new DataView(bytes.buffer);
  const word = (i: number) => Number(view.getBigUint64(table + 8 + i * 8, true));
  const [nfunc, funcnameOffset, cuOffset, pclnOffset] = [word(0), word(3), word(4), word(7)];
  // All the names' bytes made into one name, ending at the last NUL of the name table.
  if (oneLongName) bytes.fill(0x61, table + funcnameOffset, table + cuOffset - 1);
  const records = Array.from(
    { length: nfunc },
    (_, i) => table + pclnOffset + view.getUint32(table + pclnOffset + i * 8 + 4, true),
  );
  const offsets = rewrite(records.map((r) => view.getInt32(r + 4, true)));
  records.forEach((r, i) => view.setInt32(r + 4, offsets[i]!, true));
  return bytes;
}

test('function names met out of order or shared are each read once; overlapping names are refused', () => {
  const reversed = withNameOffsets((o) => o.toReversed());
  const original = withNameOffsets((o) => o);
  const names = (bytes: Uint8Array) => {
    const table = readFunctionTable(parseElf(bytes), bytes);
    assert.ok(table.ok);
    return table.functions.map((f) => f.name);
  };
  assert.deepEqual(names(reversed), names(original).toReversed());
  assert.equal(analyseGoExecutable(reversed, 'reversed')?.attributed, true);
  const shared = analyseGoExecutable(
    withNameOffsets((o) => o.map(() => o[0]!)),
    'one name',
  );
  assert.equal(shared?.attributed, true);
  assert.equal(shared?.packages.length, 1);
  // Every function's name one byte after the one before, inside one name as long as the names
  // together: the same bytes would be scanned for every function.
  const overlapping = analyseGoExecutable(
    withNameOffsets((o) => o.map((_, i) => i), { oneLongName: true }),
    'overlapping',
  );
  assert.equal(overlapping?.attributed, false);
  assert.match(overlapping!.reason!, /function names add up to more than the function table/);
});
