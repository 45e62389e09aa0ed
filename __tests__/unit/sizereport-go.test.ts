// The Go part of the size report without Docker: executables found in layer tars while they are
// unpacked (whiteouts, replacements, the entrypoint first, the count and memory bounds, reuse of a
// baseline's findings), the report fields read back, the module diff and its markdown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { archive, entry, pax, paxRecord, type RawHeader } from '../helpers/tar-bytes.ts';
import {
  knownLayerSizes,
  measureImage,
  type ImageSizeReport,
} from '../../src/sizereport/measure.ts';
import type { GoAnalyser } from '../../src/sizereport/layer-scan.ts';
import type { GoExecutable } from '../../src/sizereport/executables.ts';
import { entrypointPaths } from '../../src/sizereport/executables.ts';
import { parseReport } from '../../src/sizereport/baseline.ts';
import { diffReports } from '../../src/sizereport/diff.ts';
import { diffModules } from '../../src/sizereport/module-diff.ts';
import { renderMarkdown, renderSizeText } from '../../src/sizereport/render.ts';
import type { GoModuleSize } from '../../src/sizereport/go/types.ts';
import { humanBytes } from '../../src/format.ts';

const file = (name: string, data: string | Buffer = '', extra: Partial<RawHeader> = {}) =>
  entry({ name, ...extra }, data);
const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const ELF = Buffer.from([0x7f, 0x45, 0x4c, 0x46]);

/**
 * A stand-in executable: the ELF magic, then the module rows its analysis returns, padded. The
 * stand-in analyser reads them back, so each test states what an executable holds.
 */
function fakeGo(modules: GoModuleSize[], goVersion = 'go1.24.4', pad = 4096): Buffer {
  const body = Buffer.from(`GO:${JSON.stringify({ goVersion, modules })}\n`);
  return Buffer.concat([ELF, body, Buffer.alloc(Math.max(0, pad - body.length))]);
}
const analysed: string[] = [];
const stubAnalyse: GoAnalyser = (file, f) => {
  analysed.push(f);
  const bytes = Buffer.from(file.bytes(0, file.length, 'the stand-in executable'));
  const at = bytes.indexOf('GO:');
  if (at !== 4) return undefined; // an ELF file that is not a Go program
  const data = JSON.parse(bytes.toString('utf8', 7, bytes.indexOf('\n', at))) as {
    goVersion: string;
    modules: GoModuleSize[];
  };
  return {
    file: f,
    fileBytes: bytes.length,
    goVersion: data.goVersion,
    mainModule: data.modules.find((m) => m.version === '(devel)')?.path ?? '',
    attributed: true,
    modules: data.modules,
    packages: [],
  };
};

const exe = 0o755;
const mods = (extra: GoModuleSize[] = []): GoModuleSize[] => [
  { path: 'std', version: 'go1.24.4', bytes: 900_000 },
  { path: 'example.com/svc', version: '(devel)', bytes: 120_000 },
  { path: 'other', version: '', bytes: 400_000 },
  ...extra,
];

/** An image source over in-memory blobs, recording which blobs were streamed. */
function imageSource(layers: Buffer[], config: object, mediaType = 'tar+gzip') {
  const configBlob = Buffer.from(JSON.stringify(config));
  const blobs = new Map([...layers, configBlob].map((b) => [sha(b), b]));
  const streamed: string[] = [];
  const source = {
    platforms: async () => [
      {
        platform: 'linux/amd64',
        digest: `sha256:${'f'.repeat(64)}`,
        manifest: {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          digest: `sha256:${'f'.repeat(64)}`,
          raw: Buffer.from('{}'),
          body: {
            config: {
              mediaType: 'application/vnd.oci.image.config.v1+json',
              digest: sha(configBlob),
              size: configBlob.length,
            },
            layers: layers.map((b) => ({
              mediaType: `application/vnd.oci.image.layer.v1.${mediaType}`,
              digest: sha(b),
              size: b.length,
            })),
          },
        },
      },
    ],
    blob: async (d: string) => blobs.get(d)!,
    // Chunks of 700 bytes: headers, magic and file data arrive split, as from a real stream.
    streamBlob: async (d: string, sink: (c: Buffer) => void) => {
      streamed.push(d);
      const b = blobs.get(d)!;
      for (let i = 0; i < b.length; i += 700) sink(b.subarray(i, i + 700));
    },
  };
  return { source: source as never, streamed };
}

const history = (n: number) => ({
  history: Array.from({ length: n }, (_, i) => ({ created_by: `RUN step ${i}` })),
});

test('Go executables of an image: whiteouts and replacements respected, the entrypoint first', async () => {
  const base = gzipSync(
    archive(
      file('usr/bin/tool', fakeGo(mods()), { mode: exe }),
      file('usr/bin/gone', fakeGo(mods()), { mode: exe }),
      file('usr/bin/replaced', fakeGo(mods()), { mode: exe }),
      file('opt/old/x', fakeGo(mods()), { mode: exe }),
      file('usr/lib/libc.so', Buffer.concat([ELF, Buffer.alloc(500)]), { mode: 0o644 }),
      file('usr/bin/script', `#!/bin/sh\necho hi\n${'#'.repeat(200)}`, { mode: exe }),
      file('usr/bin/c-program', Buffer.concat([ELF, Buffer.alloc(500)]), { mode: exe }),
    ),
  );
  const dep = { path: 'example.com/dep', version: 'v1.2.0', bytes: 250_000 };
  const longName = `app/${'d'.repeat(120)}/server`;
  const app = gzipSync(
    archive(
      file('usr/bin/.wh.gone'),
      file('opt/old/.wh..wh..opq'),
      file('usr/bin/replaced', '#!/bin/sh\nexec true\n'),
      pax(paxRecord('path', longName)),
      file('ignored-by-pax', fakeGo(mods([dep]), 'go1.24.5'), { mode: exe }),
    ),
  );
  const { source } = imageSource([base, app], {
    ...history(2),
    config: { Entrypoint: [`/${longName}`], Cmd: ['--port', '80'] },
  });
  analysed.length = 0;
  const report = await measureImage(source, 'x', {
    uncompressed: true,
    executables: { analyse: stubAnalyse },
  });
  const go = report!.platforms[0]!.go!;
  assert.equal(go.entrypoint, longName);
  assert.deepEqual(
    go.executables.map((e) => e.file),
    [longName, 'usr/bin/tool'],
  );
  assert.equal(go.executables[0]!.goVersion, 'go1.24.5');
  assert.deepEqual(
    go.executables[0]!.modules.map((m) => m.path),
    ['std', 'other', 'example.com/dep', 'example.com/svc'],
    'largest first',
  );
  assert.equal(go.executables[0]!.layer, sha(app));
  // A library without the exec bit and a script are never read; a C program is read, not listed.
  assert.ok(!analysed.includes('usr/lib/libc.so') && !analysed.includes('usr/bin/script'));
  assert.ok(analysed.includes('usr/bin/c-program'));
  // The unpacked size is still the layers' bytes, counted in the same pass.
  assert.equal(
    report!.platforms[0]!.uncompressed,
    archive(
      file('usr/bin/tool', fakeGo(mods()), { mode: exe }),
      file('usr/bin/gone', fakeGo(mods()), { mode: exe }),
      file('usr/bin/replaced', fakeGo(mods()), { mode: exe }),
      file('opt/old/x', fakeGo(mods()), { mode: exe }),
      file('usr/lib/libc.so', Buffer.concat([ELF, Buffer.alloc(500)]), { mode: 0o644 }),
      file('usr/bin/script', `#!/bin/sh\necho hi\n${'#'.repeat(200)}`, { mode: exe }),
      file('usr/bin/c-program', Buffer.concat([ELF, Buffer.alloc(500)]), { mode: exe }),
    ).length +
      archive(
        file('usr/bin/.wh.gone'),
        file('opt/old/.wh..wh..opq'),
        file('usr/bin/replaced', '#!/bin/sh\nexec true\n'),
        pax(paxRecord('path', longName)),
        file('ignored-by-pax', fakeGo(mods([dep]), 'go1.24.5'), { mode: exe }),
      ).length,
  );
});

test('bounded: at most 8 Go executables analysed per platform besides the entrypoint, and a memory cap', async () => {
  const files = Array.from({ length: 11 }, (_, i) =>
    file(`bin/tool${String(i).padStart(2, '0')}`, fakeGo(mods()), { mode: exe }),
  );
  const layer = gzipSync(
    archive(
      ...files,
      file('bin/huge', fakeGo(mods(), 'go1.24.4', 20_000), { mode: exe }),
      file('app/server', fakeGo(mods()), { mode: exe }),
    ),
  );
  const { source } = imageSource([layer], {
    ...history(1),
    config: { Cmd: ['server'], Env: ['PATH=/usr/bin:/app'] },
  });
  analysed.length = 0;
  const report = await measureImage(source, 'x', {
    uncompressed: true,
    executables: { analyse: stubAnalyse, cap: 10_000 },
  });
  const go = report!.platforms[0]!.go!;
  assert.equal(go.entrypoint, 'app/server', 'found on the PATH, analysed past the budget');
  assert.equal(go.executables[0]!.file, 'app/server');
  assert.equal(go.executables.length, 8, 'the entrypoint and 7 more are listed');
  assert.equal(go.more, 1, 'the 8 budgeted ones plus the entrypoint: one more not listed');
  assert.equal(analysed.length, 9, 'no file beyond the budget or the cap was read');
  const reasons = Object.fromEntries(go.skipped.map((s) => [s.file, s.reason]));
  assert.match(reasons['bin/tool08']!, /more than 8 Go executables/);
  assert.match(reasons['bin/huge']!, /larger than the 9\.8 KiB read to analyse/);
});

test("a baseline's findings are reused by layer digest; an older baseline without them has its layers walked", async () => {
  const base = gzipSync(archive(file('usr/bin/tool', fakeGo(mods()), { mode: exe })));
  const app = gzipSync(archive(file('server', fakeGo(mods()), { mode: exe })));
  const { source, streamed } = imageSource([base, app], {
    ...history(2),
    config: { Entrypoint: ['/server'] },
  });
  const opts = { uncompressed: true, executables: { analyse: stubAnalyse } };
  const cold = (await measureImage(source, 'x', opts))!;
  assert.equal(streamed.length, 2);
  // Saved and read back as a baseline is (JSON, every field checked).
  const saved = parseReport(JSON.stringify(cold))!;
  assert.deepEqual(saved, cold);
  streamed.length = 0;
  analysed.length = 0;
  const warm = (await measureImage(source, 'x', { ...opts, known: knownLayerSizes(saved) }))!;
  assert.deepEqual(streamed, [], 'nothing read again');
  assert.deepEqual(analysed, []);
  assert.deepEqual(warm.platforms[0]!.go, cold.platforms[0]!.go);
  // A baseline of an older version: sizes without executables. Both layers are walked again.
  const old = structuredClone(cold);
  for (const l of old.platforms[0]!.layers) delete l.executables;
  delete old.platforms[0]!.go;
  streamed.length = 0;
  const again = (await measureImage(source, 'x', { ...opts, known: knownLayerSizes(old) }))!;
  assert.equal(streamed.length, 2);
  assert.deepEqual(again.platforms[0]!.go, cold.platforms[0]!.go);
});

test('layers that are not tars, or images without Go, measure as before with no Go section', async () => {
  const notTar = gzipSync(Buffer.alloc(100_000, 1));
  const plain = gzipSync(archive(file('etc/motd', 'hello\n')));
  const { source } = imageSource([notTar, plain], history(2));
  const report = (await measureImage(source, 'x', {
    uncompressed: true,
    executables: { analyse: stubAnalyse },
  }))!;
  assert.equal(report.platforms[0]!.layers[0]!.uncompressed, 100_000);
  assert.equal(report.platforms[0]!.go, undefined);
  assert.match(report.platforms[0]!.layers[0]!.executables!.unread!, /not read as a tar/);
  assert.deepEqual(
    report.platforms[0]!.layers[1]!.executables,
    { v: 1, executables: [], skipped: [], removed: [], opaque: [] },
    'a plain layer is known to hold none',
  );
  const md = renderMarkdown(diffReports(report, report, 'main'), 'svc');
  assert.doesNotMatch(md, /Go modules/);
});

test('uncompressed layers (a docker save layout) are walked too', async () => {
  const layer = archive(file('server', fakeGo(mods()), { mode: exe }));
  const { source } = imageSource(
    [layer],
    { ...history(1), config: { Entrypoint: ['/server'] } },
    'tar',
  );
  const report = (await measureImage(source, 'x', {
    uncompressed: true,
    executables: { analyse: stubAnalyse },
  }))!;
  assert.equal(report.platforms[0]!.go?.entrypoint, 'server');
});

test('entrypoint paths: absolute, relative to the working directory, or looked up on the PATH', () => {
  assert.deepEqual(entrypointPaths({ Entrypoint: ['/app/server', '-v'] }), ['app/server']);
  assert.deepEqual(entrypointPaths({ Entrypoint: [], Cmd: ['./bin/x'], WorkingDir: '/srv' }), [
    'srv/bin/x',
  ]);
  assert.deepEqual(entrypointPaths({ Cmd: ['svc'], Env: ['A=b', 'PATH=/go/bin:/usr/bin'] }), [
    'go/bin/svc',
    'usr/bin/svc',
  ]);
  assert.deepEqual(entrypointPaths({ Cmd: 'not a list' }), []);
  assert.deepEqual(entrypointPaths(undefined), []);
});

const executable = (modules: GoModuleSize[], goVersion = 'go1.24.4'): GoExecutable => ({
  file: 'server',
  layer: `sha256:${'a'.repeat(64)}`,
  fileBytes: modules.reduce((a, m) => a + m.bytes, 0) + 1000,
  goVersion,
  mainModule: 'example.com/svc',
  attributed: true,
  modules,
});

test('module diff: added, removed, grown, shrunk, new version, unchanged; largest change first', () => {
  const base = executable([
    { path: 'std', version: 'go1.24.4', bytes: 1_000_000 },
    { path: 'example.com/svc', version: '(devel)', bytes: 50_000 },
    { path: 'example.com/old', version: 'v0.1.0', bytes: 30_000 },
    { path: 'example.com/lib', version: 'v1.0.0', bytes: 80_000 },
    { path: 'example.com/same', version: 'v2.0.0', bytes: 10_000 },
    { path: 'other', version: '', bytes: 300_000 },
  ]);
  const head = executable(
    [
      { path: 'std', version: 'go1.24.5', bytes: 1_001_000 },
      { path: 'example.com/svc', version: '(devel)', bytes: 55_000 },
      { path: 'example.com/new', version: 'v1.3.0', bytes: 200_000 },
      { path: 'example.com/lib', version: 'v1.0.0', bytes: 70_000 },
      { path: 'example.com/same', version: 'v2.0.0', bytes: 10_000 },
      { path: 'other', version: '', bytes: 300_000 },
    ],
    'go1.24.5',
  );
  const { changes, unchanged } = diffModules(base, head);
  assert.equal(unchanged, 2, 'same and other');
  assert.deepEqual(
    changes.map((c) => [c.path, c.kind, c.delta]),
    [
      ['example.com/new', 'added', 200_000],
      ['example.com/old', 'removed', -30_000],
      ['example.com/lib', 'shrunk', -10_000],
      ['example.com/svc', 'grown', 5_000],
      ['std', 'version', 1_000],
    ],
  );
  const headReport = goReport([['linux/amd64', head]]);
  const baseReport = goReport([['linux/amd64', base]]);
  const diff = diffReports(headReport, baseReport, 'main');
  const e = diff.go!.executables[0]!;
  assert.equal(e.baseTotal, 1_470_000);
  assert.equal(e.headTotal, 1_636_000);
  assert.equal([e.goBase, e.goHead].join(' '), 'go1.24.4 go1.24.5');
});

function goReport(rows: [string, GoExecutable][]): ImageSizeReport {
  return {
    schema: 1,
    image: 'ghcr.io/o/svc:pr-1',
    platforms: rows.map(([platform, e], i) => ({
      platform,
      digest: `sha256:${String(i).repeat(64)}`,
      compressed: 5_000_000,
      layers: [{ digest: e.layer, size: 5_000_000, instruction: 'COPY /out/server /server' }],
      go: { v: 1, entrypoint: e.file, executables: [e], more: 0, skipped: [], unread: [] },
    })),
  };
}

test('the Go section names the new module with its size and the Go version change, folds a long list', () => {
  const baseMods: GoModuleSize[] = [
    { path: 'std', version: 'go1.24.4', bytes: 1_000_000 },
    ...Array.from({ length: 12 }, (_, i) => ({
      path: `example.com/m${i}`,
      version: 'v1.0.0',
      bytes: 10_000 + i,
    })),
  ];
  const headMods = [
    ...baseMods.map((m) => ({
      ...m,
      bytes: m.bytes + 100,
      version: m.path === 'std' ? 'go1.24.5' : m.version,
    })),
    { path: 'example.com/added', version: 'v0.3.0', bytes: 307_200 },
  ];
  const head = goReport([
    ['linux/amd64', executable(headMods, 'go1.24.5')],
    ['linux/arm64', executable(headMods, 'go1.24.5')],
  ]);
  const base = goReport([
    ['linux/amd64', executable(baseMods)],
    ['linux/arm64', executable(baseMods)],
  ]);
  const md = renderMarkdown(diffReports(head, base, 'main'), 'svc');
  assert.match(md, /#### Go modules/);
  assert.match(md, /\*\*`\/server` \(entrypoint\)\*\* · Go 1\.24\.4 → 1\.24\.5 · linux\/amd64: /);
  assert.match(
    md,
    /\| `example\.com\/added` \| v0\.3\.0 \(new\) \| \+300\.0 KiB \(new\) \| \+300\.0 KiB \(new\) \|/,
  );
  // 14 changed rows: 8 shown, 6 folded.
  const section = md.slice(md.indexOf('#### Go modules'), md.indexOf(': layers</summary>'));
  assert.match(section, /<details><summary>6 more modules<\/summary>/);
  assert.equal(section.split('\n').filter((l) => l.startsWith('| `')).length, 14);
  // A very long list stops at 8 + 30 rows.
  const many = (n: number, add: number) =>
    Array.from({ length: n }, (_, i) => ({
      path: `example.com/n${i}`,
      version: 'v1.0.0',
      bytes: 1000 + i + add,
    }));
  const long = renderMarkdown(
    diffReports(
      goReport([['linux/amd64', executable(many(100, 1))]]),
      goReport([['linux/amd64', executable(many(100, 0))]]),
      'main',
    ),
    'svc',
  );
  assert.match(long, /<details><summary>92 more modules<\/summary>/);
  assert.match(long, /_62 smaller changes not listed/);
  assert.equal(long.split('\n').filter((l) => l.startsWith('| `example.com/n')).length, 38);
  // The terminal's version of the same.
  const text = renderSizeText(diffReports(head, base, 'main'));
  assert.match(text, /\/server linux\/arm64: Go 1\.24\.4 -> 1\.24\.5, /);
  assert.match(text, /example\.com\/added v0\.3\.0 \+300\.0 KiB \(new\)/);
  // Without a baseline: the largest modules.
  const first = renderMarkdown(diffReports(head, undefined), 'svc');
  assert.match(first, /Largest modules:/);
  assert.match(first, /\| `example\.com\/added` \| v0\.3\.0 \| 300\.0 KiB \| 300\.0 KiB \|/);
  assert.match(first, /\| `std` \| go1\.24\.5 \| 976\.7 KiB \| 976\.7 KiB \|/);
});

test('values from the image are inert in the Go section', () => {
  const hostile = executable([
    { path: 'x.com/a|b', version: 'v1.0.0 @team', bytes: 5 },
    { path: 'std', version: 'go1 <!-- x -->', bytes: 5 },
  ]);
  hostile.file = 'app/<b>@octo|x';
  hostile.reason = '[click](http://evil) @org/team';
  hostile.attributed = false;
  const md = renderMarkdown(diffReports(goReport([['linux/amd64', hostile]]), undefined), 'svc');
  const section = md.slice(md.indexOf('#### Go modules'), md.indexOf(': layers</summary>'));
  assert.doesNotMatch(section, /<!--|<b>|@octo|@team|@org|(?<!\\)\]\(http/);
  assert.match(section, /<code>\/app\/&lt;b&gt;@\u2060octo\\\|x<\/code>/);
  // Each table row keeps its columns.
  for (const row of section.split('\n').filter((l) => l.startsWith('| ')))
    assert.equal(row.replace(/\\\|/g, '').split('|').length, 5, row);
});

test('report fields: a malformed Go record is dropped alone, an old report without one still reads', () => {
  const good = goReport([
    ['linux/amd64', executable([{ path: 'std', version: 'go1.24.4', bytes: 1 }])],
  ]);
  assert.deepEqual(parseReport(JSON.stringify(good)), good);
  const bad = structuredClone(good);
  (bad.platforms[0]!.go!.executables[0]!.modules[0] as { bytes: unknown }).bytes = -1;
  const problems: string[] = [];
  const read = parseReport(JSON.stringify(bad), problems)!;
  assert.equal(read.platforms[0]!.go, undefined);
  assert.equal(read.platforms[0]!.compressed, 5_000_000, 'the measurement itself is kept');
  assert.match(problems.join(), /Go executables of linux\/amd64 dropped: the size of "std"/);
  const newer = structuredClone(good);
  (newer.platforms[0]!.go as { v: number }).v = 2;
  const p2: string[] = [];
  assert.equal(parseReport(JSON.stringify(newer), p2)!.platforms[0]!.go, undefined);
  assert.match(p2.join(), /not version 1/);
});

test('outputs carry the image view, not the per-layer records the baseline keeps for reuse', async () => {
  const { withoutLayerRecords } = await import('../../src/sizereport/measure.ts');
  const layer = gzipSync(archive(file('server', fakeGo(mods()), { mode: exe })));
  const { source } = imageSource([layer], { ...history(1), config: { Entrypoint: ['/server'] } });
  const full = (await measureImage(source, 'x', {
    uncompressed: true,
    executables: { analyse: stubAnalyse },
  }))!;
  const shown = withoutLayerRecords(full);
  assert.ok(full.platforms[0]!.layers[0]!.executables, 'the measurement keeps them');
  assert.equal(shown.platforms[0]!.layers[0]!.executables, undefined);
  assert.deepEqual(shown.platforms[0]!.go, full.platforms[0]!.go);
  assert.equal(
    shown.platforms[0]!.layers[0]!.uncompressed,
    full.platforms[0]!.layers[0]!.uncompressed,
  );
});

test('a real Go executable (the go-size fixture) in a layer: found, analysed by go/analyse.ts, reported', async () => {
  const { readFileSync } = await import('node:fs');
  const { brotliDecompressSync } = await import('node:zlib');
  const dir = new URL('../fixtures/go-size/', import.meta.url);
  const layers: Buffer[] = [];
  const versions: string[] = [];
  for (const arch of ['amd64', 'arm64']) {
    const bin = brotliDecompressSync(readFileSync(new URL(`${arch}/fixture.br`, dir)));
    versions.push(
      /^fixture: (go\S+)/.exec(readFileSync(new URL(`${arch}/version-m.txt`, dir), 'utf8'))![1]!,
    );
    layers.push(gzipSync(archive(file('app/fixture', bin, { mode: exe }))));
  }
  // One platform per binary: the amd64 layer alone, then the arm64 one.
  for (const [i, layer] of layers.entries()) {
    const { source } = imageSource([layer], {
      ...history(1),
      config: { Entrypoint: ['/app/fixture'] },
    });
    const head = (await measureImage(source, 'x', { uncompressed: true }))!; // the real analyser
    const go = head.platforms[0]!.go!;
    assert.equal(go.entrypoint, 'app/fixture');
    const e = go.executables[0]!;
    assert.ok(e.attributed, e.reason);
    assert.equal(e.goVersion, versions[i]);
    assert.equal(e.mainModule, 'example.com/fixture');
    const dep = e.modules.find((m) => m.path === 'example.com/dep.v2');
    assert.ok(dep && dep.bytes > 0 && dep.version === 'v1.2.0', JSON.stringify(e.modules));
    assert.ok(e.modules.find((m) => m.path === 'std')!.bytes > dep.bytes);
    assert.equal(
      e.modules.reduce((a, m) => a + m.bytes, 0),
      e.fileBytes,
      'std, the modules and other add up to the file',
    );
    // Saved and read back as a baseline; a head without the dependency shows it removed.
    const base = parseReport(JSON.stringify(head))!;
    assert.deepEqual(base.platforms[0]!.go, go);
    const without = structuredClone(head);
    const w = without.platforms[0]!.go!.executables[0]!;
    w.modules = w.modules.filter((m) => m.path !== 'example.com/dep.v2');
    const md = renderMarkdown(diffReports(without, base, 'main'), 'svc');
    assert.ok(
      md.includes(
        `| \`example.com/dep.v2\` | v1.2.0 (removed) | -${humanBytes(dep.bytes)} (removed) |`,
      ),
      md,
    );
  }
});
