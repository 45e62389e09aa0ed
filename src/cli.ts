#!/usr/bin/env node
// The same core as the action, for a laptop: `build-go-image build --platforms ... --tags ...` and
// `build-go-image resolve-go-version`. Options are action.yml's inputs (src/cli/options.ts).
// Exit codes: 0 success, 1 the build failed, 2 the command line is wrong, 130 interrupted.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dockerCommand } from './buildx/command.ts';
import { loadActionInputs } from './cli/action-inputs.ts';
import { renderHelp } from './cli/help.ts';
import { commandSpecs, type ProgressChoice } from './cli/options.ts';
import { UsageError, parseCommandLine } from './cli/parse.ts';
import { resolveProgress } from './cli/progress.ts';
import { installCancelHandlers } from './io/cancel.ts';
import { consoleLogger } from './log.ts';
import { InputError, getErrorMessage } from './errors.ts';
import { runMain } from './main.ts';
import { runPost } from './post.ts';
import type { MainState } from './state.ts';
import { resolveGoVersion } from './go/index.ts';
import { formatGoVersion } from './go/version.ts';
import { DEFAULT_RELEASE_SOURCE, goProxySetting } from './go/sources.ts';
import { renderSummaryText, type SummaryFacts } from './summary.ts';
import { renderSizeText } from './sizereport/render.ts';
import type { SizeDiff } from './sizereport/diff.ts';
import type { BudgetVerdict } from './sizereport/budgets.ts';

/** The version in package.json of this package: above src/ in the repository, above dist/cli/ when installed. */
function packageVersion(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 3; up++, dir = path.dirname(dir)) {
    try {
      const pkg = JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as {
        name?: string;
        version?: string;
      };
      // dist/cli/package.json only marks the bundle as ESM: it has no name.
      if (pkg.name === 'build-go-image' && pkg.version) return pkg.version;
    } catch {
      // No package.json here: look one folder up.
    }
  }
  throw new Error('the package.json of build-go-image was not found next to the program');
}

async function run(argv: string[]): Promise<number> {
  const commands = commandSpecs(loadActionInputs());
  const parsed = parseCommandLine(argv, commands);
  if (parsed.kind === 'help') {
    process.stdout.write(renderHelp(commands, parsed.command));
    return 0;
  }
  if (parsed.kind === 'version') {
    console.log(packageVersion());
    return 0;
  }
  const opts = parsed.values;
  const log = consoleLogger(opts.get('verbose')?.toLowerCase() === 'true');
  if (parsed.command === 'resolve-go-version') {
    const proxy = goProxySetting(opts.get('go-proxy') ?? '', process.env);
    const r = await resolveGoVersion({
      context: opts.get('context') ?? '.',
      goVersion: opts.get('go-version'),
      goVersionFile: opts.get('go-version-file'),
      sources: {
        releaseSource: opts.get('go-release-source') ?? DEFAULT_RELEASE_SOURCE,
        goProxy: proxy.value,
        goProxyInput: proxy.input,
      },
      env: process.env,
    });
    for (const n of r.notices) log.notice(n);
    for (const w of r.warnings) log.warning(w);
    console.log(formatGoVersion(r.version));
    return 0;
  }
  return build(opts, log);
}

async function build(
  opts: Map<string, string>,
  log: ReturnType<typeof consoleLogger>,
): Promise<number> {
  const progress = resolveProgress(
    (opts.get('progress') ?? 'auto') as ProgressChoice,
    process.stderr.isTTY === true,
    process.env,
  );
  let state: MainState | undefined;
  let facts: SummaryFacts | undefined;
  const outputs: Record<string, string> = {};
  installCancelHandlers({
    report: (signal) => {
      console.error(`\ncancelled (${signal}) during phase "${state?.phase ?? 'inputs'}"`);
      // No post step follows in a terminal: remove a builder this run created, as post would.
      if (state?.createdBuilder) {
        const rm = dockerCommand(['buildx', 'rm', '--force', state.createdBuilder]);
        spawnSync(rm.file, rm.args, { stdio: 'ignore' });
      }
    },
    exitCode: 130,
  });
  let failure: unknown;
  try {
    await runMain({
      log,
      input: (name) => opts.get(name) ?? '',
      env: process.env,
      setOutput: (k, v) => {
        outputs[k] = v;
      },
      saveState: (s) => {
        state = s;
      },
      writeSummary: async () => {},
      summaryFacts: (f) => {
        facts = f;
      },
      setSecret: () => {},
      buildProgress: progress === 'tty' ? 'tty' : 'plain',
      buildOutput: progress === 'quiet' ? () => {} : (c) => process.stderr.write(c),
    });
  } catch (e) {
    failure = e;
  }
  // What post does in Actions, only when main started something (a builder, cache state).
  if (state) await runPost(state, log, (k, v) => (outputs[k] = v));
  if (failure !== undefined) throw failure;
  console.log(`\n${finalSummary(facts, outputs)}`);
  return 0;
}

/** The job summary's facts and the size table, as text (markdown is for the job summary page). */
function finalSummary(facts: SummaryFacts | undefined, outputs: Record<string, string>): string {
  const parts: string[] = [];
  if (facts) parts.push(renderSummaryText(facts));
  else
    for (const k of ['go-version', 'digest'])
      if (outputs[k]) parts.push(`${k === 'go-version' ? 'Go' : 'Digest'}  ${outputs[k]}`);
  if (outputs['cache-saved']) {
    const saved = JSON.parse(outputs['cache-saved']) as Record<string, boolean>;
    parts.push(
      `cache mounts saved: ${Object.entries(saved)
        .map(([id, ok]) => `${id} ${ok ? 'yes' : 'no'}`)
        .join(', ')}`,
    );
  }
  if (outputs['size-report']) {
    const r = JSON.parse(outputs['size-report']) as { diff: SizeDiff; verdict?: BudgetVerdict };
    parts.push(renderSizeText(r.diff, r.verdict));
  }
  if (outputs['part-file']) parts.push(`part file for the merge job: ${outputs['part-file']}`);
  return parts.join('\n\n');
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`error: ${getErrorMessage(e)}`);
    // The command line or an input's value is wrong (fix the command) vs. the work failed.
    process.exit(e instanceof UsageError || e instanceof InputError ? 2 : 1);
  },
);
