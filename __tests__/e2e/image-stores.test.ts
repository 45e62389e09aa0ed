// What depends on the engine's image store, on both stores: Docker's classic store (the default of
// Docker 28, so of most hosted runners) and the containerd image store (Docker 29's default, and the
// main test engine's). A build that is not pushed is measured from its own output: exported as an
// OCI layout where the driver can, loaded and saved where it cannot (the docker driver on the
// classic store refuses every exporter); either way the report names the platform and its layers,
// and nothing the action loaded for measuring is left in the user's image store.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { execFile } from '../../src/io/exec.ts';
import { requireEngine, startSecondEngine } from '../helpers/engine.ts';
import { runAction } from '../helpers/run-action.ts';

function context(baseRegistry: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'bgi-stores-'));
  writeFileSync(path.join(dir, 'go.mod'), 'module example.com/stores\n\ngo 1.24\n');
  writeFileSync(path.join(dir, 'payload.txt'), `${'x'.repeat(64 * 1024)}\n`);
  writeFileSync(
    path.join(dir, 'Dockerfile'),
    `FROM ${baseRegistry}/busybox:1.37.0\nARG GO_VERSION\nCOPY payload.txt /payload.txt\nUSER 65534\nCMD ["sh"]\n`,
  );
  return dir;
}

for (const store of ['containerd', 'classic'] as const) {
  test(
    `${store} image store: a build that is not pushed is measured, and leaves no image behind`,
    { timeout: 10 * 60_000 },
    async (t) => {
      const engine = await requireEngine(t);
      if (!engine) return;
      const onEngine =
        store === 'classic'
          ? (await startSecondEngine(t, 'classic')).onEngine
          : { env: process.env };
      const info = await execFile(
        'docker',
        ['info', '--format', '{{json .DriverStatus}}'],
        onEngine,
      );
      assert.equal(
        info.stdout.includes('io.containerd.snapshotter'),
        store === 'containerd',
        `the engine runs the ${store} store: ${info.stdout}`,
      );
      const images = async () =>
        (
          await execFile(
            'docker',
            ['image', 'ls', '--format', '{{.Repository}}:{{.Tag}}'],
            onEngine,
          )
        ).stdout;

      const run = await runAction({
        inputs: {
          context: context(engine.baseRegistry),
          platforms: 'linux/amd64',
          'go-version': engine.goVersion,
          'check-go-image': 'false',
          'cache-mounts': 'false',
          'github-token': '',
          comment: 'false',
          advice: 'off',
        },
        env: store === 'classic' ? { DOCKER_HOST: onEngine.env['DOCKER_HOST']! } : {},
        skipPost: true,
      });
      assert.equal(run.main.exitCode, 0, run.main.stdout.slice(-3000));
      assert.doesNotMatch(run.main.stdout, /could not be exported for measuring/);
      const report = JSON.parse(run.main.outputs['size-report'] ?? '{}') as {
        head?: {
          platforms: { platform: string; layers: { size: number; uncompressed?: number }[] }[];
        };
      };
      const platforms = report.head?.platforms ?? [];
      assert.deepEqual(
        platforms.map((p) => p.platform),
        ['linux/amd64'],
        run.main.outputs['size-report'],
      );
      const layers = platforms[0]!.layers;
      assert.ok(layers.length >= 2, 'the base layer and the COPY layer');
      const payload = layers.at(-1)!;
      assert.ok(
        (payload.uncompressed ?? 0) >= 64 * 1024,
        `the 64 KiB payload layer is measured: ${JSON.stringify(layers)}`,
      );
      // Sized as a push sends it (compressed) on both stores: 64 KiB of one letter is tiny.
      assert.ok(payload.size < 8 * 1024, `compressed size of the payload layer: ${payload.size}`);
      assert.doesNotMatch(
        await images(),
        /build-go-image-measure/,
        'the measuring copy is removed',
      );
    },
  );
}
