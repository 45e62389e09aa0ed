// Benchmark: what finding and analysing the Go executables adds to the size step. The size step
// (measure the pushed image from its registry with unpacked sizes, diff against a baseline, render
// the comment) is timed with and without the executables, rounds interleaved so both see the same
// machine; the ratio is the figure (target: at most 1.20). Two images: the reference service
// (examples/go-service, the target) and, for the bound, the golang base image with its dozens of
// Go executables (at most 8 analysed per platform).
// Needs the build engine (bash scripts/build-engine.sh up). Run: npm run bench:size-step
import { execFile } from '../src/io/exec.ts';
import { readEngineEnv } from '../__tests__/helpers/engine.ts';
import { buildReference, median, time } from './timing.ts';
import { RegistryClient } from '../src/registry/client.ts';
import { parseImageReference } from '../src/registry/reference.ts';
import { diffReports } from '../src/sizereport/diff.ts';
import { measureImage, type ImageSizeReport } from '../src/sizereport/measure.ts';
import { renderMarkdown } from '../src/sizereport/render.ts';
import { registrySource } from '../src/sizereport/sources.ts';
import path from 'node:path';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 7);
const env = readEngineEnv();
const reference = `${env['BGI_REGISTRY']}/bench/go-service:size-step`;
const svc = path.join(import.meta.dirname, '..', 'examples', 'go-service');
await execFile('docker', buildReference(env, svc, ['--tag', reference, '--push']));
const golang = `${env['BGI_BASE_REGISTRY']}/golang:${env['BGI_GO_VERSION']}`;

/** The size step as reportSizes runs it, without the GitHub calls: measure, diff, render. */
async function sizeStep(ref: string, executables: boolean): Promise<ImageSizeReport> {
  const head = await measureImage(
    registrySource(new RegistryClient(), parseImageReference(ref)),
    ref,
    { uncompressed: true, ...(executables ? {} : { executables: false as const }) },
  );
  if (!head) throw new Error(`${ref} is not in the registry`);
  renderMarkdown(diffReports(head, head, 'the last build of main'), 'bench');
  return head;
}

async function compare(ref: string, rounds: number) {
  const without: number[] = [];
  const withGo: number[] = [];
  let found = '';
  for (let r = 0; r < rounds; r++) {
    // Alternate which goes first, so neither always runs on a warmer machine.
    const order = r % 2 === 0 ? [false, true] : [true, false];
    for (const on of order) {
      let head: ImageSizeReport | undefined;
      const s = await time(async () => (head = await sizeStep(ref, on)));
      (on ? withGo : without).push(s);
      if (on && head)
        found = head.platforms
          .map(
            (p) =>
              `${p.platform}: ${p.go?.executables.length ?? 0} analysed${p.go?.more ? ` + ${p.go.more} more` : ''}${p.go?.skipped.length ? `, ${p.go.skipped.length} named as skipped` : ''}, ${((p.uncompressed ?? 0) / 1024 / 1024).toFixed(1)} MiB unpacked`,
          )
          .join('; ');
    }
  }
  const a = median(without);
  const b = median(withGo);
  // Each round times both side by side: the median of its differences is less moved by the
  // machine's drift between rounds than the difference of the medians.
  const paired = median(withGo.map((s, r) => s - without[r]!));
  console.log(`\n${ref} (${rounds} rounds, median seconds): ${found}`);
  console.log(`size step, unpacked sizes only        ${a.toFixed(3)} s`);
  console.log(`size step, + Go executables by module ${b.toFixed(3)} s`);
  console.log(
    `added per round (median of the rounds' differences) ${(paired * 1000).toFixed(0)} ms`,
  );
  console.log(`ratio ${(b / a).toFixed(2)} (target for the reference image: <= 1.20)`);
  return b / a;
}

const ratio = await compare(reference, ROUNDS);
await compare(golang, Math.max(3, Math.ceil(ROUNDS / 2)));
if (ratio > 1.2) process.exitCode = 1;
