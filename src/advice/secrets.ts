// Advice on the secrets the action provides (netrc for private modules, the CA bundle): a secret
// that no RUN mounts does nothing, and a mount of a secret nothing provides fails quietly later.
import type { Dockerfile, Instruction } from '../dockerfile/parse.ts';
import type { Advice } from './advice.ts';

function secretIds(ins: Instruction): string[] {
  return ins.flags
    .filter((f) => f.name === 'mount' && /(^|,)type=secret(,|$)/.test(f.value))
    .map((f) => /(?:^|,)id=([^,]+)/.exec(f.value)?.[1] ?? '')
    .filter(Boolean);
}

export function secretMountAdvice(
  df: Dockerfile,
  provided: { id: string; input: string; mount: string }[],
  userSecretIds: string[],
): Advice[] {
  const runs = df.instructions.filter((i) => i.keyword === 'RUN');
  const mounted = new Map<string, number>();
  for (const r of runs)
    for (const id of secretIds(r)) if (!mounted.has(id)) mounted.set(id, r.line);
  const goRun = runs.find((r) => /\bgo\s+(mod\s+download|build|install)\b/.test(r.args));
  const out: Advice[] = [];
  for (const p of provided)
    if (!mounted.has(p.id))
      out.push({
        line: goRun?.line ?? df.stages[0]!.from.line,
        title: `secret "${p.id}" is never mounted`,
        message: `${p.input} provides the BuildKit secret "${p.id}", but no RUN mounts it, so the build cannot use it. Add ${p.mount} to the RUN that needs it`,
      });
  const known = new Set([...provided.map((p) => p.id), ...userSecretIds]);
  for (const [id, line] of mounted)
    if ((id === 'netrc' || id === 'ca-bundle') && !known.has(id))
      out.push({
        line,
        title: `secret "${id}" is not provided`,
        message: `this RUN mounts the secret "${id}", but nothing provides it: ${id === 'netrc' ? 'set go-private (and go-private-token)' : 'set ca-bundle'} or add it to secrets`,
      });
  return out;
}
