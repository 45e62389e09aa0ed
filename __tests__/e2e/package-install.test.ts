// The package people install: `npm pack` of this checkout (its committed dist/cli bundle; CI checks
// that dist is fresh first), installed offline into an empty project (the bundle has no runtime
// dependencies), then run through npx as the README shows. Needs no Docker.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { execFile } from '../../src/io/exec.ts';
import { startReleaseServer } from '../helpers/release-server.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const pkg = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
};

/** npm as `npm test` runs it (npm_execpath), else the one on PATH. */
function npm(args: string[], cwd: string, env: NodeJS.ProcessEnv) {
  const cli = process.env['npm_execpath'];
  return cli && /\.c?js$/.test(cli)
    ? execFile(process.execPath, [cli, ...args], { cwd, env, allowFailure: true })
    : execFile('npm', args, { cwd, env, allowFailure: true });
}

test(
  'npm pack, install the tarball into an empty directory, run npx build-go-image',
  { timeout: 180_000 },
  async (t) => {
    const tmp = mkdtempSync(path.join(tmpdir(), 'bgi-pack-'));
    // Node 24 first on PATH for the bin's `#!/usr/bin/env node`; a cache of its own, so nothing
    // installed here comes from or goes to the user's.
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PATH: `${path.dirname(process.execPath)}:${process.env['PATH']}`,
      npm_config_cache: path.join(tmp, 'npm-cache'),
      npm_config_update_notifier: 'false',
      npm_config_fund: 'false',
      npm_config_audit: 'false',
    };

    const packed = await npm(['pack', '--json', '--pack-destination', tmp], ROOT, env);
    assert.equal(packed.exitCode, 0, packed.stderr);
    const [info] = JSON.parse(packed.stdout) as {
      filename: string;
      files: { path: string }[];
    }[];
    const files = info!.files.map((f) => f.path).sort();
    // The bundle, what it reads beside itself, and the package's own documents; no sources.
    for (const f of [
      'package.json',
      'README.md',
      'dist/cli/index.js',
      'dist/cli/package.json',
      'dist/cli/action.yml',
    ])
      assert.ok(files.includes(f), `${f} is in the package: ${files.join(', ')}`);
    assert.deepEqual(
      files.filter((f) => !/^(package\.json|README\.md|LICENSE|dist\/cli\/[^/]+)$/.test(f)),
      [],
    );
    assert.ok(!files.some((f) => f.endsWith('.map')), 'no source maps');

    const app = path.join(tmp, 'app');
    await execFile('mkdir', ['-p', app]);
    writeFileSync(
      path.join(app, 'package.json'),
      JSON.stringify({ name: 'try-build-go-image', private: true }),
    );
    const install = await npm(
      ['install', '--offline', '--no-save', path.join(tmp, info!.filename)],
      app,
      env,
    );
    assert.equal(install.exitCode, 0, install.stderr + install.stdout);
    const npx = (args: string[]) =>
      npm(['exec', '--offline', '--', 'build-go-image', ...args], app, env);

    const help = await npx(['--help']);
    assert.equal(help.exitCode, 0, help.stderr);
    assert.match(help.stdout, /^usage: build-go-image <command> \[options\]/);
    assert.match(help.stdout, /^Scale-out options:$/m);
    assert.match(help.stdout, /--tags <value>\.\.\./);

    const version = await npx(['--version']);
    assert.equal(version.exitCode, 0, version.stderr);
    assert.equal(version.stdout.trim(), pkg.version);

    const typo = await npx(['build', '--tag', 'x']);
    assert.equal(typo.exitCode, 2);
    assert.match(typo.stderr, /did you mean --tags\?/);

    const releases = await startReleaseServer(['1.24.5', '1.24.4', '1.24.1', '1.23.11']);
    t.after(() => releases.close());
    writeFileSync(path.join(app, 'go.mod'), 'module example.com/try\n\ngo 1.24.1\n');
    const resolved = await npx([
      'resolve-go-version',
      '--go-release-source',
      releases.goDevUrl,
      '--go-proxy',
      'off',
    ]);
    assert.equal(resolved.exitCode, 0, resolved.stderr);
    assert.equal(resolved.stdout.trim(), '1.24.5');
  },
);
