// The option table of each command: every input of action.yml is an option of `build` under the
// same name, plus the few options only a terminal has (help, version, progress, verbose).
import { GROUPS, type ActionInput, type GroupId } from './action-inputs.ts';

export type OptionKind = 'value' | 'list' | 'boolean';

export interface CliOption {
  name: string;
  kind: OptionKind;
  description: string;
  /** The default shown in help ('' for none). */
  default: string;
  /** Help group: an action.yml group, or 'cli' for the terminal's own options. */
  group: GroupId | 'cli';
  /** True for the options that are inputs of action.yml. */
  input: boolean;
  /** Values a `value` option accepts, when it is a fixed set. */
  choices?: readonly string[];
  short?: string;
}

export const PROGRESS_CHOICES = ['auto', 'plain', 'tty', 'quiet'] as const;
export type ProgressChoice = (typeof PROGRESS_CHOICES)[number];

/** The terminal's own options; none may share a name with an input (a unit test checks). */
export const CLI_OPTIONS: CliOption[] = [
  {
    name: 'progress',
    kind: 'value',
    description:
      "How build output is shown: `tty` buildx's own live display (needs a terminal on stderr), `plain` its plain lines, `quiet` nothing unless the build fails, `auto` tty on a terminal and plain otherwise or when CI is set.",
    default: 'auto',
    group: 'cli',
    input: false,
    choices: PROGRESS_CHOICES,
  },
  {
    name: 'verbose',
    kind: 'boolean',
    description: 'Print debug messages.',
    default: 'false',
    group: 'cli',
    input: false,
  },
  {
    name: 'help',
    kind: 'boolean',
    description: 'Print this help and exit.',
    default: '',
    group: 'cli',
    input: false,
    short: 'h',
  },
  {
    name: 'version',
    kind: 'boolean',
    description: "Print build-go-image's version and exit.",
    default: '',
    group: 'cli',
    input: false,
  },
];

/** The inputs `resolve-go-version` reads (all others belong to a build). */
export const RESOLVE_GO_VERSION_INPUTS = [
  'context',
  'go-version',
  'go-version-file',
  'go-release-source',
  'go-proxy',
] as const;

/**
 * How an input is given on the command line: true/false inputs are switches (`--push`, or
 * `--push false`), inputs whose description speaks of newlines or one item per line repeat
 * (`--tags a --tags b`), the rest take one value.
 */
export function optionFromInput(i: ActionInput): CliOption {
  const kind: OptionKind = /^(true|false)$/.test(i.default)
    ? 'boolean'
    : /newline|per line/i.test(i.description)
      ? 'list'
      : 'value';
  return {
    name: i.name,
    kind,
    description: i.description,
    // A workflow expression has no value outside Actions.
    default: i.default.includes('${{') ? '' : i.default,
    group: i.group ?? 'build',
    input: true,
  };
}

export interface CommandSpec {
  name: string;
  summary: string;
  options: CliOption[];
}

export function commandSpecs(inputs: ActionInput[]): CommandSpec[] {
  const all = inputs.map(optionFromInput);
  const order = (o: CliOption) => GROUPS.findIndex((g) => g.id === o.group);
  // Stable sort: grouped, and within a group in action.yml's order.
  const build = [...all].sort((a, b) => order(a) - order(b));
  const resolve = RESOLVE_GO_VERSION_INPUTS.map((n) => {
    const o = all.find((x) => x.name === n);
    if (!o) throw new Error(`action.yml has no input ${n}, which resolve-go-version reads`);
    return o;
  });
  return [
    {
      name: 'build',
      summary:
        'Build (and push) the image as the action does; every input of action.yml is an option.',
      options: [...build, ...CLI_OPTIONS],
    },
    {
      name: 'resolve-go-version',
      summary:
        'Print the Go version a build would use (newest patch of go.mod/go.work or --go-version).',
      options: [...resolve, ...CLI_OPTIONS.filter((o) => o.name !== 'progress')],
    },
  ];
}
