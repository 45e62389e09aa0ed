// The advice rules. Each looks at the parsed Dockerfile (and, for the context rule, the build
// context on disk) and returns what it finds with the line and the fix. None fails a build; the
// `advice` input decides that.
import { existsSync, readdirSync, lstatSync } from 'node:fs';
import path from 'node:path';
import { resolveFromImage } from '../dockerfile/args.ts';
import { humanBytes } from '../format.ts';
import type { Dockerfile, Instruction, Stage } from '../dockerfile/parse.ts';
import { readRegularFile } from '../io/files.ts';
import { isRegistryHost } from '../registry/reference.ts';
import type { Advice } from './types.ts';

export interface RuleContext {
  df: Dockerfile;
  platforms: string[];
  context: string;
  hostArch: string;
  buildArgs: ReadonlyMap<string, string>;
  target?: string;
  digestKinds?: ReadonlyMap<string, 'index' | 'manifest'>;
  /** Whether the `# syntax` frontend image answered from its registry (undefined: not asked). */
  syntaxReachable?: boolean;
}

type Finding = Omit<Advice, 'id' | 'severity'>;

interface Rule {
  id: string;
  severity: 'warning' | 'notice';
  check(ctx: RuleContext): Finding[];
}

const GO_BUILD = /\bgo\s+build\b/;
const arch = (p: string) => p.split('/')[1] ?? '';

/** The stage the build exports: --target, or the last one. */
function finalStage(ctx: RuleContext): Stage {
  const target = ctx.target?.toLowerCase();
  const named = target ? ctx.df.stages.find((s) => s.name === target) : undefined;
  return named ?? ctx.df.stages[ctx.df.stages.length - 1]!;
}

/** A stage and the earlier stages it builds FROM, nearest first, with the image at the root. */
function lineage(ctx: RuleContext, stage: Stage): { stages: Stage[]; image: string } {
  const stages: Stage[] = [];
  let s: Stage | undefined = stage;
  while (s && !stages.includes(s)) {
    stages.push(s);
    const image = resolveFromImage(ctx.df, s, ctx.buildArgs).toLowerCase();
    const at: number = s.index;
    const parent: Stage | undefined = ctx.df.stages.find((p) => p.name === image && p.index < at);
    if (!parent) return { stages, image };
    s = parent;
  }
  return { stages, image: '' };
}

/** The image a stage is ultimately based on, following FROM <stage> chains. */
const baseImage = (ctx: RuleContext, stage: Stage) => lineage(ctx, stage).image;

/** The last `keyword` instruction in effect for a stage: its own, else its FROM-stage ancestors'. */
function inherited(ctx: RuleContext, stage: Stage, keyword: string): Instruction | undefined {
  for (const s of lineage(ctx, stage).stages) {
    const found = s.instructions.filter((i) => i.keyword === keyword).pop();
    if (found) return found;
  }
  return undefined;
}

const shellless = (image: string) => image === 'scratch' || image.includes('distroless');

const emulatedCompile: Rule = {
  id: 'go-build-emulated',
  severity: 'warning',
  check(ctx) {
    const foreign = ctx.platforms.filter((p) => arch(p) !== ctx.hostArch);
    if (foreign.length === 0) return [];
    return ctx.df.stages
      .filter(
        (s) =>
          s.instructions.some((i) => i.keyword === 'RUN' && GO_BUILD.test(i.args)) &&
          !(s.platform ?? '').includes('BUILDPLATFORM'),
      )
      .map((s) => ({
        line: s.from.line,
        title: 'Go compiles under emulation',
        message: `this stage runs "go build" on the target platform, so ${foreign.join(', ')} compiles under QEMU (about 7x slower). Use "FROM --platform=$BUILDPLATFORM ..." and cross-compile with GOOS=$TARGETOS GOARCH=$TARGETARCH`,
      }));
  },
};

const cgoWithoutLibc: Rule = {
  id: 'cgo-without-libc',
  severity: 'warning',
  check(ctx) {
    const last = finalStage(ctx);
    if (!shellless(baseImage(ctx, last))) return [];
    const out: Finding[] = [];
    for (const stage of ctx.df.stages) {
      const build = stage.instructions.find((i) => i.keyword === 'RUN' && GO_BUILD.test(i.args));
      if (!build || stage === last) continue;
      if (/CGO_ENABLED=0/.test(stage.instructions.map((i) => i.args).join('\n'))) continue;
      out.push({
        line: build.line,
        title: 'cgo binary in a final stage without libc',
        message:
          'the final stage is scratch/distroless but CGO_ENABLED=0 is not set: a cgo-linked binary will not start there. Set CGO_ENABLED=0 for the go build',
      });
    }
    return out;
  },
};

const copyBeforeDownload: Rule = {
  id: 'copy-before-mod-download',
  severity: 'warning',
  check(ctx) {
    const out: Finding[] = [];
    for (const stage of ctx.df.stages) {
      const copyAll = stage.instructions.find(
        (i) => i.keyword === 'COPY' && /^\.\s+\.(\/)?$/.test(i.args.trim()),
      );
      const download = stage.instructions.find(
        (i) => i.keyword === 'RUN' && /\bgo\s+mod\s+download\b/.test(i.args),
      );
      if (copyAll && download && copyAll.line < download.line)
        out.push({
          line: copyAll.line,
          title: 'COPY . . before go mod download',
          message:
            'any source change invalidates the module download step. Copy go.mod and go.sum (or bind-mount them) before "go mod download", and the rest after it',
        });
    }
    return out;
  },
};

/** Bytes under `dir`, counting at most `limit` entries (a huge tree is reported as "at least"). */
export function treeSize(dir: string, limit = 20_000): { bytes: number; complete: boolean } {
  // A worktree or submodule has a .git file, not a folder: its size is the file's.
  try {
    const st = lstatSync(dir);
    if (!st.isDirectory()) return { bytes: st.size, complete: true };
  } catch {
    return { bytes: 0, complete: true };
  }
  let bytes = 0;
  let entries = 0;
  const stack = [dir];
  while (stack.length > 0) {
    const d = stack.pop()!;
    let names: string[];
    try {
      names = readdirSync(d);
    } catch {
      continue;
    }
    for (const name of names) {
      if (++entries > limit) return { bytes, complete: false };
      const p = path.join(d, name);
      try {
        const st = lstatSync(p);
        if (st.isDirectory()) stack.push(p);
        else bytes += st.size;
      } catch {
        /* vanished while walking */
      }
    }
  }
  return { bytes, complete: true };
}

const sized = (s: { bytes: number; complete: boolean }) =>
  `${s.complete ? '' : 'at least '}${humanBytes(s.bytes)}`;

const GIT_PATTERNS = ['.git', '**/.git', '.git/**', '**/.git/**', '*', '**', '.*', '.git*', '**/*'];

/** Whether .dockerignore lines exclude `.git` at the context root (last match wins, like BuildKit). */
export function ignoresGit(lines: string[]): boolean {
  let ignored = false;
  for (const raw of lines) {
    const l = raw.trim();
    if (!l || l.startsWith('#')) continue;
    const negate = l.startsWith('!');
    const p = (negate ? l.slice(1) : l).replace(/^\/+/, '').replace(/\/+$/, '');
    if (GIT_PATTERNS.includes(p)) ignored = !negate;
  }
  return ignored;
}

/** The ignore file BuildKit uses: <Dockerfile>.dockerignore beside the Dockerfile wins over the context's. */
function ignoreFile(ctx: RuleContext): string | undefined {
  return [`${ctx.df.file}.dockerignore`, path.join(ctx.context, '.dockerignore')].find((f) =>
    existsSync(f),
  );
}

const noDockerignore: Rule = {
  id: 'no-dockerignore',
  severity: 'warning',
  check(ctx) {
    if (ignoreFile(ctx)) return [];
    const git = path.join(ctx.context, '.git');
    // One annotation for one fix: the .git size goes here rather than in a second advice.
    const gitPart = existsSync(git) ? `, ${sized(treeSize(git))} of it in .git` : '';
    return [
      {
        line: 1,
        title: 'no .dockerignore',
        message: `the build context ${ctx.context} (${sized(treeSize(ctx.context))}${gitPart}) has no .dockerignore: all of it, .git included, is sent to the builder and can bust the cache. Add a .dockerignore listing .git and build outputs`,
      },
    ];
  },
};

const contextSendsGit: Rule = {
  id: 'context-sends-git',
  severity: 'warning',
  check(ctx) {
    const file = ignoreFile(ctx);
    const git = path.join(ctx.context, '.git');
    if (!file || !existsSync(git)) return [];
    // Read only as a regular file of at most 1 MiB (the context is a pull request's checkout: a
    // link to /dev/zero was read forever); one this rule cannot read makes no claim.
    const ignore = readRegularFile(file, 1024 * 1024);
    if (!('bytes' in ignore) || ignoresGit(ignore.bytes.toString('utf8').split(/\r?\n/))) return [];
    return [
      {
        line: 1,
        title: '.git is sent to the builder',
        message: `${path.basename(file)} does not exclude .git, so ${sized(treeSize(git))} of repository history is sent with every build and any commit busts COPY . caches. Add a line ".git" to ${file}`,
      },
    ];
  },
};

/** FROM lines pinned by digest: image@sha256:... (after build-arg substitution). */
export function pinnedDigests(
  df: Dockerfile,
  buildArgs: ReadonlyMap<string, string> = new Map(),
): { ref: string; digest: string; line: number }[] {
  return df.stages.flatMap((s) => {
    const image = resolveFromImage(df, s, buildArgs);
    const m = /^(.+)@(sha256:[0-9a-f]{64})$/.exec(image);
    return m ? [{ ref: image, digest: m[2]!, line: s.from.line }] : [];
  });
}

const singlePlatformDigest: Rule = {
  id: 'single-platform-digest',
  severity: 'warning',
  check(ctx) {
    if (ctx.platforms.length < 2 || !ctx.digestKinds) return [];
    // A --platform=$BUILDPLATFORM stage runs once, on the runner: one platform's manifest suits it.
    const onRunner = new Set(
      ctx.df.stages.filter((s) => /BUILDPLATFORM/.test(s.platform ?? '')).map((s) => s.from.line),
    );
    return pinnedDigests(ctx.df, ctx.buildArgs)
      .filter((p) => ctx.digestKinds!.get(p.digest) === 'manifest' && !onRunner.has(p.line))
      .map((p) => ({
        line: p.line,
        title: 'base image pinned to one platform',
        message: `${p.ref} is the digest of a single-platform manifest, so every platform of this ${ctx.platforms.length}-platform build gets that one architecture (or fails). Pin the multi-platform index digest instead, e.g. the top "Digest:" of "docker buildx imagetools inspect ${p.ref.slice(0, p.ref.lastIndexOf('@'))}"`,
      }));
  },
};

/** `ENTRYPOINT /app --serve` -> `ENTRYPOINT ["/app", "--serve"]`. */
function execForm(ins: Instruction): string {
  const words = ins.args.trim().split(/\s+/).filter(Boolean);
  return `${ins.keyword} [${(words.length > 0 ? words : ['/app']).map((w) => JSON.stringify(w)).join(', ')}]`;
}

const shellFormEntrypoint: Rule = {
  id: 'shell-form-entrypoint',
  severity: 'warning',
  check(ctx) {
    const last = finalStage(ctx);
    if (!shellless(baseImage(ctx, last))) return [];
    // A SHELL instruction (e.g. distroless :debug's /busybox/sh) gives shell form a shell to run.
    if (inherited(ctx, last, 'SHELL')) return [];
    return last.instructions
      .filter((i) => (i.keyword === 'ENTRYPOINT' || i.keyword === 'CMD') && !i.json)
      .map((i) => ({
        line: i.line,
        title: `shell-form ${i.keyword} without a shell`,
        message: `the final stage has no /bin/sh, and shell form runs "/bin/sh -c ${i.args.trim().slice(0, 40)}", so the container cannot start. Use exec form: ${execForm(i)}`,
      }));
  },
};

/** Names its registry (ghcr.io/..., localhost:5000/...), by the rule the reference parser uses. */
function isQualified(image: string): boolean {
  const slash = image.indexOf('/');
  return slash > 0 && isRegistryHost(image.slice(0, slash));
}

const unqualifiedImage: Rule = {
  id: 'unqualified-image',
  severity: 'notice',
  check(ctx) {
    return ctx.df.stages
      .filter((s) => {
        const raw = s.image.toLowerCase();
        // A leading variable is the registry the caller chooses; scratch is no image at all.
        if (raw.startsWith('$') || raw === 'scratch') return false;
        if (ctx.df.stages.some((p) => p.name === raw && p.index < s.index)) return false;
        return !isQualified(resolveFromImage(ctx.df, s, ctx.buildArgs));
      })
      .map((s) => {
        // Suggest the line as written, so ARGs in the tag survive.
        const full = `docker.io/${s.image.includes('/') ? '' : 'library/'}${s.image}`;
        return {
          line: s.from.line,
          title: 'image reference without registry',
          message: `"${s.image}" means ${full} to Docker, but other tools (podman with unqualified-search registries, mirrors) may resolve it elsewhere. Write ${full}`,
        };
      });
  },
};

/** gcr.io/distroless/static-debian12:debug -> gcr.io/distroless/static-debian12:debug-nonroot. */
function nonrootTag(image: string): string {
  const at = image.indexOf('@');
  const ref = at >= 0 ? image.slice(0, at) : image;
  const colon = ref.lastIndexOf(':');
  const hasTag = colon > ref.lastIndexOf('/');
  const name = hasTag ? ref.slice(0, colon) : ref;
  return `${name}:${hasTag && ref.slice(colon + 1).startsWith('debug') ? 'debug-' : ''}nonroot`;
}

const finalStageRoot: Rule = {
  id: 'final-stage-root',
  severity: 'warning',
  check(ctx) {
    const last = finalStage(ctx);
    const base = baseImage(ctx, last);
    if (!shellless(base)) return [];
    const userLine = inherited(ctx, last, 'USER');
    const user = userLine?.args.trim().split(':')[0];
    if (user && user !== 'root' && user !== '0') return [];
    // distroless :nonroot (and :debug-nonroot) set user 65532 in the image config.
    if (!user && base.includes('distroless') && /:[\w.-]*nonroot/.test(base)) return [];
    const fix = base.includes('distroless')
      ? `base it on ${nonrootTag(base)}, or add "USER nonroot:nonroot"`
      : 'add "USER 65532:65532" (a static binary needs no passwd entry)';
    return [
      {
        line: userLine?.line ?? last.from.line,
        title: 'final stage runs as root',
        message: `the service runs as root although nothing in a ${base === 'scratch' ? 'scratch' : 'distroless'} image needs it: ${fix}`,
      },
    ];
  },
};

const syntaxDirective: Rule = {
  id: 'syntax-directive',
  severity: 'warning',
  check(ctx) {
    const d = ctx.df.directives.find((x) => x.name === 'syntax');
    if (!d) return [];
    const value = d.value.trim();
    const pinned = /@sha256:[0-9a-f]{64}$/.test(value) || /:\d+(\.\d+){0,2}(-[a-z]+)?$/.test(value);
    // A pinned frontend is fine where its registry answers; only an unreachable one is news.
    if (pinned && ctx.syntaxReachable !== false) return [];
    const what = pinned
      ? `"${value}" did not answer from its registry here, and`
      : `"${value}" pins no version, so the frontend can change under the build, and`;
    return [
      {
        line: d.line,
        title: pinned ? '# syntax frontend is unreachable' : '# syntax pins nothing',
        message: `${what} BuildKit pulls this frontend image from its registry at every build: a runner without access to it (air-gapped, mirrored, rate-limited) fails before the first instruction. Remove the line when the builder's built-in frontend suffices${pinned ? '' : ', or pin a version (docker/dockerfile:1.7) or digest'}`,
      },
    ];
  },
};

/** In report order. */
export const RULES: Rule[] = [
  emulatedCompile,
  cgoWithoutLibc,
  copyBeforeDownload,
  noDockerignore,
  contextSendsGit,
  singlePlatformDigest,
  shellFormEntrypoint,
  unqualifiedImage,
  finalStageRoot,
  syntaxDirective,
];
