import { test } from 'node:test';
import assert from 'node:assert/strict';
import { goRequirement, parseGoDirectives } from '../../src/go/gomod.ts';
import { formatGoVersion } from '../../src/go/version.ts';
import { candidatesNewestFirst, newestInRange, newestPatch } from '../../src/go/resolve.ts';

const RELEASES = [
  '1.25rc2',
  '1.25rc1',
  '1.24.5',
  '1.24.4',
  '1.24.1',
  '1.24.0',
  '1.24rc3',
  '1.23.11',
  '1.23.0',
  '1.22.12',
  '1.20.14',
];

// go.mod/go.work text x GOTOOLCHAIN -> the minimum the module requires and the release chosen.
const MATRIX: {
  name: string;
  text: string;
  gotoolchain?: string;
  minimum: string;
  chosen: string;
}[] = [
  {
    name: 'full patch resolves to newest patch',
    text: 'module m\n\ngo 1.24.1\n',
    minimum: '1.24.1',
    chosen: '1.24.5',
  },
  { name: 'minor only', text: 'module m\ngo 1.24\n', minimum: '1.24', chosen: '1.24.5' },
  {
    name: 'toolchain newer wins',
    text: 'module m\ngo 1.23.0\ntoolchain go1.24.4\n',
    minimum: '1.24.4',
    chosen: '1.24.5',
  },
  {
    name: 'toolchain older is ignored',
    text: 'module m\ngo 1.24.4\ntoolchain go1.24.1\n',
    minimum: '1.24.4',
    chosen: '1.24.5',
  },
  {
    name: 'toolchain default ignored',
    text: 'module m\ngo 1.23.0\ntoolchain default\n',
    minimum: '1.23.0',
    chosen: '1.23.11',
  },
  {
    name: 'GOTOOLCHAIN=local ignores toolchain',
    text: 'module m\ngo 1.23.0\ntoolchain go1.24.4\n',
    gotoolchain: 'local',
    minimum: '1.23.0',
    chosen: '1.23.11',
  },
  {
    name: 'GOTOOLCHAIN pin raises the floor',
    text: 'module m\ngo 1.24.0\n',
    gotoolchain: 'go1.24.4+auto',
    minimum: '1.24.4',
    chosen: '1.24.5',
  },
  {
    name: 'pre-release with stable available',
    text: 'module m\ngo 1.24rc3\n',
    minimum: '1.24rc3',
    chosen: '1.24.5',
  },
  {
    name: 'pre-release only',
    text: 'module m\ngo 1.25rc1\n',
    minimum: '1.25rc1',
    chosen: '1.25rc2',
  },
  {
    name: 'CRLF, BOM, tabs and comments',
    text: '\uFEFFmodule m // c\r\n\r\n// go 1.10\r\ngo\t1.22.3 // pinned\r\n',
    minimum: '1.22.3',
    chosen: '1.22.12',
  },
  {
    name: 'go.work with use block',
    text: 'go 1.24.1\n\nuse (\n\t./a\n\t./b\n)\n',
    minimum: '1.24.1',
    chosen: '1.24.5',
  },
  {
    name: 'require block does not confuse the reader',
    text: 'module m\ngo 1.23.0\nrequire (\n\tgo.example/x v1.0.0 // go 1.99\n)\n',
    minimum: '1.23.0',
    chosen: '1.23.11',
  },
  {
    name: 'old language version 1.20',
    text: 'module m\ngo 1.20\n',
    minimum: '1.20',
    chosen: '1.20.14',
  },
];

for (const c of MATRIX) {
  test(`go.mod: ${c.name}`, () => {
    const req = goRequirement(
      parseGoDirectives(c.text, 'go.mod'),
      'go.mod',
      c.gotoolchain ? { GOTOOLCHAIN: c.gotoolchain } : {},
    );
    assert.equal(formatGoVersion(req.minimum), c.minimum);
    const chosen = newestPatch(req.minimum, RELEASES);
    assert.ok(chosen);
    assert.equal(formatGoVersion(chosen), c.chosen);
  });
}

const BAD: { text: string; line: number; expect: RegExp }[] = [
  { text: 'module m\ngo 1.24.x\n', line: 2, expect: /invalid go version "1.24.x"/ },
  { text: 'module m\ngo\n', line: 2, expect: /expected "go 1.N"/ },
  { text: 'module m\ngo 1.24\ngo 1.23\n', line: 3, expect: /repeated go directive/ },
  { text: 'module m\ngo 1.24\ntoolchain 1.24.1\n', line: 3, expect: /invalid toolchain/ },
  { text: 'module m\ngo 2.0\n', line: 2, expect: /invalid go version/ },
  { text: 'module m\ngo 1.24; rm -rf /\n', line: 2, expect: /expected "go 1.N"/ },
  // Leading zeros: Go's parser refuses them; read as 1.24 they named a release Go never had.
  { text: 'module m\ngo 1.024\n', line: 2, expect: /invalid go version "1.024"/ },
  { text: 'module m\ngo 01.24\n', line: 2, expect: /invalid go version "01.24"/ },
  { text: 'module m\ngo 1.24.01\n', line: 2, expect: /invalid go version "1.24.01"/ },
  { text: 'module m\ngo 1.25rc01\n', line: 2, expect: /invalid go version "1.25rc01"/ },
  { text: 'module m\ngo 1.24\ntoolchain go1.24.03\n', line: 3, expect: /invalid toolchain/ },
  { text: 'module m\ngo 1.24.999999999999\n', line: 2, expect: /invalid go version/ },
  { text: 'module m\ngo 1.24rc\n', line: 2, expect: /invalid go version "1.24rc"/ },
  { text: 'module m\ngo \uff11.24\n', line: 2, expect: /invalid go version/ },
];
for (const b of BAD) {
  test(`go.mod malformed: ${JSON.stringify(b.text)} fails with file and line`, () => {
    assert.throws(
      () => parseGoDirectives(b.text, 'svc/go.mod'),
      (e: Error) => e.message.startsWith(`svc/go.mod:${b.line}:`) && b.expect.test(e.message),
    );
  });
}

test('no go directive names the file and the fix', () => {
  assert.throws(
    () => goRequirement(parseGoDirectives('module m\n', 'go.mod'), 'go.mod', {}),
    /go.mod:1: no go directive/,
  );
});

test('candidates never fall below the minimum and list stable releases newest first', () => {
  const req = goRequirement(parseGoDirectives('go 1.24.1\n', 'go.mod'), 'go.mod', {});
  assert.deepEqual(candidatesNewestFirst(req.minimum, RELEASES).map(formatGoVersion), [
    '1.24.5',
    '1.24.4',
    '1.24.1',
  ]);
});

test('semver ranges from the go-version input', () => {
  assert.equal(formatGoVersion(newestInRange('~1.23', RELEASES)!), '1.23.11');
  assert.equal(formatGoVersion(newestInRange('>=1.22 <1.24', RELEASES)!), '1.23.11');
  assert.equal(newestInRange('>=1.30', RELEASES), undefined);
});
