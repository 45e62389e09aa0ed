// The command line: options derived from action.yml (every input, nothing else), help, the closest
// valid name for a mistake, exit codes, progress modes, the terminal summary, and README's CLI lines.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { GROUPS, loadActionInputs, readActionInputs } from '../../src/cli/action-inputs.ts';
import { renderHelp } from '../../src/cli/help.ts';
import { CLI_OPTIONS, commandSpecs, RESOLVE_GO_VERSION_INPUTS } from '../../src/cli/options.ts';
import { closest, parseCommandLine, UsageError, type Parsed } from '../../src/cli/parse.ts';
import { resolveProgress } from '../../src/cli/progress.ts';
import { buildxArgs } from '../../src/buildx/args.ts';
import { execFile } from '../../src/io/exec.ts';
import { readInputs } from '../../src/inputs.ts';
import { renderSummary, renderSummaryText, type SummaryFacts } from '../../src/summary.ts';
import { renderSizeText } from '../../src/sizereport/render.ts';
// @ts-expect-error: a plain-JS script without type declarations
import { readActionYml } from '../../scripts/inputs-table.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const actionText = readFileSync(path.join(root, 'action.yml'), 'utf8');
const yamlInputs = (parseYaml(actionText) as { inputs: Record<string, Record<string, unknown>> })
  .inputs;
const commands = commandSpecs(loadActionInputs());
const build = commands.find((c) => c.name === 'build')!;
const cli = path.join(root, 'src', 'cli.ts');

function parse(line: string): Parsed {
  return parseCommandLine(line.split(' ').filter(Boolean), commands);
}

function usageError(line: string): string {
  try {
    parse(line);
  } catch (e) {
    assert.ok(e instanceof UsageError, `${line}: ${String(e)}`);
    return e.message;
  }
  assert.fail(`${line} was accepted`);
}

test('every input of action.yml is an option of build, under its name, and nothing else is', () => {
  const inputNames = Object.keys(yamlInputs);
  assert.ok(inputNames.length > 40);
  assert.deepEqual(
    build.options
      .filter((o) => o.input)
      .map((o) => o.name)
      .sort(),
    [...inputNames].sort(),
  );
  // The only other options are the terminal's own, and none shadows an input.
  assert.deepEqual(
    build.options.filter((o) => !o.input).map((o) => o.name),
    CLI_OPTIONS.map((o) => o.name),
  );
  for (const o of CLI_OPTIONS) assert.ok(!inputNames.includes(o.name), `${o.name} is an input`);
});

test("the option table's descriptions and defaults are action.yml's, as a YAML parser reads it", () => {
  for (const i of readActionInputs(actionText)) {
    const y = yamlInputs[i.name]!;
    assert.equal(i.description, String(y['description']).replace(/\s+/g, ' ').trim(), i.name);
    assert.equal(i.default, y['default'] === undefined ? '' : String(y['default']), i.name);
  }
  // The README tables' reader (scripts/inputs-table.js) sees the same inputs.
  const tableInputs = (readActionYml(actionText) as { inputs: { name: string; default: string }[] })
    .inputs;
  assert.deepEqual(
    tableInputs.map((i) => [i.name, i.default]),
    readActionInputs(actionText).map((i) => [i.name, i.default]),
  );
});

test('every input sits under a heading that names a help group', () => {
  const ungrouped = readActionInputs(actionText)
    .filter((i) => i.group === undefined)
    .map((i) => i.name);
  assert.deepEqual(ungrouped, [], 'give them a "# --- <group>: ... ---" heading in action.yml');
  for (const g of GROUPS)
    assert.ok(
      build.options.some((o) => o.group === g.id),
      `group ${g.title} has no option`,
    );
});

test('an input added to action.yml becomes an option without another list', () => {
  const extended = actionText.replace(
    /\noutputs:/,
    '\n  # --- size report ---\n  size-colour:\n    description: A new input, one per line.\n    default: red\n\noutputs:',
  );
  const spec = commandSpecs(readActionInputs(extended)).find((c) => c.name === 'build')!;
  const o = spec.options.find((x) => x.name === 'size-colour');
  assert.deepEqual(
    { kind: o?.kind, group: o?.group, default: o?.default },
    { kind: 'list', group: 'size', default: 'red' },
  );
});

test('the defaults help shows are the ones the inputs fall back to', () => {
  const defaults = new Map(build.options.filter((o) => o.input).map((o) => [o.name, o.default]));
  const given = readInputs((n) => defaults.get(n) ?? '') as unknown as Record<string, unknown>;
  const unset = readInputs(() => '') as unknown as Record<string, unknown>;
  for (const [field, value] of Object.entries(unset)) {
    // An empty value is resolved later from the environment (go-proxy: GOPROXY, then the default).
    if (value === '') continue;
    assert.deepEqual(given[field], value, field);
  }
});

test('help lists every option with its description and default, grouped, then the exit codes', () => {
  for (const [command, spec] of [
    [undefined, build],
    ['build', build],
  ] as const) {
    const help = renderHelp(commands, command);
    const flat = help.replace(/\s+/g, ' ');
    for (const o of spec.options) {
      assert.match(help, new RegExp(`--${o.name}\\b`), `${command}: --${o.name}`);
      assert.ok(flat.includes(o.description.replace(/\s+/g, ' ')), `${o.name}: description`);
      if (o.default) assert.ok(flat.includes(`[default: ${o.default}]`), `${o.name}: default`);
    }
    const headings = [...help.matchAll(/^(.+) options:$/gm)].map((m) => m[1]);
    assert.deepEqual(headings, [...GROUPS.map((g) => g.title), 'Command line']);
    // Each option is listed under its group's heading.
    const at = (s: string) => help.indexOf(s);
    assert.ok(at('Go options:') < at('--go-version-file') && at('--go-version-file') < at('Cache'));
    assert.ok(at('Scale-out options:') < at('--merge ') && at('--merge ') < at('Command line'));
    assert.match(help, /^Exit codes:\n {2}0 +success\n {2}1 .*\n {2}2 +usage/m);
  }
  const resolveHelp = renderHelp(commands, 'resolve-go-version');
  const listed = [...resolveHelp.matchAll(/^ {2}(?:-\w, )?--([a-z-]+)/gm)].map((m) => m[1]);
  assert.deepEqual(
    listed.sort(),
    [...RESOLVE_GO_VERSION_INPUTS, 'verbose', 'help', 'version'].sort(),
  );
});

test('unknown or misspelt options and commands name the closest valid one', () => {
  const cases: [string, RegExp][] = [
    ['build --tag x', /unknown option --tag for build: did you mean --tags\?/],
    ['build --build-arg A=1', /did you mean --build-args\?/],
    ['build --platform linux/arm64', /did you mean --platforms\?/],
    ['build --label a=b', /did you mean --labels\?/],
    ['build -t x', /unknown option -t .*did you mean --tags\?/],
    ['build -f Dockerfile', /did you mean --file\?/],
    ['build --go-verison 1.24', /did you mean --go-version\?/],
    ['build --cache-mount auto', /did you mean --cache-mounts\?/],
    ['build --progres plain', /did you mean --progress\?/],
    [
      'build --tags x --frobnicate',
      /unknown option --frobnicate for build \(build-go-image build --help/,
    ],
    ['resolve-go-version --tags x', /unknown option --tags for resolve-go-version/],
    ['biuld', /unknown command "biuld": did you mean build\?/],
    ['resolve-go', /did you mean resolve-go-version\?/],
    ['help bild', /unknown command "bild": did you mean build\?/],
    ['--tags x build', /the command comes first: build-go-image build --tags/],
    ['--verison', /did you mean --version\?/],
    ['build .', /unexpected argument "\.".*--context \./],
    ['build --progress fancy', /one of auto, plain, tty, quiet/],
    ['build --progress pain', /did you mean plain\?/],
    ['build --push maybe', /unexpected argument "maybe"/],
    ['build --push=maybe', /--push takes true or false, not "maybe"/],
    ['build --context a --context b', /--context is given 2 times/],
    ['build --tags', /--tags <value>' argument missing/],
    ['', /no command given/],
  ];
  for (const [line, want] of cases) assert.match(usageError(line), want, line);
  assert.equal(closest('zzzzzz', ['tags', 'file']), undefined);
});

test('options parse to the input values the action would get', () => {
  const r = parse(
    'build --tags a:1 --tags=b:2 --push --load false --no-cache true --build-args A=1 --build-args B=2 --context ./svc --progress plain',
  );
  assert.equal(r.kind, 'run');
  if (r.kind !== 'run') return;
  assert.deepEqual(Object.fromEntries(r.values), {
    tags: 'a:1\nb:2',
    push: 'true',
    load: 'false',
    'no-cache': 'true',
    'build-args': 'A=1\nB=2',
    context: './svc',
    progress: 'plain',
  });
  // Help and version win over anything else on the line, even over a mistake in it.
  assert.deepEqual(parse('build --tag x --help'), { kind: 'help', command: 'build' });
  assert.deepEqual(parse('build -h'), { kind: 'help', command: 'build' });
  assert.deepEqual(parse('help resolve-go-version'), {
    kind: 'help',
    command: 'resolve-go-version',
  });
  assert.deepEqual(parse('--version'), { kind: 'version' });
});

test('--progress: auto is tty on a terminal outside CI, plain elsewhere; tty needs a terminal', () => {
  assert.equal(resolveProgress('auto', true, {}), 'tty');
  assert.equal(resolveProgress('auto', true, { CI: 'true' }), 'plain');
  assert.equal(resolveProgress('auto', true, { CI: 'false' }), 'tty');
  assert.equal(resolveProgress('auto', false, {}), 'plain');
  assert.equal(resolveProgress('quiet', false, {}), 'quiet');
  assert.equal(resolveProgress('plain', true, {}), 'plain');
  assert.equal(resolveProgress('tty', true, { CI: 'true' }), 'tty');
  assert.throws(() => resolveProgress('tty', false, {}), /needs a terminal on stderr/);
  // What buildx is told: its own display for tty, plain lines otherwise (the action's default).
  const inputs = readInputs((n) => ({ tags: 'localhost:5000/x:1' })[n] ?? '');
  const plan = { dockerfile: 'Dockerfile', buildArgs: new Map(), metadataFile: 'm.json' };
  const progressOf = (argv: string[]) => argv[argv.indexOf('--progress') + 1];
  assert.equal(progressOf(buildxArgs(inputs, plan)), 'plain');
  assert.equal(progressOf(buildxArgs(inputs, { ...plan, progress: 'tty' })), 'tty');
});

test('the terminal summary shows the job summary facts as text, and the size table', () => {
  const facts: SummaryFacts = {
    goVersion: '1.24.5',
    goFrom: 'go.mod:3',
    engine: 'Docker 28.5.2, buildx 0.29.1, BuildKit 0.25.1',
    platforms: [
      { platform: 'linux/amd64', how: 'native' },
      { platform: 'linux/arm64', how: 'emulated' },
    ],
    cacheMounts: [
      { id: 'gocache', hit: 'exact', restoredBytes: 3 * 1024 * 1024 },
      { id: 'gomodcache', hit: 'miss', restoredBytes: 0 },
    ],
    buildSeconds: 12.34,
    digest: 'sha256:abc',
    tags: ['localhost:5000/a:1', 'localhost:5000/a:latest'],
  };
  const text = renderSummaryText(facts);
  const lines = text.split('\n');
  assert.match(lines[0]!, /^Go +1\.24\.5 \(from go\.mod:3\)$/);
  assert.ok(lines.includes('Platforms     linux/amd64 (native), linux/arm64 (emulated)'), text);
  assert.ok(lines.includes('Cache mounts  gocache: exact, 3.0 MiB restored'), text);
  assert.ok(lines.includes('              gomodcache: miss'), text);
  assert.ok(lines.includes('Digest        sha256:abc'), text);
  assert.doesNotMatch(text, /[`|]|<br>/);
  // The job summary renders the same rows as markdown.
  const md = renderSummary(facts);
  assert.match(md, /\| Cache mounts \| gocache: exact, 3\.0 MiB restored<br>gomodcache: miss \|/);
  assert.match(md, /\| Digest \| `sha256:abc` \|/);

  const size = renderSizeText(
    {
      image: 'localhost:5000/a',
      hasBaseline: true,
      baselineLabel: 'the last build of main',
      platforms: [
        { platform: 'linux/amd64', base: 10 << 20, head: 12 << 20, layers: [] },
        { platform: 'linux/arm64', head: 11 << 20, layers: [] },
      ],
    },
    { level: 'warning', messages: ['linux/amd64 grew by 20.0%'] },
  ).split('\n');
  assert.equal(size[0], 'Image size: localhost:5000/a');
  assert.match(size[2]!, /^Platform +Base +New +Change$/);
  assert.match(size[3]!, /^linux\/amd64 +10\.0 MiB +12\.0 MiB +\+2\.0 MiB \(\+20\.0%\)$/);
  assert.match(size[4]!, /^linux\/arm64 +— +11\.0 MiB +—$/);
  assert.deepEqual(size.slice(5), ['size budget warning:', '- linux/amd64 grew by 20.0%']);
});

test('exit codes: 0 help and version, 2 usage and refused input values, 1 a failed build', async () => {
  const run = (args: string[], env: NodeJS.ProcessEnv = process.env) =>
    execFile(process.execPath, [cli, ...args], { allowFailure: true, env });
  const version = await run(['--version']);
  assert.equal(version.exitCode, 0);
  assert.equal(
    version.stdout.trim(),
    (JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string })
      .version,
  );
  const help = await run(['build', '--help']);
  assert.equal(help.exitCode, 0);
  assert.match(help.stdout, /^usage: build-go-image build \[options\]/);

  const typo = await run(['build', '--tag', 'x']);
  assert.equal(typo.exitCode, 2);
  assert.match(typo.stderr, /did you mean --tags\?/);
  assert.equal(typo.stdout, '');

  const refused = await run(['build', '--platforms', 'linux/z80']);
  assert.equal(refused.exitCode, 2);
  assert.match(refused.stderr, /input "platforms": "linux\/z80" is not a platform/);
  // Nothing was started, so nothing of the post step is said.
  assert.doesNotMatch(refused.stdout + refused.stderr, /post/);

  // A build that fails (here docker cannot be started at all) is exit code 1, still without post.
  const context = mkdtempSync(path.join(os.tmpdir(), 'bgi-cli-'));
  writeFileSync(path.join(context, 'Dockerfile'), 'FROM scratch\n');
  const failed = await run(['build', '--context', context, '--cache-mounts', 'false'], {
    ...process.env,
    PATH: path.join(context, 'no-docker-here'),
    RUNNER_TEMP: context,
  });
  assert.equal(failed.exitCode, 1, failed.stderr);
  assert.match(failed.stderr, /^error: /m);
  assert.doesNotMatch(failed.stdout + failed.stderr, /post/);
});

test("README's command-line section runs as written: every line parses to a command", () => {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const section = /^## Command line\n([\s\S]*?)^## /m.exec(readme)?.[1];
  assert.ok(section, 'README.md has a "## Command line" section');
  const lines = [...section.matchAll(/^```sh\n([\s\S]*?)^```/gm)]
    .flatMap((m) => m[1]!.split('\n'))
    .map((l) => l.replace(/\s+#.*$/, '').trim())
    .filter((l) => l.startsWith('npx build-go-image'));
  assert.ok(lines.length >= 3, 'the section shows the commands');
  for (const l of lines) {
    const argv = l.split(/\s+/).slice(2);
    assert.doesNotThrow(() => parseCommandLine(argv, commands), l);
  }
  // The exit codes it documents are the ones help prints.
  for (const code of ['0', '1', '2', '130'])
    assert.match(section, new RegExp(`\\| \`${code}\` \\|`));
});
