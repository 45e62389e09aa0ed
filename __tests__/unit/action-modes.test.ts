// The bundled action run as the runner runs it, for the paths that need no build engine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { diffReports } from '../../src/sizereport/diff.ts';
import { renderMarkdown } from '../../src/sizereport/render.ts';
import { reportFileText } from '../../src/sizereport/report-file.ts';
import { startGitHubApi } from '../helpers/github-api.ts';
import { runAction } from '../helpers/run-action.ts';

test('bad input fails the main step before any work, naming the input and the fix; post does nothing', async () => {
  const res = await runAction({
    inputs: {
      context: 'examples/go-service',
      platforms: 'linux/amd65',
      'github-token': 'ghs-secret-value',
    },
  });
  assert.equal(res.main.exitCode, 1);
  const error = res.main.annotations.find((a) => a.level === 'error');
  assert.match(
    error?.message ?? '',
    /input "platforms": "linux\/amd65" is not a platform: use os\/arch\[\/variant\]/,
  );
  assert.ok(res.main.masks.includes('ghs-secret-value'), 'the token is masked first');
  assert.ok(!JSON.stringify(res.state).includes('ghs-secret-value'), 'no token in state');
  assert.equal(res.post?.exitCode, 0);
  assert.match(res.post?.stdout ?? '', /main did not get far enough/);
});

/** A size-report file as a build writes it: its markdown, then its data. */
function sizeReportFile(name: string, bytes: number): string {
  const head = {
    schema: 1 as const,
    image: `${name}:pr`,
    platforms: [
      {
        platform: 'linux/amd64',
        digest: `sha256:${'1'.repeat(64)}`,
        compressed: bytes,
        layers: [{ digest: `sha256:${'2'.repeat(64)}`, size: bytes, instruction: 'COPY . .' }],
      },
    ],
  };
  const markdown = renderMarkdown(diffReports(head, undefined), name);
  return reportFileText(markdown, { v: 1, name, head, budgets: {} });
}

test('comment mode posts a report file from a workflow_run event, then updates it', async (t) => {
  const api = await startGitHubApi({
    'ghs-write': {
      login: 'github-actions[bot]',
      id: 41898282,
      type: 'Bot',
      write: true,
      installation: true,
    },
  });
  t.after(() => api.close());
  const dir = mkdtempSync(path.join(tmpdir(), 'bgi-report-'));
  const report = path.join(dir, 'size-report.md');
  writeFileSync(report, sizeReportFile('octo/service', 1024 * 1024));
  // A same-repository PR: GitHub lists it in the event, and the API finds it by its head commit.
  const sha = 'f0'.repeat(20);
  api.addPull({ number: 3, headRepository: 'octo/service', headRef: 'feature', headSha: sha });
  const event = {
    name: 'workflow_run',
    payload: {
      workflow_run: {
        event: 'pull_request',
        head_branch: 'feature',
        head_sha: sha,
        head_repository: { full_name: 'octo/service', owner: { login: 'octo' } },
        pull_requests: [{ number: 3 }],
      },
    },
  };
  const inputs = { 'report-file': report, 'github-token': 'ghs-write' };
  const first = await runAction({
    inputs,
    event,
    env: { GITHUB_API_URL: api.url },
    skipPost: true,
  });
  assert.equal(first.main.exitCode, 0, first.main.stdout);
  assert.equal(api.comments.get(3)?.length, 1);
  writeFileSync(report, sizeReportFile('octo/service', 2 * 1024 * 1024));
  const second = await runAction({
    inputs,
    event,
    env: { GITHUB_API_URL: api.url },
    skipPost: true,
  });
  assert.equal(second.main.exitCode, 0);
  assert.equal(api.comments.get(3)?.length, 1);
  assert.match(api.comments.get(3)![0]!.body, /2\.0 MiB/);

  writeFileSync(report, 'an arbitrary file\n');
  const foreign = await runAction({
    inputs,
    event,
    env: { GITHUB_API_URL: api.url },
    skipPost: true,
  });
  assert.equal(foreign.main.exitCode, 1);
  assert.match(
    foreign.main.annotations[0]?.message ?? '',
    /input "report-file": .* not a size report written by this action/,
  );
});

test('comment mode with a read-only token warns and does not fail', async (t) => {
  const api = await startGitHubApi({
    'ghs-read': {
      login: 'github-actions[bot]',
      id: 41898282,
      type: 'Bot',
      write: false,
      installation: true,
    },
  });
  t.after(() => api.close());
  const report = path.join(mkdtempSync(path.join(tmpdir(), 'bgi-report-')), 'r.md');
  writeFileSync(report, sizeReportFile('svc', 1000));
  const res = await runAction({
    inputs: { 'report-file': report, 'github-token': 'ghs-read', 'pull-request': '4' },
    env: { GITHUB_API_URL: api.url },
    skipPost: true,
  });
  assert.equal(res.main.exitCode, 0);
  assert.ok(res.main.annotations.some((a) => a.level === 'warning' && /HTTP 403/.test(a.message)));
  assert.equal(api.comments.get(4), undefined);
});
