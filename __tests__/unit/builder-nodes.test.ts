// Multi-node builders: parsing every node from `docker buildx inspect` and sending each platform,
// and each node's cache-mount helper builds, to the node buildx itself picks.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  parseBuilderInspect,
  sharesHostNetwork,
  type BuilderNode,
} from '../../src/buildx/builder.ts';
import { nodeGroups, normalizePlatform, resolveNodes } from '../../src/buildx/nodes.ts';

const FIXTURES = path.join(import.meta.dirname, '..', 'fixtures', 'buildx');
// Captured from a remote builder with two nodes (`docker buildx create --append --platform`).
const twoNodes = () =>
  parseBuilderInspect(readFileSync(path.join(FIXTURES, 'inspect-two-nodes.txt'), 'utf8'));

const node = (name: string, listed: string): BuilderNode => {
  const all = listed.split(',').map((p) => p.trim());
  return {
    name,
    endpoint: `tcp://${name}:1234`,
    configured: all.filter((p) => p.endsWith('*')).map((p) => p.slice(0, -1)),
    platforms: all.map((p) => p.replace(/\*$/, '')),
  };
};

test('inspect output of a two-node builder gives both nodes, their endpoints and platforms', () => {
  const info = twoNodes();
  assert.equal(info.name, 'relaytest');
  assert.equal(info.driver, 'remote');
  assert.deepEqual(
    info.nodes.map((n) => [n.name, n.endpoint, n.configured]),
    [
      ['relaytest0', 'tcp://127.0.0.1:12340', ['linux/amd64']],
      ['relaytest1', 'tcp://127.0.0.1:12341', ['linux/arm64']],
    ],
  );
  assert.equal(info.nodes[1]!.platforms.length, 5);
  assert.equal(info.nativePlatform, 'linux/amd64', 'the first node, as before');
  assert.deepEqual(info.platforms, info.nodes[0]!.platforms);
});

test('a one-node builder keeps one group with every platform (cache keys as before)', () => {
  const info = parseBuilderInspect(
    'Name:   default\nDriver: docker\n\nNodes:\nName:      default\nEndpoint:  default\nPlatforms: linux/amd64, linux/arm64\n',
  );
  assert.equal(info.nodes.length, 1);
  assert.deepEqual(nodeGroups(info, ['linux/amd64', 'linux/arm64']), [
    { node: '', platforms: ['linux/amd64', 'linux/arm64'], helperPlatform: 'linux/amd64' },
  ]);
});

test('each platform goes to the node created for it, and helpers reach that node', () => {
  const info = twoNodes();
  assert.deepEqual(resolveNodes(info.nodes, ['linux/amd64', 'linux/arm64']), [0, 1]);
  assert.deepEqual(resolveNodes(info.nodes, ['linux/arm64']), [1]);
  assert.deepEqual(nodeGroups(info, ['linux/arm64', 'linux/amd64']), [
    { node: 'relaytest0', platforms: ['linux/amd64'], helperPlatform: 'linux/amd64' },
    { node: 'relaytest1', platforms: ['linux/arm64'], helperPlatform: 'linux/arm64' },
  ]);
});

test('without a node created for every platform, the first node listing it wins', () => {
  // node a was created for amd64 only and also runs arm64 through QEMU; node b is a native arm64
  // machine added without --platform. buildx sends arm64 to a (first to list it): so do we.
  const nodes = [node('a', 'linux/amd64*, linux/arm64'), node('b', 'linux/arm64, linux/arm/v7')];
  assert.deepEqual(resolveNodes(nodes, ['linux/amd64', 'linux/arm64']), [0, 0]);
  const info = { name: 'x', driver: 'remote', platforms: [], nativePlatform: '', nodes };
  assert.deepEqual(nodeGroups(info, ['linux/amd64', 'linux/arm64']), [
    { node: 'a', platforms: ['linux/amd64', 'linux/arm64'], helperPlatform: 'linux/amd64' },
  ]);
  // An exact match beats a compatible one; a platform nobody lists goes to the first node.
  assert.deepEqual(resolveNodes(nodes, ['linux/arm/v7', 'linux/s390x']), [1, 0]);
  assert.deepEqual(
    resolveNodes([node('a', 'linux/amd64'), node('b', 'linux/arm64')], ['linux/arm/v6']),
    [1],
  );
});

test('platform forms buildx treats as one', () => {
  assert.equal(normalizePlatform('linux/arm64/v8'), 'linux/arm64');
  assert.equal(normalizePlatform('Linux/AMD64/v1'), 'linux/amd64');
  assert.equal(normalizePlatform('linux/arm/v7'), 'linux/arm/v7');
  const nodes = [node('a', 'linux/amd64*'), node('b', 'linux/arm64/v8*')];
  assert.deepEqual(resolveNodes(nodes, ['linux/arm64']), [1]);
});

test('the loopback channel is for builders on this machine that share its network', async () => {
  const docker = {
    name: 'default',
    driver: 'docker',
    platforms: [],
    nativePlatform: '',
    nodes: [],
  };
  assert.equal(await sharesHostNetwork(docker, undefined), true);
  assert.equal(await sharesHostNetwork(docker, 'unix:///run/other.sock'), true);
  // An engine reached over the network runs its builds on another machine's network.
  assert.equal(await sharesHostNetwork(docker, 'tcp://10.0.0.5:2376'), false);
  assert.equal(await sharesHostNetwork(docker, 'ssh://builder@ci'), false);
  // Remote and kubernetes builders never; a docker-container builder with no node container
  // here (this one does not exist) is not assumed to share it.
  const remote = { ...docker, driver: 'remote', nodes: twoNodes().nodes };
  assert.equal(await sharesHostNetwork(remote, undefined), false);
  const container = {
    ...docker,
    driver: 'docker-container',
    nodes: [node(`bgi-no-such-builder-${process.pid}`, 'linux/amd64*')],
  };
  assert.equal(await sharesHostNetwork(container, undefined), false);
});
