// Go-specific Dockerfile advice, each with the line it concerns and the fix. Each rule is a small
// function in rules.ts; this module gathers what they need and runs them in a fixed order.
import type { Dockerfile } from '../dockerfile/parse.ts';
import { RULES, type RuleContext } from './rules.ts';
import type { Advice, AdviceOptions } from './types.ts';

export type { Advice, AdviceOptions } from './types.ts';

export function adviseDockerfile(df: Dockerfile, opts: AdviceOptions): Advice[] {
  const ctx: RuleContext = { df, ...opts, buildArgs: opts.buildArgs ?? new Map() };
  return RULES.flatMap((rule) =>
    rule.check(ctx).map((a) => ({ id: rule.id, severity: rule.severity, ...a })),
  );
}

export { pinnedDigests } from './rules.ts';
