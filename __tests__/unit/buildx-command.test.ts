// buildx commands start the plugin docker would pick, directly; everything else goes to docker.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { dockerCommand, findBuildxPlugin, pluginDirs } from '../../src/buildx/command.ts';
import { execFile } from '../../src/io/exec.ts';

function plugin(dir: string, executable = true): string {
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'docker-buildx');
  writeFileSync(file, '#!/bin/sh\necho "standalone buildx: $*"\n');
  chmodSync(file, executable ? 0o755 : 0o644);
  return file;
}

test('plugin folders in docker order: the config folder, its extra dirs, then the system ones', () => {
  const config = mkdtempSync(path.join(tmpdir(), 'bgi-dockercfg-'));
  writeFileSync(
    path.join(config, 'config.json'),
    JSON.stringify({ cliPluginsExtraDirs: ['/opt/extra', 7], auths: {} }),
  );
  assert.deepEqual(pluginDirs({ DOCKER_CONFIG: config }, ['/usr/lib/docker/cli-plugins']), [
    path.join(config, 'cli-plugins'),
    '/opt/extra',
    '/usr/lib/docker/cli-plugins',
  ]);
  // A config file that is missing or not JSON adds no folders (docker then uses its defaults).
  writeFileSync(path.join(config, 'config.json'), '{ not json');
  assert.deepEqual(pluginDirs({ DOCKER_CONFIG: config }, ['/sys-dir']), [
    path.join(config, 'cli-plugins'),
    '/sys-dir',
  ]);
});

test('the first executable docker-buildx in search order is the one used', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'bgi-plugins-'));
  const [user, extra, system] = ['user', 'extra', 'system'].map((d) => path.join(root, d)) as [
    string,
    string,
    string,
  ];
  const systemPlugin = plugin(system);
  assert.equal(findBuildxPlugin([user, extra, system]), systemPlugin);
  plugin(extra, false); // not executable: docker skips it too
  assert.equal(findBuildxPlugin([user, extra, system]), systemPlugin);
  const userPlugin = plugin(user);
  assert.equal(findBuildxPlugin([user, extra, system]), userPlugin);
  assert.equal(findBuildxPlugin([path.join(root, 'none')]), undefined);
});

test('buildx commands run the plugin standalone; other commands, or no plugin, go to docker', async () => {
  const file = plugin(mkdtempSync(path.join(tmpdir(), 'bgi-plugin-')));
  const build = dockerCommand(['buildx', 'build', '--platform', 'linux/arm64', '.'], file);
  assert.deepEqual(build, { file, args: ['build', '--platform', 'linux/arm64', '.'] });
  const ran = await execFile(build.file, build.args);
  assert.equal(ran.stdout.trim(), 'standalone buildx: build --platform linux/arm64 .');
  assert.deepEqual(dockerCommand(['info', '--format', 'x'], file), {
    file: 'docker',
    args: ['info', '--format', 'x'],
  });
  assert.deepEqual(dockerCommand(['buildx', 'version'], null), {
    file: 'docker',
    args: ['buildx', 'version'],
  });
});
