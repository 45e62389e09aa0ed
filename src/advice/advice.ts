// Go-specific Dockerfile advice, each with the line it concerns and the fix.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Dockerfile } from '../dockerfile/parse.ts';

export interface Advice {
  line: number;
  title: string;
  message: string;
}

const GO_BUILD = /\bgo\s+build\b/;

export function adviseDockerfile(
  df: Dockerfile,
  opts: { platforms: string[]; context: string; hostArch: string },
): Advice[] {
  const out: Advice[] = [];
  const last = df.stages[df.stages.length - 1];
  const multi = opts.platforms.some((p) => p.split('/')[1] !== opts.hostArch);
  for (const stage of df.stages) {
    const build = stage.instructions.find((i) => i.keyword === 'RUN' && GO_BUILD.test(i.args));
    if (!build) continue;
    if (multi && !(stage.platform ?? '').includes('BUILDPLATFORM'))
      out.push({
        line: stage.from.line,
        title: 'Go compiles under emulation',
        message: `this stage runs "go build" on the target platform, so ${opts.platforms.filter((p) => p.split('/')[1] !== opts.hostArch).join(', ')} compiles under QEMU (about 7x slower). Use "FROM --platform=$BUILDPLATFORM ..." and cross-compile with GOOS=$TARGETOS GOARCH=$TARGETARCH`,
      });
    const finalBase = last?.image.toLowerCase() ?? '';
    if (
      last !== stage &&
      (finalBase === 'scratch' || finalBase.includes('distroless')) &&
      !/CGO_ENABLED=0/.test(stage.instructions.map((i) => i.args).join('\n'))
    )
      out.push({
        line: build.line,
        title: 'cgo binary in a final stage without libc',
        message:
          'the final stage is scratch/distroless but CGO_ENABLED=0 is not set: a cgo-linked binary will not start there. Set CGO_ENABLED=0 for the go build',
      });
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
  if (!existsSync(path.join(opts.context, '.dockerignore')))
    out.push({
      line: 1,
      title: 'no .dockerignore',
      message: `the build context ${opts.context} has no .dockerignore: .git and other large folders are sent to the builder and can bust the cache. Add one listing .git and build outputs`,
    });
  return out;
}
