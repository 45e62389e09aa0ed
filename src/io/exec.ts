// The one place the action starts processes. Arguments always go as an argv array, never through a
// shell, so no input can be interpreted as shell syntax.
import { spawn } from 'node:child_process';

export interface ExecOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Bytes written to the process's stdin. */
  input?: string | Buffer;
  /** Called with each chunk of output as it arrives (build logs are streamed this way). */
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  /** Kill the process after this many milliseconds. */
  timeoutMs?: number;
  /** Abort the process (SIGTERM) when this signal fires. */
  signal?: AbortSignal;
  /** Do not throw on a non-zero exit; the caller inspects `exitCode`. */
  allowFailure?: boolean;
  /** Cap on captured stdout/stderr (bytes); output past it is dropped from the captured copy. */
  maxCapture?: number;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export class ExecError extends Error {
  readonly result: ExecResult;
  readonly command: string;
  constructor(command: string, result: ExecResult) {
    const tail = (result.stderr || result.stdout).trim().split('\n').slice(-15).join('\n');
    super(`${command} exited with code ${result.exitCode}${tail ? `:\n${tail}` : ''}`);
    this.name = 'ExecError';
    this.command = command;
    this.result = result;
  }
}

const DEFAULT_MAX_CAPTURE = 64 * 1024 * 1024;

/** Runs `file` with `args` (no shell) and resolves with its exit code and captured output. */
export function execFile(
  file: string,
  args: readonly string[],
  opts: ExecOptions = {},
): Promise<ExecResult> {
  const max = opts.maxCapture ?? DEFAULT_MAX_CAPTURE;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      signal: opts.signal,
      timeout: opts.timeoutMs,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    child.stdout.on('data', (c: Buffer) => {
      opts.onStdout?.(c);
      if (outLen < max) out.push(c);
      outLen += c.length;
    });
    child.stderr.on('data', (c: Buffer) => {
      opts.onStderr?.(c);
      if (errLen < max) err.push(c);
      errLen += c.length;
    });
    child.on('error', (e) => reject(e));
    child.on('close', (code, sig) => {
      const result: ExecResult = {
        exitCode: code ?? (sig ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      };
      if (result.exitCode !== 0 && !opts.allowFailure) {
        reject(new ExecError([file, ...args.slice(0, 3)].join(' '), result));
      } else resolve(result);
    });
    child.stdin.on('error', () => {
      /* the process may exit before reading its input; the exit code tells the story */
    });
    if (opts.input !== undefined) child.stdin.end(opts.input);
    else child.stdin.end();
  });
}
