// What a piece of advice is and what the rules are given: shared by the rules, the secret-mount
// advice and the module that runs them, so none of them imports another for its types.

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
