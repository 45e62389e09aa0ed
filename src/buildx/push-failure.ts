// A push that failed without a cause. BuildKit 0.25 (buildx 0.29) reports a registry error that
// carries a code but no message as `failed to push <ref>: unknown`, dropping the HTTP status that
// BuildKit 0.13 printed; a user then cannot tell a missing repository from a refused login. The
// registry is asked directly about the same repository, and its answer goes into the error.
import { getErrorMessage } from '../errors.ts';
import type { RegistryClient } from '../registry/client.ts';
import { parseImageReference } from '../registry/reference.ts';

/** The reference of the last `failed to push <ref>: <cause>` line when its cause says nothing. */
export function causelessPush(log: string): string | undefined {
  const lines = log.split('\n').slice(-60).reverse();
  for (const line of lines) {
    const m = /failed to push (\S+?):?(?: (.*))?$/.exec(line.trim());
    if (m) return /^(unknown)?$/i.test((m[2] ?? '').trim()) ? m[1] : undefined;
  }
  return undefined;
}

/** One line that names what the registry says about the repository, or undefined. */
export async function explainPushFailure(
  log: string,
  registry: Pick<RegistryClient, 'describeRepository'>,
): Promise<string | undefined> {
  const pushed = causelessPush(log);
  if (!pushed) return undefined;
  let answer: string;
  try {
    const ref = parseImageReference(pushed);
    answer = `${ref.registry} answers ${await registry.describeRepository(ref)} for ${ref.repository}`;
  } catch (e) {
    answer = `asking the registry about ${pushed} failed too: ${getErrorMessage(e)}`;
  }
  return `the push of ${pushed} failed and buildx gave no reason; asked directly, ${answer} (404 NAME_UNKNOWN: the repository does not exist or the login cannot see it; 401/403: log in with push rights)`;
}

/** The build's error with the registry's own answer added when buildx gave no reason. */
export async function withPushExplanation(
  error: unknown,
  registry: Pick<RegistryClient, 'describeRepository'>,
): Promise<unknown> {
  if (!(error instanceof Error)) return error;
  const why = await explainPushFailure(error.message, registry);
  return why ? new Error(`${error.message}\n${why}`, { cause: error }) : error;
}
