// Runs the bundled action the way the Actions runner does: INPUT_* variables, the GITHUB_* context
// and an event payload file, fresh GITHUB_OUTPUT/STATE/ENV/STEP_SUMMARY files, then the post step
// with the state main saved (as STATE_* variables).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const ROOT = path.resolve(import.meta.dirname, '..', '..');

export interface Annotation {
  level: 'error' | 'warning' | 'notice';
  message: string;
  props: Record<string, string>;
}

export interface StepResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  annotations: Annotation[];
  summary: string;
  masks: string[];
}

export interface RunOptions {
  inputs: Record<string, string>;
  env?: Record<string, string>;
  event?: { name: string; payload: unknown };
  skipPost?: boolean;
  timeoutMs?: number;
  entry?: string;
  cwd?: string;
  /** Sends a signal to one step's process, as the runner does when a job is cancelled. */
  interrupt?: Interrupt;
  /** Runs between main and post (e.g. to inject a fault the post step should meet). */
  beforePost?: () => void | Promise<void>;
}

export interface Interrupt {
  step: 'main' | 'post';
  signal: NodeJS.Signals;
  /** Fires once stdout so far satisfies this (default: at once), then waits `delayMs`. */
  when?: (stdout: string) => boolean;
  delayMs?: number;
}

/** Parses the `name<<delimiter ... delimiter` file format @actions/core writes. */
export function parseCommandFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const [, name, delim] = heredoc;
      const value: string[] = [];
      for (i++; i < lines.length && lines[i] !== delim; i++) value.push(lines[i]!);
      out[name!] = value.join('\n');
    } else if (line.includes('='))
      out[line.slice(0, line.indexOf('='))] = line.slice(line.indexOf('=') + 1);
  }
  return out;
}

function unescapeData(s: string): string {
  return s.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%');
}

export function parseWorkflowCommands(stdout: string): {
  annotations: Annotation[];
  masks: string[];
} {
  const annotations: Annotation[] = [];
  const masks: string[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^::(error|warning|notice|add-mask)(?: ([^:]*))?::(.*)$/.exec(line);
    if (!m) continue;
    if (m[1] === 'add-mask') {
      masks.push(unescapeData(m[3]!));
      continue;
    }
    const props: Record<string, string> = {};
    for (const kv of (m[2] ?? '').split(',').filter(Boolean)) {
      const eq = kv.indexOf('=');
      props[kv.slice(0, eq)] = unescapeData(kv.slice(eq + 1))
        .replace(/%3A/g, ':')
        .replace(/%2C/g, ',');
    }
    annotations.push({ level: m[1] as Annotation['level'], message: unescapeData(m[3]!), props });
  }
  return { annotations, masks };
}

function runStep(
  entry: string,
  env: NodeJS.ProcessEnv,
  cwd: string,
  timeoutMs: number,
  interrupt?: Interrupt,
): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [entry], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let armed = interrupt;
    const check = () => {
      if (armed && (!armed.when || armed.when(stdout + stderr))) {
        const { signal, delayMs } = armed;
        armed = undefined;
        clearInterval(poll);
        setTimeout(() => child.kill(signal), delayMs ?? 0);
      }
    };
    // Conditions may depend on things other than output (a stand-in's request log).
    const poll = setInterval(check, 100);
    check();
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
      check();
    });
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      clearInterval(poll);
      resolve({ exitCode: code ?? 1, stdout, stderr });
    });
  });
}

export async function runAction(
  opts: RunOptions,
): Promise<{ main: StepResult; post?: StepResult; state: Record<string, string> }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'bgi-run-'));
  const files = {
    output: 'output',
    state: 'state',
    env: 'env',
    summary: 'summary',
    event: 'event.json',
  };
  const p = (f: string) => path.join(dir, f);
  for (const f of Object.values(files)) writeFileSync(p(f), '');
  const event = opts.event ?? { name: 'push', payload: {} };
  writeFileSync(p(files.event), JSON.stringify(event.payload));
  const base: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    DOCKER_HOST: process.env['DOCKER_HOST'],
    GITHUB_ACTIONS: 'true',
    CI: 'true',
    GITHUB_EVENT_NAME: event.name,
    GITHUB_EVENT_PATH: p(files.event),
    GITHUB_REPOSITORY: 'octo/service',
    GITHUB_REPOSITORY_OWNER: 'octo',
    GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
    GITHUB_REF: 'refs/heads/main',
    GITHUB_WORKSPACE: opts.cwd ?? ROOT,
    GITHUB_RUN_ID: String(Date.now()),
    GITHUB_RUN_ATTEMPT: '1',
    GITHUB_JOB: 'image',
    GITHUB_ACTOR: 'octocat',
    GITHUB_ACTION: 'build-go-image',
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: 'X64',
    RUNNER_TEMP: mkdtempSync(path.join(tmpdir(), 'bgi-runner-temp-')),
    GITHUB_OUTPUT: p(files.output),
    GITHUB_STATE: p(files.state),
    GITHUB_ENV: p(files.env),
    GITHUB_STEP_SUMMARY: p(files.summary),
  };
  for (const [k, v] of Object.entries(opts.inputs))
    base[`INPUT_${k.replace(/ /g, '_').toUpperCase()}`] = v;
  const env = { ...base, ...opts.env };
  // The bundle, as the runner runs it; BGI_ACTION_ENTRY=src runs the sources directly (Node's type
  // stripping), for trying a change without bundling it first.
  const entry =
    opts.entry ??
    (process.env['BGI_ACTION_ENTRY'] === 'src'
      ? path.join(ROOT, 'src', 'index.ts')
      : path.join(ROOT, 'dist', 'index.js'));
  const cwd = opts.cwd ?? ROOT;
  const timeout = opts.timeoutMs ?? 20 * 60_000;
  const collect = (r: { exitCode: number; stdout: string; stderr: string }): StepResult => {
    const result: StepResult = {
      ...r,
      outputs: parseCommandFile(readFileSync(p(files.output), 'utf8')),
      summary: readFileSync(p(files.summary), 'utf8'),
      ...parseWorkflowCommands(r.stdout),
    };
    writeFileSync(p(files.output), '');
    writeFileSync(p(files.summary), '');
    return result;
  };
  const on = (step: 'main' | 'post') =>
    opts.interrupt?.step === step ? opts.interrupt : undefined;
  const main = collect(await runStep(entry, env, cwd, timeout, on('main')));
  const state = parseCommandFile(readFileSync(p(files.state), 'utf8'));
  if (opts.skipPost) return { main, state };
  const postEnv: NodeJS.ProcessEnv = {
    ...env,
    ...parseCommandFile(readFileSync(p(files.env), 'utf8')),
  };
  for (const [k, v] of Object.entries(state)) postEnv[`STATE_${k}`] = v;
  writeFileSync(p(files.state), '');
  await opts.beforePost?.();
  const post = collect(await runStep(entry, postEnv, cwd, timeout, on('post')));
  return { main, post, state };
}
