// The advice step: what the Dockerfile costs in size, speed or correctness, as annotations on its
// lines. Warnings fail the build only with `advice: error`; notices never do.
import type { Dockerfile } from '../dockerfile/parse.ts';
import type { BuildExtras } from '../go/private.ts';
import type { Inputs } from '../inputs.ts';
import type { Logger } from '../log.ts';
import { RegistryClient } from '../registry/client.ts';
import { adviseDockerfile, type Advice } from './advice.ts';
import { lookupAdviceFacts } from './lookups.ts';
import { secretMountAdvice } from './secrets.ts';

export async function adviceStep(opts: {
  inputs: Inputs;
  dockerfile: Dockerfile;
  buildArgs: ReadonlyMap<string, string>;
  extras: BuildExtras;
  hostArch: string;
  log: Logger;
}): Promise<Advice[]> {
  const { inputs, dockerfile, buildArgs, extras, log } = opts;
  if (inputs.advice === 'off') return [];
  const facts = await lookupAdviceFacts(
    dockerfile,
    buildArgs,
    new RegistryClient({ timeoutMs: 10_000, retryBackoffMs: 200 }),
    inputs.platforms.length > 1,
  );
  const advice = [
    ...adviseDockerfile(dockerfile, {
      platforms: inputs.platforms,
      context: inputs.context,
      hostArch: opts.hostArch,
      buildArgs,
      target: inputs.target || undefined,
      digestKinds: facts.digestKinds,
      syntaxReachable: facts.syntaxReachable,
    }),
    ...secretMountAdvice(
      dockerfile,
      extras.secrets.map((s) => s.id),
      [
        ...inputs.secrets.map((s) => s.id),
        ...inputs.secretFiles.map((s) => s.slice(0, s.indexOf('='))),
      ],
    ),
  ];
  for (const a of advice) {
    const where = { file: dockerfile.file, startLine: a.line, title: a.title };
    if (a.severity === 'notice') log.notice(a.message, where);
    else (inputs.advice === 'error' ? log.error : log.warning)(a.message, where);
  }
  const serious = advice.filter((a) => a.severity !== 'notice');
  if (inputs.advice === 'error' && serious.length > 0)
    throw new Error(`${serious.length} Dockerfile advice reported and advice is "error"`);
  return advice;
}
