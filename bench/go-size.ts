// Benchmark: the Go size analysis of a real executable (build info, function table, attribution)
// next to what reading the executable costs the size step anyway: reading its bytes, and gunzip of
// them (a layer is read as a gzip stream). Executables: the reference service built -s -w for amd64
// and arm64 inside the engine, or the files given as arguments (no engine needed then).
// Run: npm run bench:go-size [-- file...]
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { readEngineEnv } from '../__tests__/helpers/engine.ts';
import { goBuild, goImage } from '../__tests__/helpers/go-build.ts';
import { analyseGoExecutable } from '../src/sizereport/go/analyse.ts';
import type { GoExecutableSizes } from '../src/sizereport/go/types.ts';
import { median } from './timing.ts';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 10);

function ms(fn: () => unknown): number {
  const t = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t) / 1e6;
}

async function referenceExecutables(work: string): Promise<string[]> {
  const env = readEngineEnv();
  const go = goImage({
    baseRegistry: env['BGI_BASE_REGISTRY']!,
    goVersion: env['BGI_GO_VERSION']!,
  });
  const dirs = {
    source: path.join(import.meta.dirname, '..', 'examples', 'go-service'),
    out: work,
  };
  const files: string[] = [];
  for (const goarch of ['amd64', 'arm64']) {
    await goBuild(go, dirs, {
      pkg: './cmd/server',
      output: `server-${goarch}`,
      stripped: true,
      goarch,
    });
    files.push(path.join(work, `server-${goarch}`));
  }
  return files;
}

const work = mkdtempSync(path.join(tmpdir(), 'bgi-bench-go-size-'));
try {
  const files = process.argv.length > 2 ? process.argv.slice(2) : await referenceExecutables(work);
  console.log(
    `Go size analysis, ${ROUNDS} rounds per executable, milliseconds (first call, then median)`,
  );
  for (const file of files) {
    const gz = gzipSync(readFileSync(file));
    const read: number[] = [];
    const unzip: number[] = [];
    const analyse: number[] = [];
    let result: GoExecutableSizes | undefined;
    for (let r = 0; r < ROUNDS; r++) {
      let bytes: Buffer | undefined;
      read.push(ms(() => (bytes = readFileSync(file))));
      unzip.push(ms(() => gunzipSync(gz)));
      analyse.push(ms(() => (result = analyseGoExecutable(bytes!, file))));
    }
    if (!result) throw new Error(`${file} is not a Go executable`);
    const { attributed, packages, modules, goVersion } = result;
    const a = median(analyse);
    console.log(
      `${path.basename(file)}: ${statSync(file).size} bytes, ${goVersion}, attributed ${attributed}, ` +
        `${packages.length} packages, ${modules.length} module rows`,
    );
    console.log(
      `  read the file             ${read[0]!.toFixed(1).padStart(7)}  ${median(read).toFixed(1).padStart(7)}`,
    );
    console.log(
      `  gunzip its gzip (a layer) ${unzip[0]!.toFixed(1).padStart(7)}  ${median(unzip).toFixed(1).padStart(7)}`,
    );
    console.log(
      `  analyse                   ${analyse[0]!.toFixed(1).padStart(7)}  ${a.toFixed(1).padStart(7)}`,
    );
    console.log(
      `  ratio analyse / read ${(a / median(read)).toFixed(2)}, analyse / gunzip ${(a / median(unzip)).toFixed(2)}; ` +
        `first call / gunzip ${(analyse[0]! / median(unzip)).toFixed(2)}`,
    );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
