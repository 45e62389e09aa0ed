// The size analysis reads each function's package from the name's bytes (attribute.ts, PackageSizes)
// rather than decoding every name; these names, the unusual ones included, must land in exactly the
// package packageOfFunction gives their decoded text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PackageSizes, packageOfFunction } from '../../src/sizereport/go/attribute.ts';
import type { GoBuildInfo } from '../../src/sizereport/go/buildinfo.ts';

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
    counter.add({ table, nameStart: at, nameEnd: at + bytes.length, entry: at, size, span: size });
    const pkg = packageOfFunction(new TextDecoder().decode(bytes));
    if (pkg !== undefined) want.set(pkg, (want.get(pkg) ?? 0) + size);
    at += bytes.length + 1;
  });
  const got = counter.result(1 << 30).packages;
  assert.deepEqual(new Map(got.map((p) => [p.path, p.bytes])), want);
  assert.ok(want.size > 15, `${want.size} packages`);
  assert.equal(got.find((p) => p.path === 'gopkg.in/yaml.v3')?.module, 'gopkg.in/yaml.v3');
});
