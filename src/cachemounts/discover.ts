// Finds every `RUN --mount=type=cache` in all stages, with targets written through build args
// expanded the way BuildKit expands them.
import type { Dockerfile } from '../dockerfile/parse.ts';
import { expandAt, stageScope } from '../dockerfile/args.ts';
import { FileFormatError, InputError } from '../errors.ts';

export interface CacheMount {
  id: string;
  target: string;
  sharing: 'shared' | 'private' | 'locked';
  uid?: number;
  gid?: number;
  mode?: string;
  /** Where it was declared (file:line), for messages. */
  where: string;
}

const KNOWN_KEYS = new Set([
  'type',
  'target',
  'dst',
  'destination',
  'id',
  'sharing',
  'uid',
  'gid',
  'mode',
  'from',
  'source',
  'src',
  'readonly',
  'ro',
  'rw',
  'readwrite',
  'required',
]);
// Mount options end up in a generated Dockerfile line: only plain characters are accepted.
const SAFE_VALUE = /^[A-Za-z0-9_./@+-]{1,200}$/;

/** One `--mount` value (`type=cache,target=/x,id=y`) with variables already expanded. */
export function parseCacheMountSpec(
  spec: string,
  where: string,
  fail: (msg: string) => Error,
): CacheMount | undefined {
  const fields = new Map<string, string>();
  for (const part of spec.split(',')) {
    const eq = part.indexOf('=');
    const key = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    const value = eq < 0 ? 'true' : part.slice(eq + 1).trim();
    if (!key) continue;
    fields.set(key, value);
  }
  if ((fields.get('type') ?? 'bind') !== 'cache') return undefined;
  for (const k of fields.keys())
    if (!KNOWN_KEYS.has(k)) throw fail(`unknown cache mount option "${k}"`);
  if (fields.has('from') || fields.has('source') || fields.has('src')) return undefined; // seeded from a stage: not ours to carry
  const target = fields.get('target') ?? fields.get('dst') ?? fields.get('destination');
  if (!target) throw fail('cache mount without target: add target=/path');
  if (!target.startsWith('/'))
    throw fail(`cache mount target "${target}" must be an absolute path`);
  const id = fields.get('id') || target;
  const sharing = fields.get('sharing') ?? 'shared';
  if (sharing !== 'shared' && sharing !== 'private' && sharing !== 'locked')
    throw fail(`cache mount sharing "${sharing}" must be shared, private or locked`);
  const num = (k: string) => {
    const v = fields.get(k);
    if (v === undefined) return undefined;
    if (!/^\d{1,10}$/.test(v)) throw fail(`cache mount ${k} "${v}" must be a number`);
    return Number(v);
  };
  const mode = fields.get('mode');
  if (mode !== undefined && !/^0?[0-7]{3,4}$/.test(mode))
    throw fail(`cache mount mode "${mode}" must be octal, e.g. 0755`);
  for (const [k, v] of [
    ['id', id],
    ['target', target],
  ] as const)
    if (!SAFE_VALUE.test(v))
      throw fail(
        `cache mount ${k} "${v}" has characters this action does not carry (use letters, digits, / . _ - @ +)`,
      );
  const m: CacheMount = { id, target, sharing, where };
  const uid = num('uid');
  const gid = num('gid');
  if (uid !== undefined) m.uid = uid;
  if (gid !== undefined) m.gid = gid;
  if (mode !== undefined) m.mode = mode;
  return m;
}

export function discoverCacheMounts(
  df: Dockerfile,
  buildArgs: ReadonlyMap<string, string>,
): CacheMount[] {
  const byId = new Map<string, CacheMount>();
  const predefined = new Map([
    ['TARGETOS', 'linux'],
    ['BUILDOS', 'linux'],
  ]);
  for (const stage of df.stages) {
    for (const ins of stage.instructions) {
      if (ins.keyword !== 'RUN') continue;
      for (const f of ins.flags) {
        if (f.name !== 'mount') continue;
        const vars = stageScope(df, stage, ins, buildArgs, predefined);
        const spec = expandAt(df, ins, f.value, vars);
        const where = `${df.file}:${ins.line}`;
        const m = parseCacheMountSpec(
          spec,
          where,
          (msg) => new FileFormatError(df.file, ins.line, msg),
        );
        if (m && !byId.has(m.id)) byId.set(m.id, m);
      }
    }
  }
  return [...byId.values()];
}

/** The `cache-mounts` input: newline-separated specs in the --mount syntax (type=cache implied). */
export function cacheMountsFromInput(value: string): CacheMount[] {
  return value
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const m = parseCacheMountSpec(
        l.startsWith('type=') ? l : `type=cache,${l}`,
        'cache-mounts input',
        (msg) => new InputError('cache-mounts', msg),
      );
      if (!m) throw new InputError('cache-mounts', `"${l}" is not a cache mount spec`);
      return m;
    });
}
