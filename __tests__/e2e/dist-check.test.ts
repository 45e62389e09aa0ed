// The dist check catches a source change that was not bundled: run in a clone of the repository.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execFile } from '../../src/io/exec.ts';
import { ROOT } from '../helpers/run-action.ts';

test(
  'scripts/check-dist.sh passes on a clean clone and fails when src/ changes without a rebuild',
  { timeout: 180_000 },
  async () => {
    const dir = path.join(mkdtempSync(path.join(tmpdir(), 'bgi-dist-')), 'repo');
    await execFile('git', ['clone', '--quiet', ROOT, dir]);
    // A hard-linked copy, not a symlink: ncc numbers modules by their path relative to the project.
    await execFile('cp', ['-al', path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules')]);
    const env = {
      ...process.env,
      PATH: `${path.join(ROOT, 'node_modules', '.bin')}:${process.env['PATH']}`,
    };
    const clean = await execFile('bash', ['scripts/check-dist.sh'], {
      cwd: dir,
      env,
      allowFailure: true,
    });
    assert.equal(clean.exitCode, 0, clean.stderr + clean.stdout);
    const errors = path.join(dir, 'src', 'errors.ts');
    writeFileSync(
      errors,
      readFileSync(errors, 'utf8').replace(
        'super(`input "${input}": ${message}`);',
        'super(`input ${input}: ${message}`);',
      ),
    );
    await execFile('git', ['commit', '--quiet', '-am', 'change without a rebuild'], {
      cwd: dir,
      env: {
        ...env,
        GIT_AUTHOR_NAME: 't',
        GIT_AUTHOR_EMAIL: 't@t',
        GIT_COMMITTER_NAME: 't',
        GIT_COMMITTER_EMAIL: 't@t',
      },
    });
    const stale = await execFile('bash', ['scripts/check-dist.sh'], {
      cwd: dir,
      env,
      allowFailure: true,
    });
    assert.notEqual(stale.exitCode, 0);
    assert.match(stale.stderr, /dist\/ differs from a fresh bundle/);
  },
);
