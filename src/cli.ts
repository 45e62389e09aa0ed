#!/usr/bin/env node
// The same core as the action, for a laptop: `build-go-image build --platforms ... --tags ...` and
// `build-go-image resolve-go-version`. Options carry the input names of action.yml.
import { spawnSync } from 'node:child_process';
import { dockerCommand } from './buildx/command.ts';
import { installCancelHandlers } from './io/cancel.ts';
import { consoleLogger } from './log.ts';
import { getErrorMessage } from './errors.ts';
import { runMain } from './main.ts';
import { runPost } from './post.ts';
import type { MainState } from './state.ts';
import { resolveGoVersion } from './go/index.ts';
import { formatGoVersion } from './go/version.ts';

const USAGE = `usage:
  build-go-image build [--<input> <value> ...]     build as the action does (inputs as in action.yml)
  build-go-image resolve-go-version [--context DIR] [--go-version-file FILE] [--go-version V]
options repeat for lists: --tags a --tags b, --build-args A=1 --build-args B=2 (also --build-arg)`;

export function parseOptions(argv: string[]): Map<string, string> {
  const opts = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument "${a}"\n${USAGE}`);
    let name = a.slice(2);
    let value: string;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    } else if (argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('--')) value = argv[++i]!;
    else value = 'true';
    if (name === 'build-arg') name = 'build-args';
    opts.set(name, opts.has(name) ? `${opts.get(name)}\n${value}` : value);
  }
  return opts;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h') {
    console.log(USAGE);
    return command ? 0 : 2;
  }
  const opts = parseOptions(rest);
  const log = consoleLogger(opts.has('verbose'));
  if (command === 'resolve-go-version') {
    const r = await resolveGoVersion({
      context: opts.get('context') ?? '.',
      goVersion: opts.get('go-version'),
      goVersionFile: opts.get('go-version-file'),
      sources: {
        releaseSource: opts.get('go-release-source') ?? 'https://go.dev/dl/?mode=json&include=all',
        goProxy: opts.get('go-proxy') ?? process.env['GOPROXY'] ?? 'https://proxy.golang.org',
      },
      env: process.env,
    });
    for (const w of r.warnings) log.warning(w);
    console.log(formatGoVersion(r.version));
    return 0;
  }
  if (command !== 'build') throw new Error(`unknown command "${command}"\n${USAGE}`);
  let state: MainState | undefined;
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
      setSecret: () => {},
      buildOutput: (c) => process.stderr.write(c),
    });
  } finally {
    await runPost(state, log, () => {});
  }
  for (const k of ['go-version', 'go-image', 'digest', 'platform-digests'])
    if (outputs[k]) console.log(`${k}: ${outputs[k]}`);
  if (outputs['size-report-markdown']) console.log(`\n${outputs['size-report-markdown']}`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`error: ${getErrorMessage(e)}`);
    process.exit(1);
  },
);
