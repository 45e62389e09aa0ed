// Builds the Go size analysis fixtures (__tests__/fixtures/go-size/) inside the engine with the
// registry's golang image: the program in __tests__/fixtures/go-size/src for amd64 (64-bit little
// endian), arm64 (64-bit, 4-byte instructions) and mips (32-bit big endian), each with -s -w
// (brotli-compressed, what the analysis reads) and the text symbols `go tool nm -size` reports on an
// unstripped build of the same source, with `go version -m` of the stripped one: the unit tests
// compare the analysis with both. Needs the engine (bash scripts/build-engine.sh up).
// Run: npm run fixtures:go-size
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';
import { readEngineEnv } from '../__tests__/helpers/engine.ts';
import { goBuild, goImage, goRun, goToolNmText } from '../__tests__/helpers/go-build.ts';

const env = readEngineEnv();
const go = goImage({ baseRegistry: env['BGI_BASE_REGISTRY']!, goVersion: env['BGI_GO_VERSION']! });
const fixtures = path.join(import.meta.dirname, '..', '__tests__', 'fixtures', 'go-size');
const dirs = {
  source: path.join(fixtures, 'src'),
  out: mkdtempSync(path.join(tmpdir(), 'bgi-go-size-')),
};
try {
  for (const goarch of ['amd64', 'arm64', 'mips']) {
    await goBuild(go, dirs, { pkg: '.', output: `${goarch}-stripped`, stripped: true, goarch });
    await goBuild(go, dirs, { pkg: '.', output: goarch, stripped: false, goarch });
    const nm = await goToolNmText(go, dirs, goarch);
    const version = await goRun(go, dirs, ['version', '-m', `/out/${goarch}-stripped`]);
    const dir = path.join(fixtures, goarch);
    mkdirSync(dir, { recursive: true });
    const binary = readFileSync(path.join(dirs.out, `${goarch}-stripped`));
    writeFileSync(
      path.join(dir, 'fixture.br'),
      brotliCompressSync(binary, {
        params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_LGWIN]: 24 },
      }),
    );
    writeFileSync(
      path.join(dir, 'nm-text.json.gz'),
      gzipSync(JSON.stringify(nm.map((s) => [s.address, s.size, s.name]))),
    );
    writeFileSync(
      path.join(dir, 'version-m.txt'),
      version.replaceAll(`/out/${goarch}-stripped`, 'fixture'),
    );
    console.log(`${goarch}: ${binary.length} bytes, ${nm.length} text symbols`);
  }
} finally {
  rmSync(dirs.out, { recursive: true, force: true });
}
