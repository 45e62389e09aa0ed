// Where messages go: Actions workflow commands in the action, plain lines in the CLI.
import * as core from '@actions/core';

export interface AnnotationProps {
  file?: string;
  startLine?: number;
  title?: string;
}

export interface Logger {
  info(message: string): void;
  warning(message: string, props?: AnnotationProps): void;
  notice(message: string, props?: AnnotationProps): void;
  error(message: string, props?: AnnotationProps): void;
  debug(message: string): void;
  group<T>(name: string, fn: () => Promise<T>): Promise<T>;
}

export const actionsLogger: Logger = {
  info: (m) => core.info(m),
  warning: (m, p) => core.warning(m, p ?? {}),
  notice: (m, p) => core.notice(m, p ?? {}),
  error: (m, p) => core.error(m, p ?? {}),
  debug: (m) => core.debug(m),
  group: (name, fn) => core.group(name, fn),
};

export function consoleLogger(verbose = false): Logger {
  const where = (p?: AnnotationProps) =>
    p?.file ? ` (${p.file}${p.startLine ? `:${p.startLine}` : ''})` : '';
  return {
    info: (m) => console.log(m),
    warning: (m, p) => console.error(`warning${where(p)}: ${m}`),
    notice: (m, p) => console.error(`notice${where(p)}: ${m}`),
    error: (m, p) => console.error(`error${where(p)}: ${m}`),
    debug: (m) => {
      if (verbose) console.error(`debug: ${m}`);
    },
    group: async (name, fn) => {
      console.log(`── ${name}`);
      return fn();
    },
  };
}
