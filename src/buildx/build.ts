// Runs the build, streaming its log; pushes are retried on transient registry errors only.
import { readFileSync } from 'node:fs';
import { ExecError } from '../io/exec.ts';
import { docker } from './command.ts';

const TRANSIENT =
  /(\b50[0234]\b|\b429\b|too many requests|connection reset|broken pipe|i\/o timeout|EOF\b|TLS handshake timeout)/i;
const AUTH = /(\b401\b|\b403\b|unauthorized|denied|authentication required|forbidden)/i;
/**
 * Two jobs pushing the same blob to one repository at once: the registry (distribution's upload
 * handling) may refuse one upload's commit with DIGEST_INVALID although both sent the right bytes.
 * Seen with matrix jobs of one image; pushed again, the blob is found present.
 */
const UPLOAD_RACE = /provided digest did not match uploaded content/i;

export function isTransientPushFailure(log: string): boolean {
  const tail = log.split('\n').slice(-40).join('\n');
  if (AUTH.test(tail) || !/push|export|upload|blob|manifest/i.test(tail)) return false;
  if (TRANSIENT.test(tail)) return true;
  // The race only as the push's own error, not as words some other step printed.
  return tail.split('\n').some((line) => /failed to push/i.test(line) && UPLOAD_RACE.test(line));
}

export interface BuildResult {
  metadata: Record<string, unknown>;
  digest: string;
  imageId: string;
  seconds: number;
  log: string;
  /** The log holds the whole of one attempt (not cut for length, no earlier attempt retried). */
  logComplete: boolean;
}

export async function runBuild(opts: {
  args: string[];
  env: NodeJS.ProcessEnv;
  metadataFile: string;
  onOutput: (chunk: Buffer) => void;
  attempts?: number;
  signal?: AbortSignal;
  /**
   * buildx draws on the terminal (stderr inherited): its output is not captured, so a failed push
   * cannot be told transient and is not retried, and the error points to the output above.
   */
  terminal?: boolean;
  /** Told before a retry: which attempt comes next, of how many, and the error line that caused it. */
  onRetry?: (next: number, attempts: number, why: string) => void;
}): Promise<BuildResult> {
  const attempts = opts.attempts ?? 3;
  const started = Date.now();
  for (let attempt = 1; ; attempt++) {
    let log = '';
    let cut = false;
    const collect = (c: Buffer) => {
      opts.onOutput(c);
      log += c.toString('utf8');
      if (log.length > 4_000_000) {
        log = log.slice(-2_000_000);
        cut = true;
      }
    };
    try {
      await docker(opts.args, {
        env: opts.env,
        onStdout: collect,
        onStderr: collect,
        signal: opts.signal,
        maxCapture: 0,
        inheritStderr: opts.terminal,
      });
      const metadata = JSON.parse(readFileSync(opts.metadataFile, 'utf8')) as Record<
        string,
        unknown
      >;
      return {
        metadata,
        digest: String(metadata['containerimage.digest'] ?? ''),
        imageId: String(metadata['containerimage.config.digest'] ?? ''),
        seconds: (Date.now() - started) / 1000,
        log,
        logComplete: !cut && attempt === 1,
      };
    } catch (e) {
      if (!(e instanceof ExecError) || attempt >= attempts || !isTransientPushFailure(log)) {
        if (e instanceof ExecError && opts.terminal)
          throw new Error(
            `docker buildx build failed (exit code ${e.result.exitCode}): its output is above`,
            { cause: e },
          );
        if (e instanceof ExecError)
          throw new Error(`docker buildx build failed:\n${log.split('\n').slice(-25).join('\n')}`, {
            cause: e,
          });
        throw e;
      }
      const why =
        log
          .split('\n')
          .filter((l) => /error/i.test(l))
          .at(-1) ?? 'a registry error';
      opts.onRetry?.(attempt + 1, attempts, why.replace(/^#\d+\s+/, '').trim());
      await new Promise((r) => setTimeout(r, 2000 * attempt));
    }
  }
}
