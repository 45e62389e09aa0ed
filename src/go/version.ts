// Go version strings: go1.24, go1.24.3, go1.25rc1 (Go's own forms) and their semver equivalents.
import semver from 'semver';
import { InputError } from '../errors.ts';

// Numbers without a leading zero, as Go's own parser (internal/gover) takes them: `go 1.024` and
// `go1.24.01` are not Go versions (the go command refuses such a go.mod) and are not read as 1.24.
const NUMBER = (digits: number) => `(0|[1-9]\\d{0,${digits - 1}})`;
const GO_VERSION = new RegExp(
  `^(?:go)?${NUMBER(3)}\\.${NUMBER(3)}(?:\\.${NUMBER(4)})?(?:(rc|beta)${NUMBER(3)})?$`,
);

export interface GoVersion {
  major: number;
  minor: number;
  patch?: number;
  pre?: { kind: 'rc' | 'beta'; n: number };
}

/** Strict parse of a Go release string; undefined for anything else (hostile input included). */
export function parseGoVersion(text: string): GoVersion | undefined {
  if (text.length > 32) return undefined;
  const m = GO_VERSION.exec(text);
  if (!m) return undefined;
  const v: GoVersion = { major: Number(m[1]), minor: Number(m[2]) };
  if (m[3] !== undefined) v.patch = Number(m[3]);
  if (m[4]) v.pre = { kind: m[4] as 'rc' | 'beta', n: Number(m[5]) };
  if (v.pre && v.patch !== undefined) return undefined; // Go never has 1.24.1rc1
  return v;
}

/** 1.24 -> 1.24.0, 1.25rc1 -> 1.25.0-rc.1: ordering that matches Go's. */
export function toSemver(v: GoVersion): string {
  const base = `${v.major}.${v.minor}.${v.patch ?? 0}`;
  return v.pre ? `${base}-${v.pre.kind}.${v.pre.n}` : base;
}

/** Back to Go's spelling without the "go" prefix: 1.24.3, 1.25rc1. */
export function formatGoVersion(v: GoVersion): string {
  if (v.pre) return `${v.major}.${v.minor}${v.pre.kind}${v.pre.n}`;
  return v.patch === undefined ? `${v.major}.${v.minor}` : `${v.major}.${v.minor}.${v.patch}`;
}

export function compareGo(a: GoVersion, b: GoVersion): number {
  return semver.compare(toSemver(a), toSemver(b));
}

export function sameMinor(a: GoVersion, b: GoVersion): boolean {
  return a.major === b.major && a.minor === b.minor;
}

/**
 * The go-version input: a Go version in Go's own spelling (go1.24, 1.24.3, 1.25rc1), read by the
 * parser go.mod's lines go through, else a semver range (~1.24, >=1.23 <1.25).
 */
export function parseGoVersionInput(
  value: string,
  input = 'go-version',
): { version: GoVersion } | { range: string } {
  const text = value.trim();
  const version = parseGoVersion(text);
  if (version) return { version };
  if (text.length <= 100 && /^[0-9A-Za-z.~^<>=|*xX +-]+$/.test(text) && semver.validRange(text))
    return { range: text };
  throw new InputError(
    input,
    `${JSON.stringify(text.slice(0, 100))} is not a Go version (1.24, 1.24.3, go1.25rc1) or a semver range (~1.24)`,
  );
}
