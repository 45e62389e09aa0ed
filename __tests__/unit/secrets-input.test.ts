// The `secrets` input has one parser: what is masked is exactly what the build gets, for every
// value the grammar allows (commas, quotes, equals signs, several lines).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildxArgs, secretEnv } from '../../src/buildx/args.ts';
import { parseSecrets, secretValuesToMask } from '../../src/buildx/secrets.ts';
import { readInputs } from '../../src/inputs.ts';

const plan = { dockerfile: 'Dockerfile', buildArgs: new Map<string, string>(), metadataFile: 'm' };

/** input text -> the secrets the build must get */
const ACCEPTED: [string, [string, string][]][] = [
  ['tok=abc', [['tok', 'abc']]],
  ['tok=a,b,c', [['tok', 'a,b,c']]],
  ['"tok=a,b"', [['tok', 'a,b']]],
  ['"tok=say ""hi"", then go"', [['tok', 'say "hi", then go']]],
  ['tok=a"b"c', [['tok', 'a"b"c']]],
  ['tok="quoted later"', [['tok', '"quoted later"']]],
  ['tok=a=b==', [['tok', 'a=b==']]],
  ['tok==leading', [['tok', '=leading']]],
  [
    '"pem=-----BEGIN KEY-----\nAAAA\n-----END KEY-----"\nnext=x',
    [
      ['pem', '-----BEGIN KEY-----\nAAAA\n-----END KEY-----'],
      ['next', 'x'],
    ],
  ],
  [
    'a=1\r\nb=2\r\n',
    [
      ['a', '1'],
      ['b', '2'],
    ],
  ],
  [
    '\n  a=1  \n\n   \nb=two words\n',
    [
      ['a', '1'],
      ['b', 'two words'],
    ],
  ],
  ['"a=keeps trailing space "', [['a', 'keeps trailing space ']]],
  ['  "indented=x,y"', [['indented', 'x,y']]],
  ['"a=x",more', [['a', 'x,more']]],
  ['a=x,"quoted, part"', [['a', 'x,quoted, part']]],
  ['npm.token_2=v', [['npm.token_2', 'v']]],
];

for (const [text, expected] of ACCEPTED)
  test(`secrets ${JSON.stringify(text)}: parsed, masked and passed as the same values`, () => {
    const parsed = parseSecrets(text);
    assert.deepEqual(
      parsed.map((s) => [s.id, s.value]),
      expected,
    );
    const masks = secretValuesToMask(text);
    const inputs = readInputs((n) => (n === 'secrets' ? text : ''));
    const env = secretEnv(inputs);
    const argv = buildxArgs(inputs, plan).join('\n');
    // argv does not depend on the values at all.
    const blanked = { ...inputs, secrets: inputs.secrets.map((s) => ({ ...s, value: '?' })) };
    assert.equal(buildxArgs(blanked, plan).join('\n'), argv);
    inputs.secrets.forEach((s, i) => {
      // What the build receives is masked as a whole...
      assert.equal(env[`BGI_SECRET_${i}`], s.value);
      assert.ok(masks.includes(s.value), `${JSON.stringify(s.value)} is not masked`);
      // ...and line by line, as the log is masked.
      for (const l of s.value.split('\n')) if (l.trim()) assert.ok(masks.includes(l.trim()));
      assert.ok(argv.includes(`id=${s.id},env=BGI_SECRET_${i}`));
    });
  });

/** input text -> the error, and a value that must not appear in it */
const REFUSED: [string, RegExp, string][] = [
  ['tok=', /the secret "tok" has an empty value/, ''],
  ['"tok="', /the secret "tok" has an empty value/, ''],
  ['a=s3cr3t-1\nb=s3cr3t-2\na=s3cr3t-3', /the secret id "a" is given twice/, 's3cr3t'],
  ['key=BEGIN\nMIIEs3cr3tbody\nEND', /line 2 is not id=value/, 's3cr3t'],
  ['"tok=s3cr3t-unclosed', /line 1: a quote is never closed/, 's3cr3t'],
  ['"tok=s3cr3t"tail', /closing quote must be followed by a comma/, 's3cr3t'],
  ['a,b=s3cr3t', /the secret id "a,b" is not an id/, 's3cr3t'],
  ['-x=s3cr3t', /the secret id "-x" is not an id/, 's3cr3t'],
  ['=s3cr3t', /the secret id "" is not an id/, 's3cr3t'],
  ['my id=s3cr3t', /the secret id "my id" is not an id/, 's3cr3t'],
];

for (const [text, error, value] of REFUSED)
  test(`secrets ${JSON.stringify(text)}: refused without printing a value, yet masked`, () => {
    assert.throws(
      () => parseSecrets(text),
      (e: Error) => {
        assert.match(e.message, /^input "secrets": /);
        assert.match(e.message, error);
        if (value) assert.ok(!e.message.includes(value), e.message);
        return true;
      },
    );
    // Masking runs before validation and never throws: every secret-looking piece is masked.
    const masks = secretValuesToMask(text);
    for (const piece of text.match(/s3cr3t[\w-]*/g) ?? [])
      assert.ok(
        masks.some((m) => m.includes(piece)),
        `${piece} not masked: ${JSON.stringify(masks)}`,
      );
  });

test('masking never throws and never masks an empty string', () => {
  for (const text of ['', '\n\n', '"', '""', ',', '=', '"a=""', 'a=\n=\n"'])
    assert.ok(!secretValuesToMask(text).includes(''));
});
