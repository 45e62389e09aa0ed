// The action's host: inputs, outputs, state and summary through @actions/core.
import * as core from '@actions/core';
import { getErrorMessage } from './errors.ts';
import { actionsLogger } from './log.ts';
import { oneLine } from './markdown.ts';
import { runMain } from './main.ts';
import { runPost } from './post.ts';
import { installCancelHandlers } from './io/cancel.ts';
import { parseState, type MainState } from './state.ts';

const STATE_KEY = 'build-go-image';
const IS_POST = 'isPost';

export async function runAction(): Promise<void> {
  if (core.getState(IS_POST) === 'true') {
    installCancelHandlers({
      report: (signal) =>
        core.warning(
          `post step cancelled (${signal}): cache mounts not saved, nothing half-written kept`,
        ),
      exitCode: 0,
    });
    try {
      await runPost(parseState(core.getState(STATE_KEY)), actionsLogger, core.setOutput);
    } catch (e) {
      core.warning(`post step: ${getErrorMessage(e)}`);
    }
    // Post must never hang the job on an open handle (a lesson from setup-go's cache-save).
    process.exit(0);
  }
  core.saveState(IS_POST, 'true');
  let last: MainState | undefined;
  const saveState = (s: MainState) => {
    last = s;
    core.saveState(STATE_KEY, JSON.stringify(s));
  };
  installCancelHandlers({
    report: (signal) => {
      // Post reads this: it saves nothing from a build that did not finish, and still removes
      // what main created.
      if (last) saveState({ ...last, cancelled: true });
      core.setFailed(`cancelled (${signal}) during phase "${last?.phase ?? 'inputs'}"`);
    },
    exitCode: 1,
  });
  try {
    await runMain({
      log: actionsLogger,
      input: (name) => core.getInput(name),
      env: process.env,
      // Values can hold outside text (versions, names): no line break reaches an output, but
      // the markdown report, which is lines by design.
      setOutput: (name, value) =>
        core.setOutput(name, name === 'size-report-markdown' ? value : oneLine(value)),
      saveState,
      writeSummary: async (md) => {
        await core.summary.addRaw(md, true).write();
      },
      setSecret: core.setSecret,
      buildOutput: (c) => process.stdout.write(c),
    });
  } catch (e) {
    core.setFailed(getErrorMessage(e));
  }
  // A cache call abandoned at its deadline may still hold a socket open; the step is done.
  process.exit();
}
