// Go commands run inside the engine with the registry's golang image, for tests and fixture
// captures that need real Go executables (and `go tool nm`, `go version -m` on them). Pure-Go builds
// (CGO_ENABLED=0) with no module proxy: dependencies come from `replace` directives or a vendor tree.
import { execFile } from '../../src/io/exec.ts';

export interface GoImage {
  /** e.g. localhost:5000/library/golang:1.24.4 */
  image: string;
}

export function goImage(engine: { baseRegistry: string; goVersion: string }): GoImage {
  return { image: `${engine.baseRegistry}/golang:${engine.goVersion}` };
}

export interface GoDirs {
  source: string;
  out: string;
  /** A GOCACHE kept between runs, so a second build of the same packages does not compile them again. */
  cache?: string;
}

/** Runs the go command in a throwaway container with `source` at /src and `out` at /out; returns stdout. */
export async function goRun(
  go: GoImage,
  dirs: GoDirs,
  args: string[],
  env: Record<string, string> = {},
): Promise<string> {
  const envArgs = Object.entries({
    CGO_ENABLED: '0',
    GOTOOLCHAIN: 'local',
    GOPROXY: 'off',
    GOFLAGS: '-trimpath',
    ...env,
  }).flatMap(([k, v]) => ['--env', `${k}=${v}`]);
  const r = await execFile('docker', [
    ...['run', '--rm', '--network', 'none', ...envArgs],
    ...['--volume', `${dirs.source}:/src`, '--volume', `${dirs.out}:/out`, '--workdir', '/src'],
    ...(dirs.cache ? ['--volume', `${dirs.cache}:/gocache`, '--env', 'GOCACHE=/gocache'] : []),
    ...[go.image, 'go', ...args],
  ]);
  return r.stdout;
}

/** `go build` of a package into /out/<output>; `stripped` adds -ldflags=-s -w. */
export function goBuild(
  go: GoImage,
  dirs: GoDirs,
  opts: { pkg: string; output: string; stripped: boolean; goarch?: string },
): Promise<string> {
  return goRun(
    go,
    dirs,
    ['build', ...(opts.stripped ? ['-ldflags=-s -w'] : []), '-o', `/out/${opts.output}`, opts.pkg],
    opts.goarch ? { GOARCH: opts.goarch } : {},
  );
}

/** One text symbol of `go tool nm -size`. */
export interface NmSymbol {
  address: number;
  size: number;
  name: string;
}

/** `go tool nm -size` of /out/<file>: its text (code) symbols. */
export async function goToolNmText(go: GoImage, dirs: GoDirs, file: string): Promise<NmSymbol[]> {
  return parseNmText(await goRun(go, dirs, ['tool', 'nm', '-size', `/out/${file}`]));
}

/** Text symbols (T/t) of `go tool nm -size` output: "address size type name". */
export function parseNmText(output: string): NmSymbol[] {
  const out: NmSymbol[] = [];
  for (const m of output.matchAll(/^\s*([0-9a-f]+)\s+(\d+) [Tt] (.+)$/gm))
    out.push({ address: parseInt(m[1]!, 16), size: Number(m[2]), name: m[3]! });
  return out;
}
