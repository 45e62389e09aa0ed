// The action's inputs: read once, validated up front, named as in action.yml. The CLI passes its
// options through the same reader, so both fail the same way on the same bad value.
import { parseSecrets, type BuildSecret } from './buildx/secrets.ts';
import { InputError } from './errors.ts';
import { checkInput } from './input-grammar.ts';
import { isHostName, parseImageReference } from './registry/reference.ts';

export type InputReader = (name: string) => string;

export interface Inputs {
  context: string;
  file: string;
  target: string;
  platforms: string[];
  tags: string[];
  labels: string[];
  annotations: string[];
  buildArgs: Map<string, string>;
  secrets: BuildSecret[];
  secretFiles: string[];
  ssh: string[];
  push: boolean;
  load: boolean;
  outputs: string[];
  cacheFrom: string[];
  cacheTo: string[];
  /** `auto`: the action keeps a layer cache itself when cache-from/cache-to are empty; `off`. */
  layerCache: 'auto' | 'off';
  provenance: string;
  sbom: string;
  builder: string;
  noCache: boolean;
  pull: boolean;
  githubToken: string;
  goVersion: string;
  goVersionFile: string;
  goVersionBuildArg: string;
  goReleaseSource: string;
  goProxy: string;
  checkGoImage: boolean;
  cacheMounts: string;
  cacheKey: string;
  cacheSizeLimitMiB: number;
  cacheTimeoutSeconds: number;
  cacheHelperImage: string;
  cacheOnUntrustedEvents: boolean;
  binfmtImage: string;
  sizeReport: boolean;
  compareTo: string;
  comment: boolean;
  sizeWarn: string;
  sizeFail: string;
  sizeMax: string;
  reportFile: string;
  pullRequest: number | undefined;
  advice: 'warning' | 'error' | 'off';
  network: string;
  goPrivate: string[];
  goPrivateToken: string;
  goPrivateUser: string;
  goPrivateHosts: string[];
  /** Options for the docker-container builder the action creates (`image=...`, `network=host`). */
  driverOpts: string[];
  caBundle: string;
  buildProxy: boolean;
  pushByDigest: boolean;
  merge: string;
}

/** Newline- or comma-separated list; commas inside double quotes are kept (build-push-action's rule). */
export function parseList(value: string, opts: { commas?: boolean } = {}): string[] {
  const out: string[] = [];
  for (const line of value.split(/\r?\n/)) {
    if (opts.commas === false) {
      if (line.trim()) out.push(line.trim());
      continue;
    }
    let cur = '';
    let quoted = false;
    for (const c of line) {
      if (c === '"') quoted = !quoted;
      else if (c === ',' && !quoted) {
        if (cur.trim()) out.push(cur.trim());
        cur = '';
      } else cur += c;
    }
    if (cur.trim()) out.push(cur.trim());
  }
  return out;
}

export function parseBoolean(name: string, value: string, fallback: boolean): boolean {
  const v = value.trim();
  if (v === '') return fallback;
  if (['true', 'True', 'TRUE'].includes(v)) return true;
  if (['false', 'False', 'FALSE'].includes(v)) return false;
  throw new InputError(name, `"${value}" is not a boolean: use true or false`);
}

const PLATFORM =
  /^(linux|windows|darwin|freebsd)\/(amd64|arm64|arm|386|ppc64le|s390x|riscv64|mips64le|loong64)(\/v[5-8])?$/;

export function parsePlatforms(value: string): string[] {
  const list = parseList(value);
  if (list.length === 0)
    throw new InputError('platforms', 'is empty: give one or more of linux/amd64, linux/arm64');
  const seen = new Set<string>();
  for (const p of list) {
    if (!PLATFORM.test(p))
      throw new InputError(
        'platforms',
        `"${p}" is not a platform: use os/arch[/variant], e.g. linux/amd64,linux/arm64`,
      );
    if (seen.has(p)) throw new InputError('platforms', `"${p}" is listed twice`);
    seen.add(p);
  }
  return list;
}

function parseKeyValues(name: string, lines: string[], what: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const l of lines) {
    const eq = l.indexOf('=');
    if (eq <= 0)
      throw new InputError(name, `"${l}" is not ${what}=value: write one per line as NAME=value`);
    out.set(l.slice(0, eq).trim(), l.slice(eq + 1));
  }
  return out;
}

function parsePullRequest(value: string): number | undefined {
  const v = value.trim();
  if (!v) return undefined;
  if (!/^[1-9]\d{0,9}$/.test(v))
    throw new InputError('pull-request', `"${v}" is not a pull-request number`);
  return Number(v);
}

export function readInputs(read: InputReader): Inputs {
  // Every value is checked against its input's grammar as it is read (src/input-grammar.ts). A
  // value of spaces only is no value, as @actions/core's getInput reads it: the CLI (which passes
  // values as typed) then takes the default too, instead of a context, builder or URL of spaces.
  const get: InputReader = (name) => {
    const given = read(name);
    const value = given.trim() ? given : '';
    checkInput(name, value);
    return value;
  };
  const bool = (n: string, d: boolean) => parseBoolean(n, get(n), d);
  const tags = parseList(get('tags'));
  for (const t of tags) {
    try {
      parseImageReference(t);
    } catch {
      throw new InputError(
        'tags',
        `"${t}" is not a valid image reference: use lowercase registry/repository:tag`,
      );
    }
  }
  const buildArgLines = parseList(get('build-args'), { commas: false });
  const buildArgs = parseKeyValues('build-args', buildArgLines, 'NAME');
  for (const k of buildArgs.keys())
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
      throw new InputError('build-args', `"${k}" is not a valid build-arg name`);
  const labels = parseList(get('labels'), { commas: false });
  parseKeyValues('labels', labels, 'key');
  const annotations = parseList(get('annotations'), { commas: false });
  parseKeyValues('annotations', annotations, 'key');
  const secrets = parseSecrets(get('secrets'));
  const secretFiles = parseList(get('secret-files'), { commas: false });
  parseKeyValues('secret-files', secretFiles, 'id');
  const push = bool('push', false);
  const load = bool('load', false);
  const outputs = parseList(get('outputs'), { commas: false });
  const platforms = parsePlatforms(get('platforms') || 'linux/amd64,linux/arm64');
  if (push && load)
    throw new InputError('load', 'cannot be used together with push: choose one, or give outputs');
  if (load && platforms.length > 1 && outputs.length === 0)
    throw new InputError(
      'load',
      `loads one platform into the local image store, but platforms has ${platforms.length}: build one platform or push`,
    );
  if (push && tags.length === 0 && outputs.length === 0)
    throw new InputError(
      'tags',
      'push is true but no tags are given: add tags (e.g. from docker/metadata-action)',
    );
  const pushByDigest = bool('push-by-digest', false);
  if (pushByDigest && (outputs.length > 0 || load))
    throw new InputError('push-by-digest', 'sets the output itself: leave outputs and load empty');
  if (pushByDigest && tags.length === 0)
    throw new InputError(
      'tags',
      'push-by-digest needs the image name: give tags (their repository is used, the tags by the merge step)',
    );
  const merge = get('merge').trim();
  if (merge && tags.length === 0)
    throw new InputError('tags', 'merge needs the final tags of the multi-platform image');
  // Digits within bounds: the grammar (input-grammar.ts wholeNumber) checked them.
  const sizeLimit = Number(get('cache-size-limit') || '2048');
  const cacheTimeout = Number(get('cache-timeout') || '600');
  const layerCache = (get('layer-cache') || 'auto').trim();
  if (layerCache !== 'auto' && layerCache !== 'off')
    throw new InputError('layer-cache', `"${layerCache}" is not one of auto, off`);
  const advice = (get('advice') || 'warning').trim();
  if (advice !== 'warning' && advice !== 'error' && advice !== 'off')
    throw new InputError('advice', `"${advice}" is not one of warning, error, off`);
  const goVersionBuildArg = get('go-version-build-arg') || 'GO_VERSION';
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(goVersionBuildArg))
    throw new InputError(
      'go-version-build-arg',
      `"${goVersionBuildArg}" is not a valid build-arg name`,
    );
  const compareTo = get('compare-to').trim();
  if (compareTo) {
    try {
      parseImageReference(compareTo);
    } catch {
      throw new InputError('compare-to', `"${compareTo}" is not a valid image reference`);
    }
  }
  const cacheHelperImage = get('cache-helper-image') || 'docker.io/library/busybox:stable';
  const network = get('network').trim();
  if (network && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,63}$/.test(network))
    throw new InputError(
      'network',
      `"${network}" is not a network name: use default, host or none`,
    );
  // GOPRIVATE patterns: module path globs, comma separated as Go reads them.
  const goPrivate = parseList(get('go-private'));
  for (const g of goPrivate)
    if (!/^[A-Za-z0-9*?[\]._~/-]{1,200}$/.test(g))
      throw new InputError(
        'go-private',
        `"${g}" is not a GOPRIVATE pattern: use module path globs such as github.com/acme/*`,
      );
  const goPrivateHosts = parseList(get('go-private-hosts'));
  for (const h of goPrivateHosts)
    if (!isHostName(h))
      throw new InputError(
        'go-private-hosts',
        `"${h}" is not a host name (dot-separated labels of letters, digits and inner hyphens, an optional :port): e.g. github.com`,
      );
  // As setup-buildx-action's driver-opts: key=value, one per line (values may hold commas).
  const driverOpts = parseList(get('driver-opts'), { commas: false });
  for (const o of driverOpts)
    if (!/^[a-z][a-zA-Z0-9_.-]{0,60}=\S{0,500}$/.test(o))
      throw new InputError(
        'driver-opts',
        `"${o}" is not a driver option: write key=value, one per line, e.g. image=moby/buildkit:buildx-stable-1`,
      );
  const goPrivateUser = get('go-private-user') || 'x-access-token';
  if (/[\s#]/.test(goPrivateUser))
    throw new InputError(
      'go-private-user',
      'must not contain spaces or #, which netrc cannot hold',
    );
  return {
    context: get('context') || '.',
    file: get('file'),
    target: get('target'),
    platforms,
    tags,
    labels,
    annotations,
    buildArgs,
    secrets,
    secretFiles,
    ssh: parseList(get('ssh'), { commas: false }),
    push,
    load,
    outputs,
    cacheFrom: parseList(get('cache-from'), { commas: false }),
    cacheTo: parseList(get('cache-to'), { commas: false }),
    layerCache,
    provenance: get('provenance'),
    sbom: get('sbom'),
    builder: get('builder'),
    noCache: bool('no-cache', false),
    pull: bool('pull', false),
    githubToken: get('github-token'),
    goVersion: get('go-version'),
    goVersionFile: get('go-version-file'),
    goVersionBuildArg,
    goReleaseSource: get('go-release-source') || 'https://go.dev/dl/?mode=json&include=all',
    // Empty means GOPROXY from the environment, then the public proxy (go/sources.ts goProxySetting).
    goProxy: get('go-proxy'),
    checkGoImage: bool('check-go-image', true),
    cacheMounts: get('cache-mounts') || 'auto',
    cacheKey: get('cache-key'),
    cacheSizeLimitMiB: sizeLimit,
    cacheTimeoutSeconds: cacheTimeout,
    cacheHelperImage,
    cacheOnUntrustedEvents: bool('cache-on-untrusted-events', false),
    binfmtImage: get('binfmt-image') || 'docker.io/tonistiigi/binfmt:latest',
    sizeReport: bool('size-report', true),
    compareTo,
    comment: bool('comment', true),
    sizeWarn: get('size-warn'),
    sizeFail: get('size-fail'),
    sizeMax: get('size-max'),
    reportFile: get('report-file'),
    pullRequest: parsePullRequest(get('pull-request')),
    advice,
    network,
    goPrivate,
    goPrivateToken: get('go-private-token') || get('github-token'),
    goPrivateUser,
    goPrivateHosts,
    driverOpts,
    caBundle: get('ca-bundle'),
    buildProxy: bool('build-proxy', true),
    pushByDigest,
    merge,
  };
}
