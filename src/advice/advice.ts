// Go-specific Dockerfile advice, each with the line it concerns and the fix. Each rule is a small
// function in rules.ts; this module gathers what they need and runs them in a fixed order.
import type { Dockerfile } from '../dockerfile/parse.ts';
import { RULES, type RuleContext } from './rules.ts';

export interface Advice {
  /** Stable name of the rule, for docs and filtering. */
  id?: string;
  /** Notices are facts worth knowing; warnings cost size, speed or correctness. */
  severity?: 'warning' | 'notice';
  line: number;
  title: string;
  message: string;
}

export interface AdviceOptions {
  platforms: string[];
  context: string;
  hostArch: string;
  buildArgs?: ReadonlyMap<string, string>;
  /** The --target stage, when the build stops before the last one. */
  target?: string;
  /** Digest -> kind, for FROM lines pinned by digest (looked up by the caller; may be partial). */
  digestKinds?: ReadonlyMap<string, 'index' | 'manifest'>;
  syntaxReachable?: boolean;
}

export function adviseDockerfile(df: Dockerfile, opts: AdviceOptions): Advice[] {
  const ctx: RuleContext = { df, ...opts, buildArgs: opts.buildArgs ?? new Map() };
  return RULES.flatMap((rule) =>
    rule.check(ctx).map((a) => ({ id: rule.id, severity: rule.severity, ...a })),
  );
}

export { pinnedDigests } from './rules.ts';
