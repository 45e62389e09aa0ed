// The grammar of every input, checked once where inputs are read (readInputs wraps its reader with
// checkInput), so no value reaches argv, a generated Dockerfile, a netrc or a request unless it is
// what its kind allows: image references, platforms, paths, ids, names, URLs. Every value is
// refused if it holds control characters (a newline in an image name would add a Dockerfile line);
// values that land in argv may not start with `-` (a tag or context read as an option).
// The table names every input of action.yml; a unit test keeps the two in step.
import { InputError } from './errors.ts';
import { parseGoProxy, parseReleaseSource } from './go/sources.ts';
import { parseGoVersionInput } from './go/version.ts';
import { redactUrl } from './io/url.ts';
import { parseImageReference } from './registry/reference.ts';

/** How an input's value is split into items before each is checked. */
type Split = 'one' | 'lines' | 'lines-and-commas';

type Check = (item: string, input: string) => void;

interface Grammar {
  split: Split;
  check: Check;
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f]/;
// eslint-disable-next-line no-control-regex
const CONTROL_OR_TAB = /[\u0000-\u001f\u007f]/;

function shown(value: string): string {
  const v = redactUrl(value);
  return JSON.stringify(v.length > 120 ? `${v.slice(0, 120)}...` : v);
}

function noControl(item: string, input: string): void {
  if (CONTROL.test(item))
    throw new InputError(
      input,
      `${shown(item)} holds a control character (a newline or an escape): give the value on one line, without them`,
    );
}

function noLeadingDash(item: string, input: string, fix: string): void {
  if (item.startsWith('-'))
    throw new InputError(
      input,
      `${shown(item)} starts with "-", which a command reads as an option: ${fix}`,
    );
}

/** An image reference as docker reads it (registry/repository:tag@digest), exactly as given. */
export const image: Check = (item, input) => {
  noControl(item, input);
  noLeadingDash(item, input, 'give an image reference such as docker.io/library/busybox:stable');
  try {
    if (item !== item.trim()) throw new Error('spaces around it');
    parseImageReference(item);
  } catch {
    throw new InputError(
      input,
      `${shown(item)} is not a valid image reference: use lowercase registry/repository:tag`,
    );
  }
};

/** A path on the runner. `-` and a leading `-` are refused: buildx reads `--file -` as stdin. */
export const filePath: Check = (item, input) => {
  if (CONTROL_OR_TAB.test(item))
    throw new InputError(input, `${shown(item)} holds a control character: give a plain path`);
  noLeadingDash(item, input, `write it as ./${item} if that is the path`);
};

/** The build context: a local path (buildx would fetch a URL or a Git remote; this action reads files). */
export const contextPath: Check = (item, input) => {
  filePath(item, input);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(item) || /^git@/.test(item))
    throw new InputError(
      input,
      `${shown(item)} is a URL: the context must be a local directory (check out the repository first)`,
    );
};

const ID = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** `id=path` (secret-files): the id and path sit in buildx's CSV `--secret id=...,src=...`. */
export const idAndPath: Check = (item, input) => {
  noControl(item, input);
  const eq = item.indexOf('=');
  // Not trimmed: the id reaches buildx as written (`id=a ,src=...` would name the secret "a ").
  const id = eq > 0 ? item.slice(0, eq) : '';
  const file = eq > 0 ? item.slice(eq + 1) : '';
  if (!ID.test(id))
    throw new InputError(
      input,
      `${shown(item)}: the id must be letters, digits, _ . - (write id=path, one per line)`,
    );
  if (!file || /[",]/.test(file) || file.startsWith('-'))
    throw new InputError(
      input,
      `${shown(item)}: the path must be non-empty, without commas or quotes (buildx reads the option as CSV), and not start with "-"`,
    );
};

/** `default` or `id[=path[,path...]]` (ssh). */
export const sshSpec: Check = (item, input) => {
  noControl(item, input);
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}(=[^",\s-][^",\s]*(,[^",\s-][^",\s]*)*)?$/.test(item))
    throw new InputError(
      input,
      `${shown(item)} is not an ssh spec: write default or id=path (paths without spaces, commas or quotes)`,
    );
};

/** `key=value` (labels, annotations with an optional `index:`-style prefix). */
export const keyValue: Check = (item, input) => {
  noControl(item, input);
  if (!/^[^\s=-][^\s=]{0,255}=/.test(item))
    throw new InputError(
      input,
      `${shown(item)} is not key=value: the key must not be empty, hold spaces or start with "-"`,
    );
};

/** `NAME=value` (build-args); the name grammar is checked by readInputs. */
export const buildArg: Check = (item, input) => {
  noControl(item, input);
  noLeadingDash(item, input, 'write NAME=value');
};

/** A buildx CSV spec (outputs, cache-from, cache-to): `type=...,key=value` or a bare reference. */
export const buildxSpec: Check = (item, input) => {
  noControl(item, input);
  noLeadingDash(item, input, 'write type=...,key=value (buildx reads "-" as standard output)');
};

/** A value joined to its option (`--provenance=...`): printable, no spaces. */
export const attestation: Check = (item, input) => {
  noControl(item, input);
  if (!/^[^\s-][^\s]{0,500}$/.test(item))
    throw new InputError(input, `${shown(item)}: give true, false or key=value[,key=value]`);
};

/** A builder name (`--builder`). */
export const builderName: Check = (item, input) => {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(item))
    throw new InputError(input, `${shown(item)} is not a builder name: letters, digits, _ . -`);
};

/** A Dockerfile stage name (`--target`). */
export const stageName: Check = (item, input) => {
  if (!/^[A-Za-z][A-Za-z0-9_.-]{0,127}$/.test(item))
    throw new InputError(
      input,
      `${shown(item)} is not a stage name: as in FROM ... AS name (a letter, then letters, digits, _ . -)`,
    );
};

/** A token: written into a netrc or sent as a header, so one word. Never printed. */
export const token: Check = (item, input) => {
  if (/\s/.test(item) || CONTROL_OR_TAB.test(item))
    throw new InputError(
      input,
      'holds spaces or control characters (the value is not shown): give the token alone',
    );
};

/** Free text that never reaches argv (cache-key, size limits, ...): one line, no controls. */
export const text: Check = noControl;

/**
 * A whole number written in decimal digits, within bounds. `Number()` alone takes `0x10`, `1e3`
 * and `1e9`, and a timeout past Node's longest timer (2^31-1 ms) fires at once: a cache-timeout of
 * 30 days abandoned the restore immediately.
 */
export function wholeNumber(min: number, max: number, unit: string, fix: string): Check {
  return (item, input) => {
    const n = /^\d{1,16}$/.test(item) ? Number(item) : NaN;
    if (!(n >= min && n <= max))
      throw new InputError(
        input,
        `${shown(item)} is not a whole number of ${unit} from ${min} to ${max}: ${fix}`,
      );
  };
}

/** Node's longest timer, in whole seconds. */
export const MAX_TIMER_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

const releaseSource: Check = (item, input) => void parseReleaseSource(item, input);
const goProxy: Check = (item, input) => void parseGoProxy(item, input);
const goVersion: Check = (item, input) => void parseGoVersionInput(item, input);

const one = (check: Check): Grammar => ({ split: 'one', check });
const lines = (check: Check): Grammar => ({ split: 'lines', check });
const list = (check: Check): Grammar => ({ split: 'lines-and-commas', check });

/**
 * Every input and its grammar. Inputs with a parser of their own (platforms, booleans, numbers,
 * secrets, cache-mounts, driver-opts, go-private...) are also checked here for control characters.
 */
export const INPUT_GRAMMAR: Record<string, Grammar> = {
  context: one(contextPath),
  file: one(filePath),
  target: one(stageName),
  platforms: list(text),
  tags: list(image),
  labels: lines(keyValue),
  annotations: lines(keyValue),
  'build-args': lines(buildArg),
  // Multi-line values are allowed: src/buildx/secrets.ts parses and checks them.
  secrets: { split: 'one', check: () => {} },
  'secret-files': lines(idAndPath),
  ssh: lines(sshSpec),
  push: one(text),
  load: one(text),
  outputs: lines(buildxSpec),
  'cache-from': lines(buildxSpec),
  'cache-to': lines(buildxSpec),
  'layer-cache': one(text),
  provenance: one(attestation),
  sbom: one(attestation),
  builder: one(builderName),
  'no-cache': one(text),
  pull: one(text),
  'github-token': one(token),
  'go-version': one(goVersion),
  'go-version-file': one(filePath),
  'go-version-build-arg': one(text),
  'go-release-source': one(releaseSource),
  'go-proxy': one(goProxy),
  'check-go-image': one(text),
  'cache-mounts': lines(text),
  'cache-key': one(text),
  'cache-size-limit': one(
    wholeNumber(
      1,
      1024 * 1024,
      'MiB',
      'write digits only, such as 2048 (the default), at most 1 TiB',
    ),
  ),
  'cache-timeout': one(
    wholeNumber(
      1,
      MAX_TIMER_SECONDS,
      'seconds',
      'write digits only, such as 600 (the default), at most about 24 days (the longest timer Node keeps)',
    ),
  ),
  'cache-helper-image': one(image),
  'cache-on-untrusted-events': one(text),
  'driver-opts': lines(text),
  'binfmt-image': one(image),
  'size-report': one(text),
  'compare-to': one(image),
  comment: one(text),
  'size-warn': one(text),
  'size-fail': one(text),
  'size-max': one(text),
  'report-file': one(filePath),
  'pull-request': one(text),
  network: one(text),
  'push-by-digest': one(text),
  merge: one(filePath),
  'go-private': list(text),
  'go-private-token': one(token),
  'go-private-user': one(text),
  'go-private-hosts': list(text),
  'ca-bundle': one(filePath),
  'build-proxy': one(text),
  advice: one(text),
};

function items(value: string, split: Split): string[] {
  // A single value is checked as given: a trailing "\r" or newline would reach its use unchanged.
  if (split === 'one') return value.trim() ? [value] : [];
  return value
    .split(/\r?\n/)
    .flatMap((line) => (split === 'lines' ? [line] : splitCommas(line)))
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Commas outside double quotes, as parseList splits them. */
function splitCommas(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (const c of line) {
    if (c === '"') quoted = !quoted;
    if (c === ',' && !quoted) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/**
 * The largest value one item may have. Each item reaches a process as one argument (or one
 * environment variable: the secrets), and Linux refuses a single one over 128 KiB: the build then
 * failed with a bare "spawn E2BIG". 1 KiB is left for the option text joined to it.
 */
export const MAX_ITEM_BYTES = 127 * 1024;

export function checkItemSize(item: string, input: string, what = 'a value'): void {
  const bytes = Buffer.byteLength(item);
  if (bytes > MAX_ITEM_BYTES)
    throw new InputError(
      input,
      `${what} is ${bytes} bytes, more than the ${MAX_ITEM_BYTES} one command-line argument may hold: give a large value as a file (secret-files, or a file in the build context)`,
    );
}

/** Checks one input's value against its grammar; an input the table lacks is refused. */
export function checkInput(name: string, value: string): void {
  const g = INPUT_GRAMMAR[name];
  if (!g) throw new InputError(name, 'is not an input of this action');
  for (const item of items(value, g.split)) {
    // The secrets input is one text of many values: its parser bounds each value.
    // A token is never shown, not even its start.
    if (name !== 'secrets')
      checkItemSize(item, name, g.check === token ? 'the value' : shown(item));
    g.check(item, name);
  }
}
