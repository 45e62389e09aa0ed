// argv -> what to do, with Node's own util.parseArgs in strict mode. A wrong command line fails
// with a UsageError (exit code 2) that names the closest valid name: a misspelt or docker-style
// option (`--tag`, `--build-arg`, `-t`) is never ignored, since the build would silently lack it.
import { parseArgs } from 'node:util';
import type { CliOption, CommandSpec } from './options.ts';

/** The command line itself is wrong: exit code 2, the message says what to type instead. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export type Parsed =
  | { kind: 'help'; command?: string }
  | { kind: 'version' }
  | { kind: 'run'; command: string; values: Map<string, string> };

/** docker build's short flags, for the suggestion only (options carry action.yml's names). */
const DOCKER_SHORT: Record<string, string> = { t: 'tags', f: 'file', o: 'outputs' };

/** Optimal string alignment distance: edits, with a swap of neighbours counted as one. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  return d[a.length]![b.length]!;
}

/** The candidate closest to `typed`, if any is close enough to be what was meant. */
export function closest(typed: string, candidates: readonly string[]): string | undefined {
  const t = typed.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const dist = editDistance(t, c);
    if (dist < bestDistance) [best, bestDistance] = [c, dist];
  }
  if (best !== undefined && bestDistance <= Math.max(1, Math.floor(t.length / 3))) return best;
  // A prefix (`--go-ver`) or the name with its words in another order stays recognisable.
  return (
    candidates
      .filter((c) => c.startsWith(t) && t.length >= 3)
      .sort((a, b) => a.length - b.length)[0] ??
    candidates.find((c) => c.split('-').sort().join('-') === t.split('-').sort().join('-'))
  );
}

function didYouMean(name: string | undefined, prefix = '--'): string {
  return name ? `: did you mean ${prefix}${name}?` : '';
}

export function parseCommandLine(argv: string[], commands: CommandSpec[]): Parsed {
  const names = commands.map((c) => c.name);
  const [first, ...rest] = argv;
  if (first === undefined)
    throw new UsageError(
      `no command given: build-go-image ${names.join('|')} [options] (build-go-image --help lists them)`,
    );
  if (first === '--help' || first === '-h') return { kind: 'help' };
  if (first === 'help') {
    const about = rest[0];
    if (about !== undefined && !names.includes(about))
      throw new UsageError(`unknown command "${about}"${didYouMean(closest(about, names), '')}`);
    return about === undefined ? { kind: 'help' } : { kind: 'help', command: about };
  }
  if (first === '--version') return { kind: 'version' };
  if (first.startsWith('-')) {
    const build = commands[0]!;
    const name = first.replace(/^-+/, '').split('=')[0]!;
    if (build.options.some((o) => o.name === name))
      throw new UsageError(
        `the command comes first: build-go-image ${build.name} ${first} ... (or resolve-go-version)`,
      );
    throw new UsageError(
      `unknown option ${first}${didYouMean(closest(name, ['help', 'version']))} (build-go-image --help lists the commands)`,
    );
  }
  const spec = commands.find((c) => c.name === first);
  if (!spec)
    throw new UsageError(
      `unknown command "${first}"${didYouMean(closest(first, [...names, 'help']), '')} (commands: ${names.join(', ')})`,
    );
  return parseCommandOptions(spec, rest);
}

function parseCommandOptions(spec: CommandSpec, argv: string[]): Parsed {
  const byName = new Map(spec.options.map((o) => [o.name, o]));
  const optionNames = spec.options.map((o) => o.name);
  const unknown = (raw: string): never => {
    const name = raw.replace(/^-+/, '').split('=')[0]!;
    const short = /^-[^-]/.test(raw) ? DOCKER_SHORT[name] : undefined;
    const suggestion = spec.options.some((o) => o.short === name)
      ? undefined
      : (short ?? closest(name, optionNames));
    throw new UsageError(
      `unknown option ${raw.split('=')[0]} for ${spec.name}${didYouMean(suggestion)} (build-go-image ${spec.name} --help lists the options)`,
    );
  };
  // Help wins over everything else on the line, even over a mistake in it.
  if (argv.some((a) => a === '--help' || a === '-h')) return { kind: 'help', command: spec.name };
  if (argv.includes('--version')) return { kind: 'version' };

  // Switches may be given alone or with true/false, as the README writes them (`--push true`).
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const o = a.startsWith('--') && !a.includes('=') ? byName.get(a.slice(2)) : undefined;
    if (o?.kind === 'boolean') {
      const next = argv[i + 1];
      if (next !== undefined && /^(true|false)$/i.test(next)) {
        args.push(`${a}=${next}`);
        i++;
      } else args.push(`${a}=true`);
    } else args.push(a);
  }

  // Unknown names first, with the closest valid one, before parseArgs's generic message.
  const { tokens } = parseArgs({
    args,
    options: Object.fromEntries(
      spec.options.map((o) => [o.name, { type: 'string' as const, multiple: true }]),
    ),
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  for (const t of tokens) {
    if (t.kind === 'option' && !byName.has(t.name)) unknown(t.rawName);
    if (t.kind === 'positional')
      throw new UsageError(
        `unexpected argument "${t.value}": every value follows its option${
          spec.options.some((o) => o.name === 'context')
            ? ` (the build context is --context ${t.value})`
            : ''
        }`,
      );
  }

  let values: Record<string, (string | boolean)[] | undefined>;
  try {
    values = parseArgs({
      args,
      options: Object.fromEntries(
        spec.options.map((o) => [
          o.name,
          {
            type: 'string' as const,
            multiple: true,
            ...(o.short ? { short: o.short } : {}),
          },
        ]),
      ),
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    // Only a missing value is left to parseArgs to find: "Option '--tags <value>' argument missing".
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }

  const out = new Map<string, string>();
  for (const [name, given] of Object.entries(values)) {
    const o = byName.get(name)!;
    const list = (given ?? []).map(String);
    if (list.length === 0) continue;
    if (o.kind !== 'list' && list.length > 1)
      throw new UsageError(`--${name} is given ${list.length} times: it takes one value`);
    checkValue(o, list[0]!);
    out.set(name, list.join('\n'));
  }
  return { kind: 'run', command: spec.name, values: out };
}

function checkValue(o: CliOption, value: string): void {
  if (o.kind === 'boolean' && !/^(true|false)$/i.test(value))
    throw new UsageError(`--${o.name} takes true or false, not "${value}"`);
  if (o.choices && !o.choices.includes(value))
    throw new UsageError(
      `--${o.name} takes one of ${o.choices.join(', ')}, not "${value}"${didYouMean(closest(value, o.choices), '')}`,
    );
}
