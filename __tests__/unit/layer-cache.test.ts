// The action's own layer cache: when it is on or off, its scope, and the attributes it passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildxArgs } from '../../src/buildx/args.ts';
import {
  layerCacheScope,
  planLayerCache,
  type LayerCacheFacts,
} from '../../src/buildx/layer-cache.ts';
import { readInputs } from '../../src/inputs.ts';
import { InputError } from '../../src/errors.ts';

const hosted = {
  ACTIONS_RUNTIME_TOKEN: 'eyJ.token.sig',
  ACTIONS_CACHE_SERVICE_V2: 'true',
  ACTIONS_RESULTS_URL: 'https://results-receiver.actions.githubusercontent.com/',
  ACTIONS_CACHE_URL: 'https://acghubeus1.actions.githubusercontent.com/x/',
};

const facts = (over: Partial<LayerCacheFacts> = {}): LayerCacheFacts => ({
  mode: 'auto',
  cacheFrom: [],
  cacheTo: [],
  noCache: false,
  tags: ['ghcr.io/octo/service:1.2.3'],
  dockerfile: 'Dockerfile',
  target: '',
  platforms: ['linux/amd64', 'linux/arm64'],
  cacheKey: '',
  timeoutSeconds: 600,
  saveAllowed: true,
  env: hosted,
  buildx: '0.29.1',
  docker: '28.5.2',
  driver: 'docker-container',
  containerdStore: false,
  buildkit: ['0.25.2'],
  ...over,
});

test('on by default on a hosted runner: read and written, mode=min, errors ignored, no token in the options', () => {
  const lc = planLayerCache(facts());
  const scope = lc.scope!;
  assert.match(
    scope,
    /^build-go-image-ghcr\.io-octo-service-linux-amd64_linux-arm64-[0-9a-f]{12}$/,
  );
  assert.deepEqual(lc.from, [`type=gha,scope=${scope},timeout=600s`]);
  assert.deepEqual(lc.to, [`type=gha,scope=${scope},timeout=600s,mode=min,ignore-error=true`]);
  assert.ok(![...lc.from, ...lc.to].some((o) => /token|url|eyJ/.test(o)), 'buildx reads them');
  assert.match(lc.reason, /v2/);
});

const OFF: { name: string; over: Partial<LayerCacheFacts>; reason: RegExp; notice?: boolean }[] = [
  { name: 'layer-cache: off', over: { mode: 'off' }, reason: /layer-cache: off/ },
  {
    name: 'the user’s cache-from',
    over: { cacheFrom: ['type=registry,ref=r/c'] },
    reason: /cache-from\/cache-to given/,
  },
  { name: 'the user’s cache-to', over: { cacheTo: ['type=gha'] }, reason: /given/ },
  { name: 'no-cache', over: { noCache: true }, reason: /no-cache/ },
  { name: 'outside Actions (no token)', over: { env: {} }, reason: /no Actions cache service/ },
  {
    name: 'v2 without its URL',
    over: { env: { ...hosted, ACTIONS_RESULTS_URL: '' } },
    reason: /no Actions cache service/,
  },
  {
    name: 'v2 with buildx older than 0.21',
    over: { buildx: '0.20.1' },
    reason: /buildx 0\.20\.1 cannot/,
    notice: true,
  },
  {
    name: 'v2 with a node on BuildKit older than 0.20',
    over: { buildkit: ['0.25.2', '0.19.3'] },
    reason: /BuildKit 0\.19\.3 cannot/,
    notice: true,
  },
  {
    name: 'v2 with the BuildKit of Docker 27 (the docker driver reports no version)',
    over: { driver: 'docker', containerdStore: true, docker: '27.5.1', buildkit: [undefined] },
    reason: /Docker 27\.5\.1/,
    notice: true,
  },
  {
    name: 'the docker driver on the classic image store (it cannot export a cache)',
    over: { driver: 'docker', containerdStore: false, buildkit: [undefined] },
    reason: /classic image store/,
    notice: true,
  },
];

for (const c of OFF)
  test(`off: ${c.name}`, () => {
    const lc = planLayerCache(facts(c.over));
    assert.deepEqual([lc.from, lc.to], [[], []]);
    assert.match(lc.reason, c.reason);
    assert.equal(lc.notice ?? false, c.notice ?? false);
  });

test('v1 (GHES: ACTIONS_CACHE_URL only) works with the oldest engine', () => {
  const lc = planLayerCache(
    facts({
      env: { ACTIONS_RUNTIME_TOKEN: 't', ACTIONS_CACHE_URL: 'https://ghes/cache/' },
      buildx: '0.13.1',
      buildkit: ['0.13.2'],
    }),
  );
  assert.equal(lc.from.length, 1);
  assert.match(lc.reason, /v1/);
});

test('the docker driver on the containerd store with Docker 28 (BuildKit 0.20 inside) is on', () => {
  const lc = planLayerCache(facts({ driver: 'docker', containerdStore: true, buildkit: [] }));
  assert.equal(lc.to.length, 1);
});

test('read only where caches are not saved (an untrusted event)', () => {
  const lc = planLayerCache(facts({ saveAllowed: false }));
  assert.equal(lc.from.length, 1);
  assert.deepEqual(lc.to, []);
  assert.match(lc.reason, /read only/);
});

test('scope: per image, target, cache-key and platform set; safe characters only; long names hashed', () => {
  const base = facts();
  const scopes = new Set(
    [
      base,
      facts({ platforms: ['linux/amd64'] }),
      facts({ platforms: ['linux/arm64', 'linux/amd64'] }),
      facts({ tags: ['ghcr.io/octo/other:1'] }),
      facts({ target: 'debug' }),
      facts({ cacheKey: 'variant-b' }),
      // Only the repository names the image: another tag of it shares the scope.
      facts({ tags: ['ghcr.io/octo/service:latest'] }),
    ].map(layerCacheScope),
  );
  assert.equal(scopes.size, 6);
  const odd = layerCacheScope(
    facts({ tags: [], dockerfile: 'svc dir/Dockerfile,x"y=z', cacheKey: 'a,b c' }),
  );
  assert.match(odd, /^[A-Za-z0-9._-]+$/);
  assert.match(odd, /^build-go-image-dockerfile-svc-dir-Dockerfile-x-y-z-a-b-c-linux-amd64/);
  // Parts that read alike once made safe, or joined alike, keep apart.
  const alike = [
    facts({ cacheKey: 'svc a' }),
    facts({ cacheKey: 'svc/a' }),
    facts({ cacheKey: 'svc-a' }),
    facts({ cacheKey: 'svc,a' }),
    facts({ cacheKey: '+++' }),
    facts(),
    facts({ target: 'debug' }),
    facts({ cacheKey: 'debug' }),
    facts({ tags: ['ghcr.io/octo/service-debug:1'] }),
    facts({ tags: ['ghcr.io/octo/a-b:1'] }),
    facts({ tags: ['ghcr.io/octo-a/b:1'] }),
    facts({ tags: [], dockerfile: 'a b/Dockerfile' }),
    facts({ tags: [], dockerfile: 'a-b/Dockerfile' }),
  ].map(layerCacheScope);
  assert.equal(new Set(alike).size, alike.length, alike.join('\n'));
  for (const s of alike) assert.match(s, /^[A-Za-z0-9._-]{1,120}$/);
  const long = (n: string) =>
    layerCacheScope(facts({ tags: [`registry.example.com/${'a'.repeat(150)}${n}:1`] }));
  assert.ok(long('1').length <= 120);
  assert.notEqual(long('1'), long('2'), 'names that differ after the cut keep apart');
});

test('buildx args: the plan’s layer cache is added only when the user gives no cache-from/cache-to', () => {
  const plan = {
    dockerfile: 'Dockerfile',
    buildArgs: new Map<string, string>(),
    metadataFile: '/tmp/m.json',
    layerCache: { from: ['type=gha,scope=s'], to: ['type=gha,scope=s,mode=min,ignore-error=true'] },
  };
  const read = (v: Record<string, string>) => readInputs((n) => v[n] ?? '');
  const own = buildxArgs(read({}), plan);
  assert.equal(own[own.indexOf('--cache-from') + 1], 'type=gha,scope=s');
  assert.equal(own[own.indexOf('--cache-to') + 1], 'type=gha,scope=s,mode=min,ignore-error=true');
  const user = buildxArgs(read({ 'cache-to': 'type=registry,ref=r/c' }), plan);
  assert.deepEqual(
    user.flatMap((a, i) => (a.startsWith('--cache') ? [a, user[i + 1]] : [])),
    ['--cache-to', 'type=registry,ref=r/c'],
  );
});

test('the layer-cache input takes auto or off', () => {
  const read = (v: string) => readInputs((n) => (n === 'layer-cache' ? v : ''));
  assert.equal(read('').layerCache, 'auto');
  assert.equal(read('off').layerCache, 'off');
  assert.throws(
    () => read('max'),
    (e: unknown) => e instanceof InputError && /layer-cache/.test(String(e)),
  );
});
