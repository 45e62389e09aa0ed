// BuildKit's variable substitution and ARG scoping, for FROM lines and RUN --mount values.
import { FileFormatError } from '../errors.ts';
import type { Dockerfile, Instruction, Stage } from './parse.ts';

/**
 * The longest value a substitution may produce. ARGs whose defaults repeat each other
 * (`ARG B=$A$A`, `ARG C=$B$B`, ...) double at each line: unbounded, 30 lines exhaust the memory.
 */
export const MAX_EXPANDED = 4 * 1024 * 1024;

export class ExpansionTooLongError extends Error {
  constructor() {
    super(
      `a variable substitution gives more than ${MAX_EXPANDED} characters (ARG or ENV values that repeat each other): shorten the values`,
    );
    this.name = 'ExpansionTooLongError';
  }
}

/**
 * Expands $VAR, ${VAR}, ${VAR:-word}, ${VAR-word}, ${VAR:+word}, ${VAR+word}; unknown -> "".
 * Throws ExpansionTooLongError past MAX_EXPANDED characters.
 */
export function expandWord(text: string, vars: ReadonlyMap<string, string>, escape = '\\'): string {
  const out = expandUnbounded(text, vars, escape);
  if (out.length > MAX_EXPANDED) throw new ExpansionTooLongError();
  return out;
}

function expandUnbounded(text: string, vars: ReadonlyMap<string, string>, escape: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    if (out.length > MAX_EXPANDED) return out;
    const c = text[i]!;
    if (c === escape && text[i + 1] === '$') {
      out += '$';
      i++;
      continue;
    }
    if (c !== '$') {
      out += c;
      continue;
    }
    if (text[i + 1] === '{') {
      const close = text.indexOf('}', i + 2);
      if (close < 0) {
        out += text.slice(i);
        break;
      }
      const body = text.slice(i + 2, close);
      i = close;
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+])(.*))?$/s.exec(body);
      if (!m) continue;
      const [, name, op, word = ''] = m;
      const has = vars.has(name!);
      const value = vars.get(name!) ?? '';
      if (op === ':-') out += value !== '' ? value : expandWord(word, vars, escape);
      else if (op === '-') out += has ? value : expandWord(word, vars, escape);
      else if (op === ':+') out += value !== '' ? expandWord(word, vars, escape) : '';
      else if (op === '+') out += has ? expandWord(word, vars, escape) : '';
      else out += value;
      continue;
    }
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i + 1));
    if (!m) {
      out += c;
      continue;
    }
    out += vars.get(m[0]) ?? '';
    i += m[0].length;
  }
  return out;
}

/** expandWord for a value of `ins`: a substitution that grows too long is told with the line. */
export function expandAt(
  df: Dockerfile,
  ins: Instruction,
  text: string,
  vars: ReadonlyMap<string, string>,
): string {
  try {
    return expandWord(text, vars, df.escape);
  } catch (e) {
    if (e instanceof ExpansionTooLongError) throw new FileFormatError(df.file, ins.line, e.message);
    throw e;
  }
}

/** `ARG a=1 b` -> [{name:'a', default:'1'}, {name:'b'}]. Quoted defaults lose their quotes. */
export function parseArgInstruction(ins: Instruction): { name: string; default?: string }[] {
  const out: { name: string; default?: string }[] = [];
  const re = /([A-Za-z_][A-Za-z0-9_]*)(?:=("(?:[^"\\]|\\.)*"|'[^']*'|\S*))?/g;
  for (const m of ins.args.matchAll(re)) {
    let def = m[2];
    if (def && /^(".*"|'.*')$/s.test(def)) def = def.slice(1, -1);
    out.push(def === undefined ? { name: m[1]! } : { name: m[1]!, default: def });
  }
  return out;
}

/** Values of the global ARGs (before the first FROM), build-args overriding defaults. */
export function globalArgScope(
  df: Dockerfile,
  buildArgs: ReadonlyMap<string, string>,
): Map<string, string> {
  const vars = new Map<string, string>();
  for (const ins of df.globalArgs) {
    for (const a of parseArgInstruction(ins)) {
      const v =
        buildArgs.get(a.name) ??
        (a.default !== undefined ? expandAt(df, ins, a.default, vars) : undefined);
      if (v !== undefined) vars.set(a.name, v);
    }
  }
  return vars;
}

/** The stage's FROM image with global ARGs and build-args substituted. */
export function resolveFromImage(
  df: Dockerfile,
  stage: Stage,
  buildArgs: ReadonlyMap<string, string>,
): string {
  return expandAt(df, stage.from, stage.image, globalArgScope(df, buildArgs));
}

/**
 * Variables visible to `upTo` inside `stage`: ARGs declared in the stage (global defaults only when
 * redeclared), build-args overriding defaults, ENV values, and the predefined platform ARGs.
 */
export function stageScope(
  df: Dockerfile,
  stage: Stage,
  upTo: Instruction,
  buildArgs: ReadonlyMap<string, string>,
  predefined: ReadonlyMap<string, string> = new Map(),
): Map<string, string> {
  const globals = globalArgScope(df, buildArgs);
  const vars = new Map<string, string>();
  for (const ins of stage.instructions) {
    if (ins === upTo) break;
    if (ins.keyword === 'ARG') {
      for (const a of parseArgInstruction(ins)) {
        const v =
          buildArgs.get(a.name) ??
          predefined.get(a.name) ??
          (a.default !== undefined ? expandAt(df, ins, a.default, vars) : globals.get(a.name));
        if (v !== undefined) vars.set(a.name, v);
      }
    } else if (ins.keyword === 'ENV') {
      const re = /([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g;
      for (const m of ins.args.matchAll(re)) {
        let v = m[2]!;
        if (v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
        vars.set(m[1]!, expandAt(df, ins, v, vars));
      }
    }
  }
  return vars;
}
