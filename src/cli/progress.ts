// `--progress`: buildx draws its own live display on a terminal; CI logs and pipes get plain lines.
import type { ProgressChoice } from './options.ts';
import { UsageError } from './parse.ts';

export type BuildProgress = 'tty' | 'plain' | 'quiet';

/** CI systems set CI (GitHub Actions, GitLab, Buildkite, ...); `CI=false` does not count. */
export function inCI(env: NodeJS.ProcessEnv): boolean {
  const ci = env['CI'];
  return ci !== undefined && ci !== '' && ci.toLowerCase() !== 'false' && ci !== '0';
}

export function resolveProgress(
  choice: ProgressChoice,
  stderrIsTerminal: boolean,
  env: NodeJS.ProcessEnv,
): BuildProgress {
  if (choice === 'auto') return stderrIsTerminal && !inCI(env) ? 'tty' : 'plain';
  if (choice === 'tty' && !stderrIsTerminal)
    throw new UsageError(
      '--progress tty needs a terminal on stderr (buildx draws its display there): use plain or auto',
    );
  return choice;
}
