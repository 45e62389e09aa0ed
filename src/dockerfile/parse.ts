// A Dockerfile reader following BuildKit's rules closely enough for analysis: parser directives,
// line continuations with the escape character, comments, flags, exec (JSON) form and stages.
import { FileFormatError } from '../errors.ts';

export interface Instruction {
  keyword: string;
  flags: { name: string; value: string }[];
  args: string;
  json?: string[];
  line: number;
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

const DIRECTIVE = /^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$/;
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
    if (!m) break;
    const name = m[1]!.toLowerCase();
    directives.push({ name, value: m[2]!, line: i + 1 });
    if (name === 'escape') {
      if (m[2] !== '\\' && m[2] !== '`')
        throw new FileFormatError(file, i + 1, `invalid escape character ${m[2]}: use \\ or \``);
      escape = m[2]!;
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
      instructions.push(parseInstruction(current.text, current.line, n + 1, file));
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
