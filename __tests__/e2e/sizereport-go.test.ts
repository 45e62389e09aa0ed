// The Go section of the size report on the real engine: a push build on main saves a report whose
// executables carry their module sizes; a pull request that adds a dependency (served by the tests'
// module proxy) gets a comment naming the new module with its size and the Go version the
// executables were built with, read from their build info. Two cases share that setup:
//   - linux/amd64 and linux/arm64, both sides built with the engine's golang:<BGI_GO_VERSION>: the
//     comment names that one Go version;
//   - the Go patch bump, as a user meets it: go.mod unchanged, and the Go release list (a go.dev
//     JSON stand-in) moving from X.Y.a on main to X.Y.b on the pull request, so the action resolves
//     the newer patch itself; the comment shows `Go X.Y.a → X.Y.b`. Built for the platforms the
//     engine's two images of one minor a patch apart have (BGI_GO_PATCH_FROM, BGI_GO_PATCH_TO,
//     BGI_GO_PATCH_PLATFORMS: linux/amd64, natively).
// And an image with many Go executables (the golang base image) stays within the bounds.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { humanBytes } from '../../src/format.ts';
import { execFile } from '../../src/io/exec.ts';
import { RegistryClient } from '../../src/registry/client.ts';
import { parseImageReference } from '../../src/registry/reference.ts';
import type { ImageSizeReport } from '../../src/sizereport/measure.ts';
import { measureImage } from '../../src/sizereport/measure.ts';
import { registrySource } from '../../src/sizereport/sources.ts';
import { startCacheServer } from '../helpers/cache-server.ts';
import { requireEngine, requireGoPatchImages, type EngineInfo } from '../helpers/engine.ts';
import { startGitHubApi } from '../helpers/github-api.ts';
import { startModuleServer } from '../helpers/module-server.ts';
import { startReleaseServer } from '../helpers/release-server.ts';
import { ROOT, runAction } from '../helpers/run-action.ts';

/** A dependency with measurable code: 600 small functions the service reaches through a table. */
function sizedepSource(): string {
  const funcs = Array.from(
    { length: 600 },
    (_, i) =>
      `//go:noinline\nfunc f${i}(x int) int {\n\tif x > ${i} {\n\t\treturn x*${i + 3} ^ ${i * 7 + 1}\n\t}\n\treturn x + ${i}\n}\n`,
  );
  return [
    '// Package sizedep stands for a dependency a pull request adds.',
    'package sizedep',
    '',
    ...funcs,
    `var all = []func(int) int{${funcs.map((_, i) => `f${i}`).join(', ')}}`,
    '',
    '// Sum calls every function once.',
    'func Sum(x int) int {',
    '\ts := 0',
    '\tfor _, f := range all {',
    '\t\ts += f(x)',
    '\t}',
    '\treturn s',
    '}',
    '',
  ].join('\n');
}

/** The stand-ins both pull-request cases use: module server, Actions cache, GitHub API. */
async function standIns(t: TestContext, engine: EngineInfo) {
  const gateway = (
    await execFile('docker', [
      'network',
      'inspect',
      'bridge',
      '--format',
      '{{(index .IPAM.Config 0).Gateway}}',
    ])
  ).stdout.trim();
  const token = `ghs_modules_${randomBytes(12).toString('hex')}`;
  // A version of its own per test: the builder keeps its module-cache mount between builds (and
  // between runs of the suite), and a version found there would never be asked of the server.
  const version = `v1.0.${randomBytes(3).readUIntBE(0, 3) + 1}`;
  const modules = await startModuleServer({
    host: gateway,
    login: 'x-access-token',
    password: token,
    module: {
      path: 'example.internal/sizedep',
      version,
      files: {
        'go.mod': 'module example.internal/sizedep\n\ngo 1.24\n',
        'sizedep.go': sizedepSource(),
      },
    },
  });
  const cache = await startCacheServer();
  const api = await startGitHubApi({
    'ghs-token': {
      login: 'github-actions[bot]',
      id: 41898282,
      type: 'Bot',
      write: true,
      installation: true,
    },
  });
  t.after(() => Promise.all([modules.close(), cache.close(), api.close()]));
  const repo = `${engine.registry}/size-go-${randomBytes(4).toString('hex')}/service`;
  const host = new URL(modules.url).host;
  const inputs = {
    tags: `${repo}:main`,
    push: 'true',
    'build-args': [
      `BASE_REGISTRY=${engine.baseRegistry}`,
      `GOPROXY=${modules.url}`,
      'GONOPROXY=none',
    ].join('\n'),
    'go-private': 'example.internal/*',
    'go-private-token': token,
    'go-private-hosts': `${gateway},${host}`,
    'ca-bundle': modules.certFile,
    'cache-mounts': 'false',
    'github-token': 'ghs-token',
  };
  const env = { ...cache.env(), GITHUB_API_URL: api.url };
  return { modules, api, repo, inputs, env, version };
}

/** main: the service without the dependency, in a new directory. */
function serviceOnMain(goMod: string): string {
  const svc = mkdtempSync(path.join(tmpdir(), 'bgi-size-go-'));
  cpSync(path.join(ROOT, 'examples', 'go-private', 'Dockerfile'), path.join(svc, 'Dockerfile'));
  writeFileSync(path.join(svc, 'go.mod'), goMod);
  writeFileSync(path.join(svc, 'go.sum'), '');
  writeFileSync(
    path.join(svc, 'main.go'),
    'package main\n\nimport (\n\t"fmt"\n\t"os"\n)\n\nfunc main() { fmt.Println(len(os.Args)) }\n',
  );
  return svc;
}

/** The pull request's change: the service uses example.internal/sizedep. */
function addDependency(svc: string, goMod: string, goSum: string, version: string): void {
  writeFileSync(
    path.join(svc, 'go.mod'),
    `${goMod}\nrequire example.internal/sizedep ${version}\n`,
  );
  writeFileSync(path.join(svc, 'go.sum'), goSum);
  writeFileSync(
    path.join(svc, 'main.go'),
    'package main\n\nimport (\n\t"fmt"\n\t"os"\n\n\t"example.internal/sizedep"\n)\n\nfunc main() { fmt.Println(sizedep.Sum(len(os.Args))) }\n',
  );
}

const pullRequest = {
  event: {
    name: 'pull_request',
    payload: { number: 19, pull_request: { number: 19, base: { ref: 'main' } } },
  },
  env: { GITHUB_BASE_REF: 'main', GITHUB_HEAD_REF: 'dep', GITHUB_REF: 'refs/pull/19/merge' },
};

/** The new module's row on every platform of the head and its cells, checked against the base. */
function newModuleCells(
  report: { head: ImageSizeReport; base: ImageSizeReport },
  version: string,
): string[] {
  const cells: string[] = [];
  for (const p of report.head.platforms) {
    const dep = p.go?.executables[0]?.modules.find((m) => m.path === 'example.internal/sizedep');
    assert.ok(dep, `${p.platform}: the new module has a row`);
    assert.equal(dep.version, version);
    assert.ok(dep.bytes > 8 * 1024, `${p.platform}: 600 functions of code, ${dep.bytes} bytes`);
    assert.ok(
      !report.base.platforms
        .find((b) => b.platform === p.platform)
        ?.go?.executables[0]?.modules.some((m) => m.path === 'example.internal/sizedep'),
    );
    cells.push(`+${humanBytes(dep.bytes)} (new)`);
  }
  return cells;
}

/** The comment's row of the new module (its version, its size per platform) and the summary's section. */
function assertNewModuleShown(
  body: string,
  summary: string,
  report: { head: ImageSizeReport; base: ImageSizeReport },
  version: string,
): void {
  const cells = newModuleCells(report, version);
  assert.ok(
    body.includes(`| \`example.internal/sizedep\` | ${version} (new) | ${cells.join(' | ')} |`),
    body,
  );
  assert.match(summary, /#### Go modules[\s\S]*example\.internal\/sizedep/);
}

test(
  'a pull request that adds a dependency: the comment names the new module, its size and the Go version',
  { timeout: 15 * 60_000 },
  async (t) => {
    const engine = await requireEngine(t);
    if (!engine) return;
    const { modules, api, repo, inputs: shared, env, version } = await standIns(t, engine);
    const goMod = 'module example.com/private-service\n\ngo 1.24.1\n';
    const svc = serviceOnMain(goMod);
    const inputs = {
      ...shared,
      context: svc,
      'go-version': engine.goVersion,
      'check-go-image': 'false',
    };
    const base = await runAction({
      inputs,
      env,
      event: { name: 'push', payload: { ref: 'refs/heads/main' } },
      skipPost: true,
    });
    assert.equal(base.main.exitCode, 0, base.main.stdout.slice(-3000));
    const saved = JSON.parse(base.main.outputs['size-report'] ?? '{}') as { head: ImageSizeReport };
    for (const p of saved.head.platforms) {
      const server = p.go?.executables[0];
      assert.equal(p.go?.entrypoint, 'service', `${p.platform}: the entrypoint is found`);
      assert.equal(server?.goVersion, `go${engine.goVersion}`, 'the toolchain, from build info');
      assert.ok(server?.attributed, `${p.platform}: ${server?.reason}`);
      // Every layer of BuildKit's real output was walked as a tar.
      assert.deepEqual(p.go?.unread, []);
    }

    addDependency(svc, goMod, modules.goSum, version);
    const res = await runAction({
      inputs: { ...inputs, tags: `${repo}:pr-19` },
      env: { ...env, ...pullRequest.env },
      event: pullRequest.event,
      skipPost: true,
    });
    assert.equal(res.main.exitCode, 0, res.main.stdout.slice(-3000));
    assert.ok(
      modules.requests.some((r) => r.authorised && r.path.endsWith(`${version}.zip`)),
      'the dependency came from the module server',
    );
    const report = JSON.parse(res.main.outputs['size-report'] ?? '{}') as {
      head: ImageSizeReport;
      base: ImageSizeReport;
    };
    // The baseline the push build saved carried its module sizes back.
    assert.deepEqual(
      report.base.platforms.map((p) => p.go?.executables[0]?.modules.length),
      saved.head.platforms.map((p) => p.go?.executables[0]?.modules.length),
    );
    const comments = api.comments.get(19) ?? [];
    assert.equal(comments.length, 1);
    const body = comments[0]!.body;
    assert.match(body, /#### Go modules/);
    // The same Go on both sides: the line names it once (the next test bumps the patch).
    assert.ok(
      body.includes(`**\`/service\` (entrypoint)** · Go ${engine.goVersion} · linux/amd64: `),
      body,
    );
    assertNewModuleShown(body, res.main.summary, report, version);
  },
);

test(
  'a pull request that adds a dependency and bumps the Go patch: the comment names the new module, its size and the Go version change',
  { timeout: 15 * 60_000 },
  async (t) => {
    const engine = await requireEngine(t);
    if (!engine) return;
    const patches = requireGoPatchImages(t);
    if (!patches) return;
    const { from, to, platforms } = patches;
    const [major, minor] = from.split('.');
    // go.mod names the older patch, as `go mod tidy` on main wrote it; it does not change.
    const goMod = `module example.com/private-service\n\ngo ${from}\n`;
    // The release list on main: the older patch is the newest of its minor.
    const releases = await startReleaseServer([
      from,
      `${major}.${minor}.0`,
      `${major}.${Number(minor) - 1}.9`,
    ]);
    t.after(() => releases.close());
    const { modules, api, repo, inputs: shared, env, version } = await standIns(t, engine);
    const svc = serviceOnMain(goMod);
    const inputs = {
      ...shared,
      context: svc,
      platforms,
      'go-release-source': releases.goDevUrl,
      'go-proxy': releases.proxyUrl,
    };
    const base = await runAction({
      inputs,
      env,
      event: { name: 'push', payload: { ref: 'refs/heads/main' } },
      skipPost: true,
    });
    assert.equal(base.main.exitCode, 0, base.main.stdout.slice(-3000));
    assert.equal(base.main.outputs['go-version'], from, 'the newest patch the list names');
    const saved = JSON.parse(base.main.outputs['size-report'] ?? '{}') as { head: ImageSizeReport };
    assert.deepEqual(
      saved.head.platforms.map((p) => p.go?.executables[0]?.goVersion),
      saved.head.platforms.map(() => `go${from}`),
      'main was built with the older patch, as its build info says',
    );

    // The pull request adds the dependency; meanwhile the newer patch is released.
    addDependency(svc, goMod, modules.goSum, version);
    releases.versions.unshift(to);
    const res = await runAction({
      inputs: { ...inputs, tags: `${repo}:pr-19` },
      env: { ...env, ...pullRequest.env },
      event: pullRequest.event,
      skipPost: true,
    });
    assert.equal(res.main.exitCode, 0, res.main.stdout.slice(-3000));
    assert.equal(res.main.outputs['go-version'], to, 'the action resolved the newer patch itself');
    const report = JSON.parse(res.main.outputs['size-report'] ?? '{}') as {
      head: ImageSizeReport;
      base: ImageSizeReport;
    };
    assert.deepEqual(
      report.head.platforms.map((p) => [p.platform, p.go?.executables[0]?.goVersion]),
      report.base.platforms.map((p) => [p.platform, `go${to}`]),
      'the pull request was built with the newer patch, as its build info says',
    );
    const comments = api.comments.get(19) ?? [];
    assert.equal(comments.length, 1);
    const body = comments[0]!.body;
    const first = report.head.platforms[0]!.platform;
    assert.ok(
      body.includes(`**\`/service\` (entrypoint)** · Go ${from} → ${to} · ${first}: `),
      body,
    );
    // The standard library's row carries the same change, as build info names it.
    assert.match(
      body,
      new RegExp(
        `\\| \`std\` \\| go${from.replaceAll('.', '\\.')} → go${to.replaceAll('.', '\\.')} \\|`,
      ),
    );
    assertNewModuleShown(body, res.main.summary, report, version);
    // The job summary shows the same section.
    assert.ok(res.main.summary.includes(`Go ${from} → ${to}`), res.main.summary);
  },
);

test(
  'an image with many Go executables (the golang base image): bounded, every one analysed is attributed',
  { timeout: 10 * 60_000 },
  async (t) => {
    const engine = await requireEngine(t);
    if (!engine) return;
    const ref = `${engine.baseRegistry}/golang:${engine.goVersion}`;
    const report = await measureImage(
      registrySource(new RegistryClient(), parseImageReference(ref)),
      ref,
      { uncompressed: true },
    );
    assert.ok(report);
    for (const p of report.platforms) {
      const go = p.go;
      assert.ok(go, `${p.platform}: Go executables found`);
      assert.deepEqual(go.unread, []);
      assert.equal(go.executables.length, 8, `${p.platform}: at most 8 listed`);
      assert.ok(
        go.skipped.some((s) => /more than 8 Go executables/.test(s.reason)),
        `${p.platform}: the rest are named as not analysed`,
      );
      for (const e of go.executables) {
        assert.ok(e.attributed, `${e.file}: ${e.reason}`);
        assert.ok(e.goVersion.startsWith(`go${engine.goVersion.split('.').slice(0, 2).join('.')}`));
        assert.ok(e.modules.some((m) => m.path === 'std' && m.bytes > 0));
        const sum = e.modules.reduce((a, m) => a + m.bytes, 0);
        assert.ok(sum <= e.fileBytes, `${e.file}: ${sum} attributed of ${e.fileBytes}`);
      }
    }
  },
);
