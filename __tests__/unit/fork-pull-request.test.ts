// Comment mode on `workflow_run` for pull requests from forks: GitHub sends no pull request in the
// event, so it is found through the API from the triggering run's head repository, branch and SHA,
// and only an unambiguous match counts. A number from an artifact is never trusted on its own.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { readInputs } from '../../src/inputs.ts';
import { marker } from '../../src/sizereport/render.ts';
import { reportFileText } from '../../src/sizereport/report-file.ts';
import { pullRequestTarget } from '../../src/sizereport/step.ts';
import { startGitHubApi, type GitHubApi } from '../helpers/github-api.ts';
import { ROOT, runAction } from '../helpers/run-action.ts';

const SHA = 'a1'.repeat(20);
const OTHER_SHA = 'b2'.repeat(20);
const TOKENS = {
  'ghs-write': {
    login: 'github-actions[bot]',
    id: 41898282,
    type: 'Bot' as const,
    write: true,
    installation: true,
  },
};

/** A workflow_run event as GitHub sends it for a fork's pull request: `pull_requests` empty. */
function forkRun(over: Record<string, unknown> = {}) {
  return {
    action: 'completed',
    workflow_run: {
      id: 1234,
      event: 'pull_request',
      head_branch: 'feature',
      head_sha: SHA,
      pull_requests: [],
      head_repository: { full_name: 'forker/service', owner: { login: 'forker' } },
      repository: { full_name: 'octo/service' },
      ...over,
    },
  };
}

interface Logged {
  level: string;
  message: string;
}

async function target(api: GitHubApi, payload: unknown, inputs: Record<string, string> = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), 'bgi-fork-'));
  const eventFile = path.join(dir, 'event.json');
  writeFileSync(eventFile, JSON.stringify(payload));
  const logged: Logged[] = [];
  const log = (level: string) => (message: string) => logged.push({ level, message });
  const host = {
    env: {
      GITHUB_EVENT_NAME: 'workflow_run',
      GITHUB_EVENT_PATH: eventFile,
      GITHUB_REPOSITORY: 'octo/service',
      GITHUB_API_URL: api.url,
    },
    log: { info: log('info'), warning: log('warning'), error: log('error'), debug() {} },
  } as never;
  const all = { 'github-token': 'ghs-write', ...inputs };
  const res = await pullRequestTarget(
    host,
    readInputs((n) => all[n as keyof typeof all] ?? ''),
  );
  return { res, logged };
}

async function withApi(t: { after(fn: () => Promise<void>): void }) {
  const api = await startGitHubApi(TOKENS);
  t.after(() => api.close());
  return api;
}

test('a fork PR is found by the head repository, branch and SHA of the triggering run', async (t) => {
  const api = await withApi(t);
  api.addPull({ number: 3, headRepository: 'octo/service', headRef: 'other', headSha: SHA });
  api.addPull({ number: 7, headRepository: 'forker/service', headRef: 'feature', headSha: SHA });
  const { res } = await target(api, forkRun());
  assert.deepEqual(res, { number: 7 });
  const list = api.requests.find((r) => r.path.startsWith('/repos/octo/service/pulls?'));
  assert.ok(list, 'listed the pulls of the base repository');
  const q = new URL(list.path, 'http://x').searchParams;
  assert.equal(q.get('head'), 'forker:feature');
  assert.equal(q.get('state'), 'open');
});

test('a same-named branch of the base repository (or another fork of the owner) is never picked', async (t) => {
  const api = await withApi(t);
  // The base repository has its own `main` PR at the very same commit (the fork synced it).
  api.addPull({ number: 8, headRepository: 'octo/service', headRef: 'main', headSha: SHA });
  api.addPull({ number: 9, headRepository: 'forker/service', headRef: 'main', headSha: SHA });
  // The fork owner's second fork, same branch and commit: the head filter alone cannot tell.
  api.addPull({ number: 10, headRepository: 'forker/svc-copy', headRef: 'main', headSha: SHA });
  assert.deepEqual((await target(api, forkRun({ head_branch: 'main' }))).res, { number: 9 });
  const fromBase = forkRun({
    head_branch: 'main',
    head_repository: { full_name: 'octo/service', owner: { login: 'octo' } },
  });
  assert.deepEqual((await target(api, fromBase)).res, { number: 8 });
  const fromCopy = forkRun({
    head_branch: 'main',
    head_repository: { full_name: 'forker/svc-copy', owner: { login: 'forker' } },
  });
  assert.deepEqual((await target(api, fromCopy)).res, { number: 10 });
});

test('two open PRs with the same head commit: none is chosen, with a warning', async (t) => {
  const api = await withApi(t);
  api.addPull({ number: 11, headRepository: 'forker/service', headRef: 'feature', headSha: SHA });
  api.addPull({
    number: 12,
    headRepository: 'forker/service',
    headRef: 'feature',
    headSha: SHA,
    baseRef: 'release-1',
  });
  const { res } = await target(api, forkRun());
  assert.ok('skip' in res && res.level === 'warning');
  assert.match(res.skip, /2 open pull requests \(#11, #12\).*not choosing/);
});

test('no PR whose head is the run commit (pushed again, closed): none, with the reason', async (t) => {
  const api = await withApi(t);
  api.addPull({
    number: 13,
    headRepository: 'forker/service',
    headRef: 'feature',
    headSha: OTHER_SHA,
  });
  api.addPull({
    number: 14,
    headRepository: 'forker/service',
    headRef: 'feature',
    headSha: SHA,
    state: 'closed',
  });
  const { res } = await target(api, forkRun());
  assert.ok('skip' in res && res.level === 'warning');
  assert.match(
    res.skip,
    /no open pull request has forker\/service@a1a1a1a1a1a1 \(branch feature\)/,
  );
});

test('a PR number from an artifact is only a hint: a disagreeing one is ignored, none is never used alone', async (t) => {
  const api = await withApi(t);
  api.addPull({ number: 3, headRepository: 'octo/service', headRef: 'main', headSha: OTHER_SHA });
  api.addPull({ number: 7, headRepository: 'forker/service', headRef: 'feature', headSha: SHA });
  const forged = await target(api, forkRun(), { 'pull-request': '3' });
  assert.deepEqual(forged.res, { number: 7 });
  assert.ok(
    forged.logged.some((l) => l.level === 'warning' && /pull-request 3 .*ignored/.test(l.message)),
  );
  const agreeing = await target(api, forkRun(), { 'pull-request': '7' });
  assert.deepEqual(agreeing.res, { number: 7 });
  assert.equal(agreeing.logged.length, 0);
  // No match at all: the artifact's number is not a fallback. Nor is the event's own list.
  const alone = await target(
    api,
    forkRun({ head_sha: OTHER_SHA.replace('b2', 'c3'), pull_requests: [{ number: 3 }] }),
    { 'pull-request': '3' },
  );
  assert.ok('skip' in alone.res);
});

test('hostile or missing run fields skip without asking the API; a push run is no PR', async (t) => {
  const api = await withApi(t);
  api.addPull({ number: 7, headRepository: 'forker/service', headRef: 'feature', headSha: SHA });
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ head_repository: null }, /no head repository/],
    [{ head_repository: { full_name: 'forker/service?state=all' } }, /no head repository/],
    [
      { head_repository: { full_name: 'forker/service', owner: { login: 'someone' } } },
      /owner .* not a GitHub login/,
    ],
    [{ head_branch: 'feature\nx' }, /no usable head branch/],
    [{ head_branch: 'a:b' }, /no usable head branch/],
    [{ head_branch: '../x' }, /no usable head branch/],
    [{ head_branch: 'x'.repeat(300) }, /no usable head branch/],
    [{ head_sha: 'HEAD' }, /no head commit SHA/],
    [{ head_sha: SHA.toUpperCase() }, /no head commit SHA/],
  ];
  for (const [over, why] of bad) {
    const { res } = await target(api, forkRun(over));
    assert.ok('skip' in res && res.level === 'warning', JSON.stringify(over));
    assert.match(res.skip, why);
  }
  const push = await target(api, forkRun({ event: 'push' }));
  assert.ok('skip' in push.res && push.res.level === 'info');
  assert.equal(api.requests.length, 0, 'nothing was asked of the API');
});

test('an API that keeps failing costs the comment, never the job', async (t) => {
  const api = await withApi(t);
  api.fail(502, 10);
  const { res } = await target(api, forkRun());
  assert.ok('skip' in res);
  assert.match(res.skip, /could not be listed/);
});

test('comment mode on workflow_run posts a fork PR report to the PR the API names, not the artifact number', async (t) => {
  const api = await withApi(t);
  api.addPull({ number: 3, headRepository: 'octo/service', headRef: 'feature', headSha: SHA });
  api.addPull({ number: 7, headRepository: 'forker/service', headRef: 'feature', headSha: SHA });
  const report = path.join(mkdtempSync(path.join(tmpdir(), 'bgi-fork-')), 'size-report.md');
  const head = {
    schema: 1 as const,
    image: 'octo/service:pr',
    platforms: [
      {
        platform: 'linux/amd64',
        digest: `sha256:${'1'.repeat(64)}`,
        compressed: 1000,
        layers: [{ digest: `sha256:${'2'.repeat(64)}`, size: 1000, instruction: 'COPY . .' }],
      },
    ],
  };
  writeFileSync(
    report,
    reportFileText(`${marker('octo/service')}\n(markdown)`, {
      v: 1,
      name: 'octo/service',
      head,
      budgets: {},
    }),
  );
  const res = await runAction({
    entry: path.join(ROOT, 'src', 'index.ts'),
    inputs: { 'report-file': report, 'github-token': 'ghs-write', 'pull-request': '3' },
    event: { name: 'workflow_run', payload: forkRun() },
    env: { GITHUB_API_URL: api.url },
    skipPost: true,
  });
  assert.equal(res.main.exitCode, 0, res.main.stdout);
  assert.equal(api.comments.get(3), undefined, 'the forged number got nothing');
  assert.equal(api.comments.get(7)?.length, 1);
  assert.ok(res.main.annotations.some((a) => a.level === 'warning' && /ignored/.test(a.message)));

  // The fork pushed again before the comment workflow ran: skip with a warning, exit 0.
  const stale = await runAction({
    entry: path.join(ROOT, 'src', 'index.ts'),
    inputs: { 'report-file': report, 'github-token': 'ghs-write' },
    event: { name: 'workflow_run', payload: forkRun({ head_sha: OTHER_SHA }) },
    env: { GITHUB_API_URL: api.url },
    skipPost: true,
  });
  assert.equal(stale.main.exitCode, 0, stale.main.stdout);
  assert.ok(
    stale.main.annotations.some((a) => a.level === 'warning' && /no PR comment/.test(a.message)),
  );
  assert.equal(api.comments.get(7)?.length, 1);
});
