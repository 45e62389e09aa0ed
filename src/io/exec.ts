// The one place the action starts processes. Arguments always go as an argv array, never through a
// shell, so no input can be interpreted as shell syntax.
import { spawn, type ChildProcess } from 'node:child_process';

// Every running child, so a cancelled job can stop them instead of leaving orphans that keep
// building or pushing after the step has ended.
const running = new Set<ChildProcess>();

/** Sends `signal` to every running child and waits (bounded) until they have exited. */
export async function terminateChildren(signal: NodeJS.Signals, graceMs = 8000): Promise<void> {
  const children = [...running];
  if (children.length === 0) return;
  const exited = children.map(
    (c) => new Promise<void>((r) => (c.exitCode !== null ? r() : c.once('close', () => r()))),
  );
  for (const c of children) c.kill(signal);
  const timer = new Promise<void>((r) => setTimeout(r, graceMs).unref());
  await Promise.race([Promise.all(exited), timer]);
  for (const c of running) c.kill('SIGKILL');
}

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
  /** The child writes to this process's stderr (a terminal it may draw on); none is captured. */
  inheritStderr?: boolean;
}

export interface ExecResult {
  exitCode: number;
  /** The process was killed because it ran past `timeoutMs`. */
  timedOut?: boolean;
  stdout: string;
  stderr: string;
}

export class ExecError extends Error {
  readonly result: ExecResult;
  readonly command: string;
  constructor(command: string, result: ExecResult) {
    const tail = (result.stderr || result.stdout).trim().split('\n').slice(-15).join('\n');
    const how = result.timedOut
      ? 'did not finish in time and was stopped'
      : `exited with code ${result.exitCode}`;
    super(`${command} ${how}${tail ? `:\n${tail}` : ''}`);
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
      stdio: ['pipe', 'pipe', opts.inheritStderr ? 'inherit' : 'pipe'],
      signal: opts.signal,
    });
    // Piped above (stderr may be inherited instead, so the overloads type all three as nullable).
    const stdin = child.stdin!;
    const stdout = child.stdout!;
    running.add(child);
    let timedOut = false;
    const timer =
      opts.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 5000).unref();
          }, opts.timeoutMs);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    stdout.on('data', (c: Buffer) => {
      opts.onStdout?.(c);
      if (outLen < max) out.push(c);
      outLen += c.length;
    });
    child.stderr?.on('data', (c: Buffer) => {
      opts.onStderr?.(c);
      if (errLen < max) err.push(c);
      errLen += c.length;
    });
    child.on('error', (e) => {
      running.delete(child);
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, sig) => {
      running.delete(child);
      clearTimeout(timer);
      const result: ExecResult = {
        exitCode: code ?? (sig ? 128 : 1),
        timedOut,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      };
      if (result.exitCode !== 0 && !opts.allowFailure) {
        reject(new ExecError([file, ...args.slice(0, 3)].join(' '), result));
      } else resolve(result);
    });
    stdin.on('error', () => {
      /* the process may exit before reading its input; the exit code tells the story */
    });
    if (opts.input !== undefined) stdin.end(opts.input);
    else stdin.end();
  });
}

/**
 * Starts `file` with `args` (no shell) and leaves it running on its own: not waited for, not
 * stopped on cancel, and a program that cannot start is ignored. For work that may outlive the
 * step and whose loss costs only time.
 */
export function startDetached(file: string, args: readonly string[] = []): void {
  try {
    const child = spawn(file, args, { detached: true, stdio: 'ignore' });
    child.on('error', () => {});
    child.unref();
  } catch {
    // Not startable: the caller only loses what it would have overlapped.
  }
}
