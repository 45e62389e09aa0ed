// Reads the `go` and `toolchain` lines of go.mod and go.work as the Go command does: comments,
// CRLF, BOM and tabs allowed; anything malformed is reported with file and line.
import { FileFormatError } from '../errors.ts';
import { compareGo, parseGoVersion, type GoVersion } from './version.ts';

export interface GoDirectives {
  go?: GoVersion;
  goLine?: number;
  toolchain?: GoVersion;
  toolchainLine?: number;
}

export function parseGoDirectives(text: string, file: string): GoDirectives {
  const out: GoDirectives = {};
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  let depth = 0;
  lines.forEach((raw, idx) => {
    const line = idx + 1;
    const noComment = raw.replace(/\/\/.*$/, '').trim();
    if (noComment === '') return;
    if (noComment.endsWith('(')) depth++;
    if (noComment === ')') {
      depth = Math.max(0, depth - 1);
      return;
    }
    if (depth > 0 && !noComment.endsWith('(')) return;
    const words = noComment.split(/[ \t]+/);
    if (words[0] === 'go') {
      if (out.go) throw new FileFormatError(file, line, 'repeated go directive');
      if (words.length !== 2)
        throw new FileFormatError(file, line, 'expected "go 1.N" or "go 1.N.P"');
      const v = parseGoVersion(words[1]!);
      if (!v || v.major !== 1)
        throw new FileFormatError(
          file,
          line,
          `invalid go version "${words[1]}": expected 1.N, 1.N.P or 1.NrcR`,
        );
      out.go = v;
      out.goLine = line;
    } else if (words[0] === 'toolchain') {
      if (out.toolchainLine) throw new FileFormatError(file, line, 'repeated toolchain directive');
      if (words.length !== 2)
        throw new FileFormatError(
          file,
          line,
          'expected "toolchain go1.N.P" or "toolchain default"',
        );
      out.toolchainLine = line;
      if (words[1] === 'default') return;
      const name = /^go(\d.*?)(?:-.+)?$/.exec(words[1]!);
      const v = name ? parseGoVersion(name[1]!) : undefined;
      if (!v)
        throw new FileFormatError(
          file,
          line,
          `invalid toolchain "${words[1]}": expected go1.N.P or default`,
        );
      out.toolchain = v;
    }
  });
  return out;
}

export interface GoRequirement {
  /** The lowest version the module accepts (the go line, raised by toolchain and GOTOOLCHAIN). */
  minimum: GoVersion;
  /** True when the file names an exact release (1.24.3), so it can be used when no list answers. */
  exact: boolean;
  why: string;
}

/**
 * What Go the module needs. The toolchain line wins when newer than the go line (and is ignored
 * under GOTOOLCHAIN=local, as the go command does); GOTOOLCHAIN=go1.N.P[+auto|+path] pins a floor.
 */
export function goRequirement(
  d: GoDirectives,
  file: string,
  env: NodeJS.ProcessEnv,
): GoRequirement {
  if (!d.go) throw new FileFormatError(file, 1, 'no go directive: expected a line "go 1.N.P"');
  let minimum = d.go;
  let why = `${file}:${d.goLine} go ${fmt(d.go)}`;
  const gotoolchain = (env['GOTOOLCHAIN'] ?? '').trim();
  if (d.toolchain && gotoolchain !== 'local' && compareGo(d.toolchain, minimum) > 0) {
    minimum = d.toolchain;
    why = `${file}:${d.toolchainLine} toolchain go${fmt(d.toolchain)}`;
  }
  const pinned = /^go(\d[^+]*)(?:\+(?:auto|path))?$/.exec(gotoolchain);
  const pin = pinned ? parseGoVersion(pinned[1]!) : undefined;
  if (pin && compareGo(pin, minimum) > 0) {
    minimum = pin;
    why = `GOTOOLCHAIN=${gotoolchain}`;
  }
  // Before Go 1.21, "go 1.20" named a language version, never a release: any 1.20.x satisfies it.
  const exact = minimum.patch !== undefined || minimum.pre !== undefined;
  return { minimum, exact, why };
}

function fmt(v: GoVersion): string {
  return v.pre
    ? `${v.major}.${v.minor}${v.pre.kind}${v.pre.n}`
    : `${v.major}.${v.minor}${v.patch !== undefined ? `.${v.patch}` : ''}`;
}
