// `--help`: every option of a command with its description and default, grouped as action.yml
// groups its inputs, then the exit codes.
import { GROUPS } from './action-inputs.ts';
import type { CliOption, CommandSpec } from './options.ts';

export const EXIT_CODES = [
  ['0', 'success'],
  ['1', 'the build (or the Go version lookup) failed'],
  ['2', 'usage: an unknown command or option, a missing value, or an input value that is refused'],
  ['130', 'interrupted (Ctrl-C or SIGTERM); a builder this run created is removed first'],
] as const;

const WIDTH = 100;

function wrap(text: string, indent: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && indent + line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.map((l) => ' '.repeat(indent) + l);
}

function usageOf(o: CliOption): string {
  const short = o.short ? `-${o.short}, ` : '';
  if (o.kind === 'boolean') return `${short}--${o.name}${o.input ? ' [true|false]' : ''}`;
  if (o.choices) return `${short}--${o.name} ${o.choices.join('|')}`;
  return `${short}--${o.name} <${o.kind === 'list' ? 'value>...' : 'value>'}`;
}

function optionLines(o: CliOption): string[] {
  const text = `${o.description}${o.default ? ` [default: ${o.default}]` : ''}`;
  return [`  ${usageOf(o)}`, ...wrap(text, 6)];
}

export function renderOptions(spec: CommandSpec): string[] {
  const lines: string[] = [];
  const groups = [...GROUPS, { id: 'cli', title: 'Command line' } as const];
  for (const g of groups) {
    const options = spec.options.filter((o) => o.group === g.id);
    if (options.length === 0) continue;
    lines.push('', `${g.title} options:`);
    for (const o of options) lines.push(...optionLines(o));
  }
  return lines;
}

function exitCodeLines(): string[] {
  return ['', 'Exit codes:', ...EXIT_CODES.map(([c, what]) => `  ${c.padEnd(4)} ${what}`)];
}

export function renderHelp(commands: CommandSpec[], command?: string): string {
  const spec = command ? commands.find((c) => c.name === command) : undefined;
  if (spec)
    return [
      `usage: build-go-image ${spec.name} [options]`,
      '',
      ...wrap(spec.summary, 0),
      ...wrap(
        'Options are the inputs of action.yml, with the same names and defaults. Switches ([true|false]) stand alone for true or take true or false. An option marked ... repeats, one value per use (--tags a --tags b), or takes a comma- or newline-separated list as the input does; the others take one value.',
        0,
      ),
      ...renderOptions(spec),
      ...exitCodeLines(),
      '',
    ].join('\n');
  const build = commands[0]!;
  return [
    'usage: build-go-image <command> [options]',
    '       build-go-image <command> --help',
    '       build-go-image --version',
    '',
    'Commands:',
    ...commands.flatMap((c) => [`  ${c.name}`, ...wrap(c.summary, 6)]),
    '',
    ...wrap(
      `Options of ${build.name}: the inputs of action.yml, with the same names and defaults. Switches ([true|false]) stand alone for true or take true or false; an option marked ... repeats, one value per use (--tags a --tags b).`,
      0,
    ),
    ...renderOptions(build),
    ...exitCodeLines(),
    '',
  ].join('\n');
}
