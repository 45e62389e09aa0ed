// A Dockerfile reader following BuildKit's rules closely enough for analysis: parser directives,
// line continuations with the escape character, comments, flags, exec (JSON) form, heredocs and
// stages.
import { FileFormatError } from '../errors.ts';

export interface Instruction {
  keyword: string;
  flags: { name: string; value: string }[];
  args: string;
  json?: string[];
  /** `RUN <<EOF` / `COPY <<EOF /dst`: the here-documents' text, read as data, never as lines. */
  heredocs?: { name: string; content: string }[];
  line: number;
  /** Last line of the instruction, its here-documents included. */
  endLine: number;
}

export interface Stage {
  index: number;
  name?: string;
  from: Instruction;
  image: string;
  platform?: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  file: string;
  directives: { name: string; value: string; line: number }[];
  escape: string;
  globalArgs: Instruction[];
  stages: Stage[];
  instructions: Instruction[];
}

// BuildKit's `^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`, with the value trimmed afterwards:
// in a backtracking engine `(.+?)\s*$` takes time quadratic in a run of spaces (10 s for 100 kB).
const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=(.*)$/;
/** The instructions BuildKit reads here-documents for. */
const HEREDOC_KEYWORDS = new Set(['RUN', 'COPY', 'ADD']);
const MAX_BYTES = 1024 * 1024;

export function parseDockerfile(text: string, file = 'Dockerfile'): Dockerfile {
  if (text.length > MAX_BYTES) throw new FileFormatError(file, 1, 'Dockerfile larger than 1 MiB');
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const directives: Dockerfile['directives'] = [];
  let escape = '\\';
  let i = 0;
  // Parser directives only at the very top, before any instruction, blank line or other comment.
  for (; i < lines.length; i++) {
    const m = DIRECTIVE.exec(lines[i] ?? '');
    const value = m?.[2]!.trim();
    if (!m || !value) break;
    const name = m[1]!.toLowerCase();
    directives.push({ name, value, line: i + 1 });
    if (name === 'escape') {
      if (value !== '\\' && value !== '`')
        throw new FileFormatError(file, i + 1, `invalid escape character ${value}: use \\ or \``);
      escape = value;
    }
  }
  const instructions: Instruction[] = [];
  let current: { text: string; line: number } | undefined;
  for (let n = 0; n < lines.length; n++) {
    const raw = lines[n]!;
    const trimmed = raw.trim();
    if (current) {
      // Comment and empty lines inside a continuation are skipped, as BuildKit does.
      if (trimmed === '' || trimmed.startsWith('#')) continue;
    } else if (trimmed === '' || trimmed.startsWith('#')) continue;
    const continues = raw.trimEnd().endsWith(escape);
    const part = continues ? raw.trimEnd().slice(0, -1) : raw;
    if (current) current.text += part;
    else current = { text: part, line: n + 1 };
    if (!continues) {
      const ins = parseInstruction(current.text, current.line, n + 1, file);
      instructions.push(ins);
      // The here-documents' lines follow the instruction: text for the command, not instructions.
      if (HEREDOC_KEYWORDS.has(ins.keyword)) n = readHeredocs(ins, current.text, lines, n, file);
      current = undefined;
    }
  }
  if (current) instructions.push(parseInstruction(current.text, current.line, lines.length, file));

  const globalArgs: Instruction[] = [];
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const words = ins.args.split(/\s+/).filter(Boolean);
      if (words.length !== 1 && !(words.length === 3 && words[1]!.toLowerCase() === 'as'))
        throw new FileFormatError(file, ins.line, 'FROM takes an image and optionally "AS name"');
      stages.push({
        index: stages.length,
        name: words[2]?.toLowerCase(),
        from: ins,
        image: words[0]!,
        platform: ins.flags.find((f) => f.name === 'platform')?.value,
        instructions: [],
      });
    } else if (stages.length === 0) {
      if (ins.keyword !== 'ARG')
        throw new FileFormatError(
          file,
          ins.line,
          `${ins.keyword} before the first FROM: only ARG may come first`,
        );
      globalArgs.push(ins);
    } else stages[stages.length - 1]!.instructions.push(ins);
  }
  if (stages.length === 0) throw new FileFormatError(file, lines.length, 'no FROM instruction');
  return { file, directives, escape, globalArgs, stages, instructions };
}

/**
 * Words of a line as BuildKit's heredoc scan splits it: at whitespace outside quotes, quotes and
 * escapes kept as written.
 */
function rawWords(text: string): string[] {
  const words: string[] = [];
  let cur = '';
  let quote: string | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (!quote && /\s/.test(c)) {
      if (cur) words.push(cur);
      cur = '';
      continue;
    }
    cur += c;
    if (c === '\\' && quote !== "'" && i + 1 < text.length) cur += text[++i];
    else if (quote ? c === quote : c === '"' || c === "'") quote = quote ? undefined : c;
  }
  if (cur) words.push(cur);
  return words;
}

/** `<<EOF`, `<<-EOF`, `<<"EOF"`, `3<<'EOF'`: the here-document a word opens, as BuildKit reads it. */
function heredocOf(word: string): { name: string; chomp: boolean } | undefined {
  const m = /^(\d*)<<(-?)([^<]*)$/.exec(word);
  if (!m || !m[3]) return undefined;
  // The terminator is the word without its quotes and escapes.
  const name = m[3].replace(/\\(.)|["']/g, '$1');
  return name ? { name, chomp: m[2] === '-' } : undefined;
}

/**
 * Reads the here-documents `text` (the instruction's whole line) opens from the lines after
 * `last`, in order, each up to its terminator line; returns the last line they take.
 */
function readHeredocs(
  ins: Instruction,
  text: string,
  lines: string[],
  last: number,
  file: string,
): number {
  let n = last;
  for (const word of rawWords(text)) {
    const doc = heredocOf(word);
    if (!doc) continue;
    const content: string[] = [];
    for (;;) {
      n++;
      if (n >= lines.length)
        throw new FileFormatError(
          file,
          ins.line,
          `the here-document <<${doc.name} is never closed: end it with a line "${doc.name}"`,
        );
      const raw = lines[n]!;
      if ((doc.chomp ? raw.replace(/^\t+/, '') : raw) === doc.name) break;
      content.push(raw);
    }
    (ins.heredocs ??= []).push({ name: doc.name, content: content.join('\n') });
    ins.endLine = n + 1;
  }
  return n;
}

function parseInstruction(text: string, line: number, endLine: number, file: string): Instruction {
  const m = /^\s*([A-Za-z]+)(\s+|$)(.*)$/s.exec(text);
  if (!m)
    throw new FileFormatError(
      file,
      line,
      `expected an instruction, found "${text.trim().slice(0, 40)}"`,
    );
  const keyword = m[1]!.toUpperCase();
  let rest = m[3]!.trim();
  const flags: Instruction['flags'] = [];
  // Flags come first: --name=value or --name (boolean); values may be quoted.
  for (;;) {
    const f = /^--([a-z][a-z0-9-]*)(?:=("(?:[^"\\]|\\.)*"|\S*))?(\s+|$)/.exec(rest);
    if (!f) break;
    let value = f[2] ?? 'true';
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    flags.push({ name: f[1]!, value });
    rest = rest.slice(f[0].length);
  }
  const ins: Instruction = { keyword, flags, args: rest, line, endLine };
  if (rest.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(rest);
      if (Array.isArray(parsed) && parsed.every((x) => typeof x === 'string')) ins.json = parsed;
    } catch {
      /* not exec form: BuildKit treats it as shell form */
    }
  }
  return ins;
}
