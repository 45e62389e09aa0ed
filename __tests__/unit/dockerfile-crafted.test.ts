// Crafted Dockerfiles: here-documents are text for their instruction, never instructions of their
// own (a valid Dockerfile is not refused, and no stage or cache mount is read out of a heredoc);
// parser directives and variable substitution take bounded time and memory on hostile lines.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { discoverCacheMounts } from '../../src/cachemounts/discover.ts';
import { MAX_EXPANDED, resolveFromImage, stageScope } from '../../src/dockerfile/args.ts';
import { parseDockerfile } from '../../src/dockerfile/parse.ts';

const keywords = (text: string) =>
  parseDockerfile(text).stages.map((s) => [s.image, ...s.instructions.map((i) => i.keyword)]);

test("here-documents: their lines are the instruction's text, whatever they hold", () => {
  const cases: { dockerfile: string; stages: string[][]; heredocs: string[][] }[] = [
    {
      // Lines that are no instruction at all: refused as "expected an instruction" before.
      dockerfile: 'FROM golang:1.24\nRUN <<EOF\n./configure\n{"a": 1}\nmake\nEOF\nRUN go build\n',
      stages: [['golang:1.24', 'RUN', 'RUN']],
      heredocs: [['./configure\n{"a": 1}\nmake']],
    },
    {
      // Lines that look like instructions: no stage, no RUN read out of the document.
      dockerfile:
        'FROM golang:1.24 AS build\nCOPY <<EOF /inner/Dockerfile\nFROM alpine AS evil\nRUN --mount=type=cache,target=/evil true\nEOF\nRUN go build\n',
      stages: [['golang:1.24', 'COPY', 'RUN']],
      heredocs: [['FROM alpine AS evil\nRUN --mount=type=cache,target=/evil true']],
    },
    {
      // <<- strips the terminator's leading tabs; quoted names; two documents on one line.
      dockerfile:
        'FROM x\nRUN <<-"END" bash\n\techo a\n\tEND\nCOPY <<A /a <<\'B\' /b\naaa\nA\nbbb\nB\nRUN 3<<EOF cat /dev/fd/3\nx\nEOF\n',
      stages: [['x', 'RUN', 'COPY', 'RUN']],
      heredocs: [['\techo a'], ['aaa', 'bbb'], ['x']],
    },
    {
      // CRLF line ends, a continuation before the document, lowercase keyword.
      dockerfile:
        'FROM x\r\nrun --mount=type=cache,target=/c \\\r\n  <<EOF\r\nFROM y\r\nEOF\r\nUSER 1\r\n',
      stages: [['x', 'RUN', 'USER']],
      heredocs: [['FROM y']],
    },
    {
      // Not here-documents: quoted, inside a word, in exec form, an instruction that takes none.
      dockerfile:
        'FROM x\nRUN echo "<<EOF"\nRUN echo a<<b\nRUN ["sh", "-c", "cat <<EOF"]\nENV A=<<EOF\nUSER 1\n',
      stages: [['x', 'RUN', 'RUN', 'RUN', 'ENV', 'USER']],
      heredocs: [],
    },
  ];
  for (const c of cases) {
    assert.deepEqual(keywords(c.dockerfile), c.stages, c.dockerfile);
    const docs = parseDockerfile(c.dockerfile)
      .instructions.filter((i) => i.heredocs)
      .map((i) => i.heredocs!.map((h) => h.content));
    assert.deepEqual(docs, c.heredocs, c.dockerfile);
  }
  const df = parseDockerfile('FROM x\nRUN <<EOF\na\nb\nEOF\nUSER 1\n');
  assert.deepEqual(
    df.instructions.map((i) => [i.keyword, i.line, i.endLine]),
    [
      ['FROM', 1, 1],
      ['RUN', 2, 5],
      ['USER', 6, 6],
    ],
  );
});

test('here-documents: no cache mount is read out of one', () => {
  const df = parseDockerfile(
    'FROM golang:1.24\nCOPY <<EOF /x.sh\nRUN --mount=type=cache,target=/evil true\nEOF\nRUN --mount=type=cache,target=/root/.cache/go-build go build\n',
  );
  assert.deepEqual(
    discoverCacheMounts(df, new Map()).map((m) => m.target),
    ['/root/.cache/go-build'],
  );
});

test('here-documents: one never closed is told with its line and the fix', () => {
  for (const text of [
    'FROM x\nRUN <<EOF\necho\n',
    'FROM x\nRUN <<EOF\necho\n EOF\n',
    'FROM x\nRUN <<EOF\necho\nEOF \n',
    'FROM x\nCOPY <<A <<B /\na\nA\n',
  ])
    assert.throws(
      () => parseDockerfile(text),
      /Dockerfile:2: the here-document <<(EOF|B) is never closed: end it with a line/,
      JSON.stringify(text),
    );
});

test('parser directives: a long run of spaces takes linear time; values are trimmed', () => {
  for (const pad of [' '.repeat(300_000), '\t'.repeat(300_000)]) {
    const started = Date.now();
    const df = parseDockerfile(`# syntax=${pad}docker/dockerfile:1${pad}x\nFROM x\n`);
    assert.ok(Date.now() - started < 1000, `${Date.now() - started} ms`);
    assert.equal(df.directives.length, 1);
  }
  const df = parseDockerfile('# syntax = docker/dockerfile:1  \n#escape=`\nFROM x\nRUN a `\n  b\n');
  assert.deepEqual(
    df.directives.map((d) => [d.name, d.value]),
    [
      ['syntax', 'docker/dockerfile:1'],
      ['escape', '`'],
    ],
  );
  assert.equal(df.stages[0]!.instructions[0]!.args, 'a   b');
  // An empty value is no directive: the line is a comment and directives end there.
  assert.equal(parseDockerfile('# syntax=   \n# escape=`\nFROM x\n').directives.length, 0);
});

test('substitution: values that double each other are refused with their line, not run out of memory', () => {
  const doubling = (keyword: 'ARG' | 'ENV', lines: number) =>
    Array.from({ length: lines }, (_, i) => `${keyword} V${i + 1}=\${V${i}}\${V${i}}`).join('\n');
  // Global ARGs, read for the FROM image.
  let df = parseDockerfile(
    `ARG V0=0123456789abcdef\n${doubling('ARG', 60)}\nFROM golang:\${V60}\n`,
  );
  assert.throws(
    () => resolveFromImage(df, df.stages[0]!, new Map()),
    /Dockerfile:\d+: a variable substitution gives more than \d+ characters/,
  );
  // ENV and stage ARGs, read for a cache mount's target.
  for (const keyword of ['ARG', 'ENV'] as const) {
    df = parseDockerfile(
      `FROM x\n${keyword} V0=0123456789abcdef\n${doubling(keyword, 60)}\nRUN --mount=type=cache,target=/c/\${V60} go build\n`,
    );
    assert.throws(
      () => discoverCacheMounts(df, new Map()),
      /Dockerfile:\d+: a variable substitution gives more than/,
      keyword,
    );
  }
  // A large build-arg repeated in one value.
  df = parseDockerfile(`ARG BIG\nFROM x\nARG BIG\nENV A=${'$BIG'.repeat(100)}\nUSER 1\n`);
  const big = new Map([['BIG', 'x'.repeat(100_000)]]);
  const stage = df.stages[0]!;
  assert.throws(
    () => stageScope(df, stage, stage.instructions[2]!, big),
    /Dockerfile:4: a variable substitution/,
  );
  // Below the bound values expand as before.
  df = parseDockerfile(`ARG V0=ab\n${doubling('ARG', 4)}\nFROM golang:\${V4}\n`);
  assert.equal(resolveFromImage(df, df.stages[0]!, new Map()), `golang:${'ab'.repeat(16)}`);
  assert.ok(MAX_EXPANDED >= 1024 * 1024, 'a Dockerfile-sized value still expands');
});
