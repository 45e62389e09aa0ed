// This run's scratch directory.
import { mkdirSync } from 'node:fs';
import path from 'node:path';

/** A directory of this process under RUNNER_TEMP (which the runner empties after the job). */
export function makeWorkDir(env: NodeJS.ProcessEnv): string {
  const dir = path.join(
    env['RUNNER_TEMP'] || path.join(process.cwd(), '.tmp'),
    `build-go-image-${process.pid}`,
  );
  mkdirSync(dir, { recursive: true });
  return dir;
}
