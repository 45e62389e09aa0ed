// BuildKit's variable substitution and ARG scoping, for FROM lines and RUN --mount values.
import type { Dockerfile, Instruction, Stage } from './parse.ts';

/** Expands $VAR, ${VAR}, ${VAR:-word}, ${VAR-word}, ${VAR:+word}, ${VAR+word}; unknown -> "". */
export function expandWord(text: string, vars: ReadonlyMap<string, string>, escape = '\\'): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
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
        (a.default !== undefined ? expandWord(a.default, vars, df.escape) : undefined);
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
  return expandWord(stage.image, globalArgScope(df, buildArgs), df.escape);
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
          (a.default !== undefined ? expandWord(a.default, vars, df.escape) : globals.get(a.name));
        if (v !== undefined) vars.set(a.name, v);
      }
    } else if (ins.keyword === 'ENV') {
      const re = /([A-Za-z_][A-Za-z0-9_]*)=("(?:[^"\\]|\\.)*"|\S*)/g;
      for (const m of ins.args.matchAll(re)) {
        let v = m[2]!;
        if (v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
        vars.set(m[1]!, expandWord(v, vars, df.escape));
      }
    }
  }
  return vars;
}
