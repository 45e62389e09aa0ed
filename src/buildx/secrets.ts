// The `secrets` input, read by one parser for both of its uses: the values masked in the log and
// the values handed to the build. Two parsers once disagreed on a value with a comma, so the mask
// covered one string and the build got another.
//
// Grammar (docker/build-push-action's): CSV records, one `id=value` secret per record. A field that
// starts with `"` is quoted: it may hold commas and newlines, and `""` inside it is one `"`. Commas
// outside quotes are kept (a record is the fields joined again with `,`); a `"` that does not open a
// field is an ordinary character. Whitespace around an unquoted record is dropped; quoted text is
// kept exactly.
import { InputError } from '../errors.ts';
import { checkItemSize } from '../input-grammar.ts';

export interface BuildSecret {
  id: string;
  value: string;
}

/** BuildKit reads `--secret` and `--mount=type=secret` as CSV: an id stays clear of its syntax. */
const SECRET_ID = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

interface SecretRecord {
  /** 1-based line of the input where the record starts. */
  line: number;
  text: string;
}

interface Tokenized {
  records: SecretRecord[];
  /** Why the text is not valid CSV (no secret value in it). */
  problem?: string;
}

function tokenize(input: string): Tokenized {
  const records: SecretRecord[] = [];
  let line = 1;
  let i = 0;
  const n = input.length;
  while (i < n) {
    const start = line;
    const fields: { text: string; quoted: boolean }[] = [];
    let endOfRecord = false;
    // Indentation before a quoted record is not part of it.
    const indent = /^[ \t]+"/.exec(input.slice(i, i + 256));
    if (indent) i += indent[0].length - 1;
    while (!endOfRecord) {
      if (input[i] === '"') {
        // A quoted field: up to the lone quote that closes it.
        let text = '';
        i++;
        for (;;) {
          if (i >= n) return { records, problem: `line ${start}: a quote is never closed` };
          const c = input[i]!;
          if (c === '"' && input[i + 1] === '"') {
            text += '"';
            i += 2;
          } else if (c === '"') {
            i++;
            break;
          } else {
            if (c === '\n') line++;
            text += c;
            i++;
          }
        }
        fields.push({ text, quoted: true });
        const next = input[i];
        if (next === ',') {
          i++;
          if (i >= n) fields.push({ text: '', quoted: false });
        } else if (
          next === undefined ||
          next === '\n' ||
          (next === '\r' && input[i + 1] === '\n')
        ) {
          i += next === '\r' ? 2 : next === '\n' ? 1 : 0;
          if (next !== undefined) line++;
          endOfRecord = true;
        } else
          return {
            records,
            problem: `line ${line}: a closing quote must be followed by a comma or the end of the line`,
          };
      } else {
        let text = '';
        while (i < n && input[i] !== ',' && input[i] !== '\n') text += input[i++];
        if (input[i] === ',') {
          i++;
          fields.push({ text, quoted: false });
          // A comma at the very end of the input leaves one more (empty) field.
          if (i >= n) {
            fields.push({ text: '', quoted: false });
            endOfRecord = true;
          }
        } else {
          fields.push({ text: text.replace(/\r$/, ''), quoted: false });
          if (input[i] === '\n') {
            i++;
            line++;
          }
          endOfRecord = true;
        }
      }
      if (i >= n) endOfRecord = true;
    }
    const first = fields[0]!;
    const last = fields[fields.length - 1]!;
    if (!first.quoted) first.text = first.text.trimStart();
    if (!last.quoted) last.text = last.text.trimEnd();
    const text = fields.map((f) => f.text).join(',');
    if (fields.some((f) => f.quoted) || text !== '') records.push({ line: start, text });
  }
  return { records };
}

/**
 * The secrets of the `secrets` input. Errors name the line and the id, never a value: the value
 * may be a secret that is masked only as a whole.
 */
export function parseSecrets(input: string): BuildSecret[] {
  const { records, problem } = tokenize(input);
  if (problem) throw new InputError('secrets', `${problem}; see the quoting rules in the README`);
  const out: BuildSecret[] = [];
  const seen = new Set<string>();
  for (const r of records) {
    const eq = r.text.indexOf('=');
    if (eq < 0)
      throw new InputError(
        'secrets',
        `line ${r.line} is not id=value: write one secret per line, and quote a value that spans lines ("id=line 1\\nline 2")`,
      );
    const id = r.text.slice(0, eq).trim();
    const value = r.text.slice(eq + 1);
    if (!SECRET_ID.test(id))
      throw new InputError(
        'secrets',
        `line ${r.line}: the secret id ${JSON.stringify(id.slice(0, 64))} is not an id: use letters, digits, _ . - (starting with a letter, digit or _)`,
      );
    if (seen.has(id)) throw new InputError('secrets', `the secret id "${id}" is given twice`);
    seen.add(id);
    if (value === '')
      throw new InputError(
        'secrets',
        `the secret "${id}" has an empty value: a \${{ secrets.NAME }} that is not set (or not passed to forks) expands to nothing`,
      );
    // Never shown: the message names the id only.
    checkItemSize(value, 'secrets', `the secret "${id}"`);
    out.push({ id, value });
  }
  return out;
}

/**
 * What to mask for the `secrets` input: every value as the build gets it, and each of its lines
 * (the log is masked line by line, so a multi-line value is masked only through its lines). Never
 * throws: masking runs before validation. Text the parser cannot read is masked line by line.
 */
export function secretValuesToMask(input: string): string[] {
  const out = new Set<string>();
  const add = (v: string) => {
    if (v === '') return;
    out.add(v);
    for (const l of v.split(/\r?\n/)) if (l.trim()) out.add(l.trim());
  };
  const { records, problem } = tokenize(input);
  for (const r of records) {
    const eq = r.text.indexOf('=');
    // A record without `=` is most likely a further line of an unquoted multi-line value.
    add(eq < 0 ? r.text : r.text.slice(eq + 1));
  }
  if (problem)
    for (const l of input.split(/\r?\n/)) {
      const eq = l.indexOf('=');
      add(eq < 0 ? l : l.slice(eq + 1));
      add(l.replace(/^\s*"/, '').replace(/"\s*$/, ''));
    }
  return [...out];
}
