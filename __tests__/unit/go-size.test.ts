// The Go size analysis on real Go executables: the fixture program of __tests__/fixtures/go-size/src
// built with -s -w for amd64, arm64 and mips (npm run fixtures:go-size), checked against what Go's
// own tools said about the same build: `go version -m` and `go tool nm -size` of an unstripped build.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { analyseGoExecutable, isElf } from '../../src/sizereport/go/analyse.ts';
import { moduleMatcher, packageOfFunction } from '../../src/sizereport/go/attribute.ts';
import {
  parseModInfo,
  readBuildInfo,
  readBuildInfoStrings,
  type GoBuildInfo,
} from '../../src/sizereport/go/buildinfo.ts';
import { findSection, parseElf } from '../../src/sizereport/go/elf.ts';
import { readFunctionTable } from '../../src/sizereport/go/pclntab.ts';

const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures', 'go-size');
const ARCHES = [
  { goarch: 'amd64', bits: 64, littleEndian: true },
  { goarch: 'arm64', bits: 64, littleEndian: true },
  { goarch: 'mips', bits: 32, littleEndian: false },
] as const;

function fixture(goarch: string) {
  const dir = path.join(FIXTURES, goarch);
  const nm = JSON.parse(gunzipSync(readFileSync(path.join(dir, 'nm-text.json.gz'))).toString()) as [
    number,
    number,
    string,
  ][];
  return {
    bytes: new Uint8Array(brotliDecompressSync(readFileSync(path.join(dir, 'fixture.br')))),
    nm: nm.map(([address, size, name]) => ({ address, size, name })),
    versionM: readFileSync(path.join(dir, 'version-m.txt'), 'utf8'),
  };
}

/** `go version -m` output: the Go version and every mod/dep line with its `=>` replacement. */
function goVersionM(text: string) {
  const lines = text.split('\n');
  const modules: string[] = [];
  for (const line of lines.slice(1)) {
    const f = line.trim().split('\t');
    if (f[0] === 'mod' || f[0] === 'dep') modules.push(`${f[1]} ${f[2]}`);
    if (f[0] === '=>') modules[modules.length - 1] += ` => ${f.slice(1, 3).join(' ').trim()}`;
  }
  return { goVersion: lines[0]!.split(': ')[1]!, modules };
}

for (const { goarch, bits, littleEndian } of ARCHES) {
  test(`${goarch}: the ELF header, build info and module list agree with go version -m`, () => {
    const { bytes, versionM } = fixture(goarch);
    assert.ok(isElf(bytes));
    const elf = parseElf(bytes);
    assert.equal(elf.bits, bits);
    assert.equal(elf.littleEndian, littleEndian);
    assert.ok(findSection(elf, '.go.buildinfo') && findSection(elf, '.gopclntab'));

    const want = goVersionM(versionM);
    const sizes = analyseGoExecutable(bytes, 'app/fixture')!;
    assert.equal(sizes.file, 'app/fixture');
    assert.equal(sizes.fileBytes, bytes.length);
    assert.equal(sizes.goVersion, want.goVersion);
    assert.equal(sizes.mainModule, 'example.com/fixture');
    assert.equal(sizes.attributed, true, sizes.reason);
    const modules = sizes.modules
      .filter((m) => m.path !== 'std' && m.path !== 'other')
      .map((m) => `${m.path} ${m.version}${m.replacedBy ? ` => ${m.replacedBy}` : ''}`);
    assert.deepEqual(modules.sort(), want.modules.sort());
    assert.equal(sizes.modules.find((m) => m.path === 'std')?.version, want.goVersion);
  });

  test(`${goarch}: every function's size from the stripped build equals go tool nm's on the unstripped one`, () => {
    const { bytes, nm } = fixture(goarch);
    const elf = parseElf(bytes);
    const table = readFunctionTable(elf, bytes);
    assert.ok(table.ok, table.ok ? '' : table.reason);
    const byAddress = new Map(nm.filter((s) => s.size > 0).map((s) => [s.address, s]));
    const withPackage = table.functions.filter((f) => packageOfFunction(f.name) !== undefined);
    assert.ok(withPackage.length > 1000, `${withPackage.length} functions`);
    const mismatched = withPackage
      .filter((f) => byAddress.get(f.entry)?.size !== f.size)
      .map(
        (f) => `${f.name}@${f.entry.toString(16)}: ${f.size} vs nm ${byAddress.get(f.entry)?.size}`,
      );
    assert.deepEqual(mismatched, []);
    // nm's names carry an ".abi0" suffix on assembly functions that the function table does not.
    for (const f of withPackage.slice(0, 200))
      assert.equal(byAddress.get(f.entry)!.name.replace(/\.abi0$/, ''), f.name);
    // No code symbol of nm is missing from the table (sizes only grow by the padding between functions).
    const entries = new Set(table.functions.map((f) => f.entry));
    assert.deepEqual(
      [...byAddress.values()].filter((s) => !entries.has(s.address)).map((s) => s.name),
      [],
    );
    for (const f of table.functions) assert.ok(f.size <= f.span, f.name);
  });

  test(`${goarch}: packages and modules add up, with the program's own code where it belongs`, () => {
    const { bytes, nm } = fixture(goarch);
    const sizes = analyseGoExecutable(bytes, 'fixture')!;
    const total = sizes.modules.reduce((a, m) => a + m.bytes, 0);
    assert.equal(total, bytes.length);
    for (const m of sizes.modules.filter((m) => m.path !== 'other'))
      assert.equal(
        m.bytes,
        sizes.packages.filter((p) => p.module === m.path).reduce((a, p) => a + p.bytes, 0),
        m.path,
      );
    for (let i = 1; i < sizes.modules.length; i++)
      assert.ok(sizes.modules[i - 1]!.bytes >= sizes.modules[i]!.bytes);
    // Per package, what nm's symbols of that package add up to.
    const nmPackages = new Map<string, number>();
    for (const s of nm) {
      const pkg = packageOfFunction(s.name.replace(/\.abi0$/, ''));
      if (pkg) nmPackages.set(pkg, (nmPackages.get(pkg) ?? 0) + s.size);
    }
    for (const p of sizes.packages) assert.equal(p.bytes, nmPackages.get(p.path), p.path);
    const pkg = (path: string) => sizes.packages.find((p) => p.path === path);
    assert.equal(pkg('main')?.module, 'example.com/fixture');
    assert.equal(pkg('example.com/dep.v2/inner')?.module, 'example.com/dep.v2');
    assert.ok(pkg('example.com/dep.v2/inner')!.bytes > 0);
    assert.equal(pkg('runtime')?.module, 'std');
    assert.equal(pkg('strconv')?.module, 'std');
    assert.ok(sizes.modules.find((m) => m.path === 'other')!.bytes > 0);
  });
}

test('function names map to their package: generics, receivers, closures, dots in paths, linker symbols', () => {
  const cases: [string, string | undefined][] = [
    ['main.main', 'main'],
    ['main.main.func1', 'main'],
    ['main.main.gowrap1', 'main'],
    ['mime.setExtensionType.deferwrap1', 'mime'],
    ['net/http.(*Server).Serve', 'net/http'],
    ['net/http.(*http2Framer).WriteData', 'net/http'],
    ['github.com/a/b.v2/pkg.F', 'github.com/a/b.v2/pkg'],
    ['github.com/a/b.v2/pkg.(*T).M.func2', 'github.com/a/b.v2/pkg'],
    ['gopkg.in/yaml%2ev3.Marshal', 'gopkg.in/yaml.v3'],
    ['gopkg.in/yaml%2ev3.(*parser).parse', 'gopkg.in/yaml.v3'],
    [
      'crypto/internal/fips140/tls13.NewEarlySecret[go.shape.interface { BlockSize() int; Sum([]uint8) []uint8 }].func1',
      'crypto/internal/fips140/tls13',
    ],
    [
      'example.com/dep.v2/inner.(*Table[go.shape.string,go.shape.struct { main.x int }]).Put',
      'example.com/dep.v2/inner',
    ],
    ['slices.SortFunc[go.shape.[]example.com/x/y.T,go.shape.*uint8]', 'slices'],
    ['internal/runtime/maps.(*Map).getWithKeySmall', 'internal/runtime/maps'],
    ['vendor/golang.org/x/net/http2/hpack.(*Decoder).Write', 'vendor/golang.org/x/net/http2/hpack'],
    ['type:.eq.runtime.untracedG·4', undefined],
    ['type:.eq.[2]interface {}', undefined],
    ['go:buildid', undefined],
    ['go:textfipsstart', undefined],
    ['go.buildid', undefined],
    ['type..eq.main.point', undefined],
    ['_rt0_amd64_linux', undefined],
  ];
  for (const [name, pkg] of cases) assert.equal(packageOfFunction(name), pkg, name);
});

test('packages map to the longest module path; std without a dot; a main module without a dot still wins', () => {
  const info: GoBuildInfo = {
    goVersion: 'go1.24.4',
    path: 'svc/cmd/server',
    main: { path: 'svc', version: '(devel)' },
    deps: [
      { path: 'github.com/a/b', version: 'v1.0.0' },
      { path: 'github.com/a/b/c', version: 'v0.3.0' },
      { path: 'golang.org/x/net', version: 'v0.40.0' },
    ],
    settings: {},
  };
  const m = moduleMatcher(info);
  assert.equal(m.moduleOf('main'), 'svc');
  assert.equal(m.moduleOf('svc/internal/api'), 'svc');
  assert.equal(m.moduleOf('svcx/api'), 'std');
  assert.equal(m.moduleOf('github.com/a/b'), 'github.com/a/b');
  assert.equal(m.moduleOf('github.com/a/b/d'), 'github.com/a/b');
  assert.equal(m.moduleOf('github.com/a/b/c/e'), 'github.com/a/b/c');
  assert.equal(m.moduleOf('github.com/a/bc'), 'other');
  assert.equal(m.moduleOf('golang.org/x/net/http2'), 'golang.org/x/net');
  assert.equal(m.moduleOf('vendor/golang.org/x/net/http2/hpack'), 'std');
  assert.equal(m.moduleOf('net/http'), 'std');
});

test('module info: sentinels stripped, mod/dep/=>/build lines read', () => {
  const sentinel = '0123456789abcdef';
  const text = [
    'path\texample.com/svc/cmd/server',
    'mod\texample.com/svc\tv1.2.3\th1:abc=',
    'dep\tgithub.com/a/b\tv1.0.0\th1:def=',
    '=>\tgithub.com/fork/b\tv1.0.1\th1:ghi=',
    'dep\texample.com/local\tv0.0.0',
    '=>\t../local\t\t',
    'build\t-ldflags=-s -w',
    'build\tGOARCH=arm64',
    '',
  ].join('\n');
  const info = parseModInfo('go1.24.4', `${sentinel}${text}${sentinel}`);
  assert.equal(info.path, 'example.com/svc/cmd/server');
  assert.deepEqual(info.main, { path: 'example.com/svc', version: 'v1.2.3' });
  assert.deepEqual(info.deps, [
    {
      path: 'github.com/a/b',
      version: 'v1.0.0',
      replace: { path: 'github.com/fork/b', version: 'v1.0.1' },
    },
    { path: 'example.com/local', version: 'v0.0.0', replace: { path: '../local', version: '' } },
  ]);
  assert.deepEqual(info.settings, { '-ldflags': '-s -w', GOARCH: 'arm64' });
});

/** Copy of a fixture with a patch applied. */
function patched(goarch: string, patch: (bytes: Uint8Array, view: DataView) => void): Uint8Array {
  const bytes = new Uint8Array(fixture(goarch).bytes);
  patch(bytes, new DataView(bytes.buffer));
  return bytes;
}

test('not a Go executable: undefined (no ELF magic, truncated ELF, no build info)', () => {
  assert.equal(isElf(new TextEncoder().encode('#!/bin/sh\n')), false);
  assert.equal(
    analyseGoExecutable(new TextEncoder().encode('#!/bin/sh\necho hi\n'), 'x.sh'),
    undefined,
  );
  const { bytes } = fixture('amd64');
  assert.equal(analyseGoExecutable(bytes.subarray(0, 40), 'short'), undefined);
  assert.equal(analyseGoExecutable(bytes.subarray(0, 4096), 'head only'), undefined);
  // An ELF file whose build info section and magic are gone, as in a C program.
  const noBuildInfo = patched('amd64', (b) => {
    const elf = parseElf(b);
    const s = findSection(elf, '.go.buildinfo')!;
    b.fill(0, s.offset, s.offset + 16);
  });
  assert.equal(analyseGoExecutable(noBuildInfo, 'c-program'), undefined);
});

test('a function table of another format is reported as not attributed, with the build info kept', () => {
  for (const [magic, words] of [
    [0xfffffffa, /Go 1\.16-1\.17.*0xfffffffa/],
    [0xfffffffb, /Go 1\.2-1\.15/],
    [0x12345678, /unknown function table format \(magic 0x12345678\)/],
  ] as const) {
    for (const goarch of ['amd64', 'mips']) {
      const bytes = patched(goarch, (b, v) => {
        const elf = parseElf(b);
        v.setUint32(findSection(elf, '.gopclntab')!.offset, magic, elf.littleEndian);
      });
      const sizes = analyseGoExecutable(bytes, 'old')!;
      assert.equal(sizes.attributed, false);
      assert.match(sizes.reason!, words);
      assert.equal(sizes.goVersion, 'go1.24.4');
      assert.deepEqual(sizes.packages, []);
      assert.deepEqual(sizes.modules[0], { path: 'other', version: '', bytes: bytes.length });
      assert.ok(
        sizes.modules.some((m) => m.path === 'example.com/dep.v2' && m.version === 'v1.2.0'),
      );
    }
  }
});

test('a damaged function table is not attributed and nothing is guessed', () => {
  const bytes = patched('arm64', (b, v) => {
    const elf = parseElf(b);
    const s = findSection(elf, '.gopclntab')!;
    // pclnOffset (the 8th word of the header) pointed past the end of the table.
    v.setBigUint64(s.offset + 8 + 7 * 8, BigInt(b.length * 2), true);
  });
  const sizes = analyseGoExecutable(bytes, 'damaged')!;
  assert.equal(sizes.attributed, false);
  assert.match(sizes.reason!, /function table unreadable: .*functab/);
});

test('section headers removed: the build info is found in the data segment, the table is not guessed', () => {
  for (const goarch of ['amd64', 'mips']) {
    const bytes = patched(goarch, (b, v) => {
      const elf = parseElf(b);
      // e_shoff = 0 and e_shnum = 0 (offsets of the 64- and 32-bit headers).
      if (elf.bits === 64) {
        v.setBigUint64(40, 0n, elf.littleEndian);
        v.setUint16(60, 0, elf.littleEndian);
      } else {
        v.setUint32(32, 0, elf.littleEndian);
        v.setUint16(48, 0, elf.littleEndian);
      }
    });
    const elf = parseElf(bytes);
    assert.equal(elf.sections.length, 0);
    assert.equal(readBuildInfo(elf, bytes)?.main?.path, 'example.com/fixture');
    const sizes = analyseGoExecutable(bytes, 'sstripped')!;
    assert.equal(sizes.attributed, false);
    assert.match(sizes.reason!, /no function table/);
  }
});

test('build info in the layout before Go 1.18 (pointers to string headers) is read too', () => {
  for (const goarch of ['amd64', 'mips']) {
    const original = fixture(goarch).bytes;
    const elf = parseElf(original);
    const section = findSection(elf, '.go.buildinfo')!;
    const want = readBuildInfo(elf, original)!;
    const strings = readBuildInfoStrings(elf, original, section.offset);
    // Rewrite the header as Go 1.17's linker wrote it: flags 0 or 1 (pointers; bit 0 big endian)
    // and two pointers to {data, length} string headers, placed here after the header with the
    // strings' bytes (in the same loadable segment, so addresses map to file offsets).
    const bytes = patched(goarch, (b, v) => {
      const ptr = elf.bits / 8;
      const le = elf.littleEndian;
      const put = (at: number, value: number) =>
        ptr === 8 ? v.setBigUint64(at, BigInt(value), le) : v.setUint32(at, value, le);
      const addr = (fileOffset: number) => section.addr + (fileOffset - section.offset);
      const version = new TextEncoder().encode(strings.version);
      const modinfo = new TextEncoder().encode(strings.modinfo);
      const h = section.offset;
      const data = h + 64;
      b[h + 14] = ptr;
      b[h + 15] = le ? 0 : 1;
      put(h + 16, addr(h + 32));
      put(h + 16 + ptr, addr(h + 48));
      put(h + 32, addr(data));
      put(h + 32 + ptr, version.length);
      put(h + 48, addr(data + version.length));
      put(h + 48 + ptr, modinfo.length);
      b.set(version, data);
      b.set(modinfo, data + version.length);
    });
    assert.notEqual(bytes[section.offset + 15]! & 2, 2, 'no longer the inline layout');
    assert.deepEqual(readBuildInfo(parseElf(bytes), bytes), want);
    assert.equal(want.deps[0]?.replace?.path, './dep.v2');
  }
});
