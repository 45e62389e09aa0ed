// What the core needs from where it runs: the Actions runner (src/action.ts) or a terminal (src/cli.ts).
import type { InputReader } from './inputs.ts';
import type { Logger } from './log.ts';
import type { MainState } from './state.ts';
import type { SummaryFacts } from './summary.ts';

export interface Host {
  log: Logger;
  input: InputReader;
  env: NodeJS.ProcessEnv;
  setOutput(name: string, value: string): void;
  saveState(state: MainState): void;
  writeSummary(markdown: string): Promise<void>;
  setSecret(value: string): void;
  /** Streams build output (a collapsible group in Actions, the terminal in the CLI). */
  buildOutput(chunk: Buffer): void;
  /**
   * `tty`: buildx draws its own progress display on the terminal (its stderr is the terminal's,
   * so nothing of it is captured); otherwise (the action) its plain lines go to buildOutput.
   */
  buildProgress?: 'tty' | 'plain';
  /** The facts of the job summary, for a host that renders them its own way (the terminal). */
  summaryFacts?(facts: SummaryFacts): void;
}
