// Files named by inputs (go-version-file, file, context, ca-bundle, report-file, secret-files) are
// read through one function: every way a path can be wrong is told with the input and the file,
// never as a bare EISDIR or ENOENT.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { resolveGoVersion } from '../../src/go/index.ts';
import { combineCaBundle } from '../../src/go/private.ts';
import { checkInputDirectory, readInputFile } from '../../src/io/files.ts';
import { postReportFile } from '../../src/sizereport/step.ts';
import { ROOT, runAction } from '../helpers/run-action.ts';

const dir = mkdtempSync(path.join(tmpdir(), 'bgi-files-'));
const p = (...parts: string[]) => path.join(dir, ...parts);
mkdirSync(p('a-directory'));
writeFileSync(p('plain'), 'go 1.24.1\n');
writeFileSync(p('big'), 'x'.repeat(2048));
symlinkSync(p('loop-b'), p('loop-a'));
symlinkSync(p('loop-a'), p('loop-b'));
const fifo = spawnSync('mkfifo', [p('fifo')]).status === 0;
writeFileSync(p('locked'), 'secret');
chmodSync(p('locked'), 0o000);
const root = process.getuid?.() === 0;

// path -> what the message must say (after the input and the path).
const CASES: { name: string; file: string; says: RegExp; skip?: boolean }[] = [
  { name: 'missing', file: p('nope'), says: /does not exist/ },
  { name: 'a directory', file: p('a-directory'), says: /is a directory/ },
  { name: 'under a file', file: p('plain', 'go.mod'), says: /a part of the path is a file/ },
  { name: 'a symlink loop', file: p('loop-a'), says: /loop of symbolic links/ },
  { name: 'a FIFO (would block a read)', file: p('fifo'), says: /not a regular file/, skip: !fifo },
  { name: 'unreadable', file: p('locked'), says: /permission denied/, skip: root },
  { name: 'too large', file: p('big'), says: /2048 bytes, more than the 1024/ },
];

for (const c of CASES)
  test(`readInputFile: ${c.name}`, { skip: c.skip }, () => {
    assert.throws(
      () =>
        readInputFile('go-version-file', c.file, {
          maxBytes: 1024,
          what: 'go.mod',
          fix: 'give go.mod',
        }),
      (e: Error) =>
        e.name === 'InputError' &&
        e.message.startsWith('input "go-version-file": ') &&
        e.message.includes(c.file) &&
        c.says.test(e.message) &&
        !/\bE[A-Z]{3,}\b/.test(e.message),
    );
  });

test('readInputFile reads a plain file', () => {
  assert.equal(
    readInputFile('x', p('plain'), { maxBytes: 100, what: 'f', fix: 'f' }),
    'go 1.24.1\n',
  );
  assert.throws(
    () => checkInputDirectory('context', p('plain'), 'give a directory'),
    /input "context": .* is not a directory/,
  );
});

test('go-version-file: a directory or an auto-found go.mod that is a directory names input and file', async () => {
  const sources = { releaseSource: '', goProxy: 'off' };
  await assert.rejects(
    resolveGoVersion({ context: dir, goVersionFile: p('a-directory'), sources, env: {} }),
    /^InputError: input "go-version-file": .*a-directory is a directory: give the path of go.mod/,
  );
  const ctx = mkdtempSync(path.join(tmpdir(), 'bgi-ctx-'));
  mkdirSync(path.join(ctx, 'go.mod'));
  await assert.rejects(
    resolveGoVersion({ context: ctx, sources, env: {} }),
    (e: Error) =>
      e.message.startsWith('input "go-version-file"') &&
      e.message.includes(path.join(ctx, 'go.mod')),
  );
});

test('ca-bundle and report-file: the same messages through the same function', async () => {
  assert.throws(
    () => combineCaBundle(p('a-directory'), p('out.pem'), []),
    /^InputError: input "ca-bundle": .*a-directory is a directory: give the path of a PEM file/,
  );
  const host = { env: {}, log: { info() {}, warning() {} } } as never;
  await assert.rejects(
    postReportFile(host, {
      reportFile: p('a-directory'),
      githubToken: 't',
      pullRequest: 1,
    } as never),
    /input "report-file": .*a-directory is a directory/,
  );
  await assert.rejects(
    postReportFile(host, { reportFile: p('nope.md'), githubToken: 't', pullRequest: 1 } as never),
    /input "report-file": .*nope\.md does not exist/,
  );
});

const STOPS: { inputs: Record<string, string>; says: RegExp }[] = [
  {
    inputs: { context: 'examples/go-service', file: 'examples/go-service' },
    says: /input "file": .* is a directory/,
  },
  {
    inputs: { context: 'examples/go-service/Dockerfile' },
    says: /input "context": .* is not a directory/,
  },
  {
    inputs: { context: 'examples/go-service', 'secret-files': 'npmrc=/nonexistent/.npmrc' },
    says: /input "secret-files": \/nonexistent\/\.npmrc does not exist/,
  },
];
for (const c of STOPS)
  test(`the action stops before any work: ${c.says.source}`, async () => {
    const res = await runAction({
      entry: path.join(ROOT, 'src', 'index.ts'),
      inputs: c.inputs,
      skipPost: true,
    });
    assert.equal(res.main.exitCode, 1);
    assert.match(res.main.stdout, c.says);
    assert.doesNotMatch(res.main.stdout, /EISDIR|ENOENT|ENOTDIR/);
  });

test('merge: a missing path or a file is told as such, with the input', async () => {
  const { readParts } = await import('../../src/merge/parts.ts');
  assert.throws(
    () => readParts(p('nope-dir')),
    /^InputError: input "merge": .*nope-dir does not exist: download/,
  );
  assert.throws(
    () => readParts(p('plain')),
    /^InputError: input "merge": .*plain is not a directory/,
  );
});
