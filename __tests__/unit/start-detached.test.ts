// Work left running on its own (the writeback after an inject, cachemounts/transport/index.ts): a
// missing program must not take the step down with it (an unhandled 'error' event would end the
// process).
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDetached } from '../../src/io/exec.ts';

test('startDetached runs the program without waiting, and shrugs off a missing one', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'bgi-writeback-'));
  const marker = path.join(dir, 'ran');
  const program = path.join(dir, 'fake-sync');
  // Sleeps before leaving its mark: the call must return before the program is done.
  writeFileSync(program, `#!/bin/sh\nsleep 0.3\necho ran > '${marker}'\n`);
  chmodSync(program, 0o755);
  startDetached(program);
  assert.equal(existsSync(marker), false, 'startDetached waited for the program');
  for (let i = 0; i < 100 && !existsSync(marker); i++) await sleep(50);
  assert.ok(existsSync(marker), 'the program never ran');

  startDetached(path.join(dir, 'no-such-program'));
  // The spawn failure arrives as an event on a later tick: give it time to surface.
  await sleep(200);
});
