// Advice on the secrets the action provides (netrc for private modules, the CA bundle): a secret
// that no RUN mounts does nothing, and a mount of a secret nothing provides fails quietly later.
import type { Dockerfile, Instruction } from '../dockerfile/parse.ts';
import { CA_SECRET, NETRC_SECRET } from '../go/private.ts';
import type { Advice } from './types.ts';

/** The secrets the action provides: the input behind each, what to set, how a RUN mounts it. */
const PROVIDED: Record<string, { input: string; set: string; mount: string }> = {
  [NETRC_SECRET]: {
    input: 'go-private',
    set: 'go-private (and go-private-token)',
    mount: '--mount=type=secret,id=netrc,target=/root/.netrc',
  },
  [CA_SECRET]: {
    input: 'ca-bundle',
    set: 'ca-bundle',
    mount: '--mount=type=secret,id=ca-bundle,target=/etc/ssl/certs/ca-certificates.crt',
  },
};

function secretIds(ins: Instruction): string[] {
  return ins.flags
    .filter((f) => f.name === 'mount' && /(^|,)type=secret(,|$)/.test(f.value))
    .map((f) => /(?:^|,)id=([^,]+)/.exec(f.value)?.[1] ?? '')
    .filter(Boolean);
}

export function secretMountAdvice(
  df: Dockerfile,
  /** Ids of the secrets the action gives this build (netrc, ca-bundle). */
  provided: string[],
  userSecretIds: string[],
): Advice[] {
  const runs = df.instructions.filter((i) => i.keyword === 'RUN');
  const mounted = new Map<string, number>();
  for (const r of runs)
    for (const id of secretIds(r)) if (!mounted.has(id)) mounted.set(id, r.line);
  const goRun = runs.find((r) => /\bgo\s+(mod\s+download|build|install)\b/.test(r.args));
  const out: Advice[] = [];
  for (const id of provided) {
    const p = PROVIDED[id];
    if (p && !mounted.has(id))
      out.push({
        line: goRun?.line ?? df.stages[0]!.from.line,
        title: `secret "${id}" is never mounted`,
        message: `${p.input} provides the BuildKit secret "${id}", but no RUN mounts it, so the build cannot use it. Add ${p.mount} to the RUN that needs it`,
      });
  }
  const known = new Set([...provided, ...userSecretIds]);
  for (const [id, line] of mounted) {
    const p = PROVIDED[id];
    if (p && !known.has(id))
      out.push({
        line,
        title: `secret "${id}" is not provided`,
        message: `this RUN mounts the secret "${id}", but nothing provides it: set ${p.set} or add it to secrets`,
      });
  }
  return out;
}
