// Which pull request a report belongs to. On `pull_request` events GitHub names it in the payload.
// On `workflow_run` (the second half of the fork pattern) it does not for forks: GitHub sends an
// empty `workflow_run.pull_requests` when the head is in another repository. The pull request is
// then found through the API from what GitHub itself recorded about the triggering run (head
// repository, head branch, head SHA), and only an unambiguous match counts. A number carried in an
// artifact (or passed from one as `pull-request`) is written by the fork's code: it is only
// checked against that match, never used on its own.
import { existsSync } from 'node:fs';
import * as github from '@actions/github';
import { getErrorMessage } from '../errors.ts';
import { readBoundedText } from '../io/files.ts';
import { withApiRetry } from './comment.ts';

/** What GitHub recorded about the run that triggered a `workflow_run` event. */
export interface TriggeringRun {
  /** `owner/name` of the repository the run's commit came from (the fork). */
  headRepository: string;
  /** Owner login of that repository: the `owner` of the API's `head=owner:branch` filter. */
  headOwner: string;
  headBranch: string;
  headSha: string;
  /** The triggering run's own event (`pull_request`, `push`, ...). */
  event: string;
}

export type EventPullRequest =
  | { kind: 'pull_request'; number: number }
  | { kind: 'workflow_run'; run: TriggeringRun }
  | { kind: 'workflow_run'; run?: undefined; problem: string }
  | { kind: 'none' };

const REPOSITORY = /^[A-Za-z0-9_.-]{1,100}\/[A-Za-z0-9_.-]{1,100}$/;
const LOGIN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?$/;
const SHA = /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/;
/** A git branch name as git check-ref-format allows it, bounded; nothing that could bend a query. */
function isBranchName(s: string): boolean {
  if (s.length < 1 || s.length > 255) return false;
  for (const c of s) {
    const code = c.codePointAt(0)!;
    if (code <= 0x20 || code === 0x7f) return false;
  }
  return !/[~^:?*[\\]|\.\.|\/\/|@\{|^[/-]|\/$|\.lock$|\.$/.test(s);
}

const isPositiveInteger = (n: unknown): n is number =>
  typeof n === 'number' && Number.isInteger(n) && n > 0;

/** The event payload's pull-request facts, each field checked against its grammar. */
export function readEventPullRequest(env: NodeJS.ProcessEnv): EventPullRequest {
  const file = env['GITHUB_EVENT_PATH'];
  if (!file || !existsSync(file)) return { kind: 'none' };
  let payload: {
    pull_request?: { number?: unknown };
    workflow_run?: {
      event?: unknown;
      head_branch?: unknown;
      head_sha?: unknown;
      head_repository?: { full_name?: unknown; owner?: { login?: unknown } } | null;
    };
  };
  try {
    payload = JSON.parse(readBoundedText(file, 64 * 1024 * 1024, 'the event payload')) as never;
  } catch {
    return { kind: 'none' };
  }
  if (typeof payload !== 'object' || payload === null) return { kind: 'none' };
  const n = payload.pull_request?.number;
  if (isPositiveInteger(n)) return { kind: 'pull_request', number: n };
  const run = payload.workflow_run;
  if (env['GITHUB_EVENT_NAME'] !== 'workflow_run' || typeof run !== 'object' || run === null)
    return { kind: 'none' };
  const fullName = run.head_repository?.full_name;
  const owner = run.head_repository?.owner?.login ?? String(fullName ?? '').split('/')[0];
  const problem = (what: string) => ({ kind: 'workflow_run' as const, problem: what });
  if (typeof fullName !== 'string' || !REPOSITORY.test(fullName))
    return problem('the triggering run names no head repository (a deleted fork?)');
  if (typeof owner !== 'string' || !LOGIN.test(owner) || !fullName.startsWith(`${owner}/`))
    return problem('the head repository owner of the triggering run is not a GitHub login');
  if (typeof run.head_branch !== 'string' || !isBranchName(run.head_branch))
    return problem('the triggering run has no usable head branch');
  if (typeof run.head_sha !== 'string' || !SHA.test(run.head_sha))
    return problem('the triggering run has no head commit SHA');
  return {
    kind: 'workflow_run',
    run: {
      headRepository: fullName,
      headOwner: owner,
      headBranch: run.head_branch,
      headSha: run.head_sha,
      event: typeof run.event === 'string' ? run.event : '',
    },
  };
}

export type PullRequestMatch = { number: number } | { skip: string };

const sameName = (a: unknown, b: string) =>
  typeof a === 'string' && a.toLowerCase() === b.toLowerCase();

/**
 * The one open pull request of `repository` whose head is the triggering run's commit in the run's
 * head repository. Listed with GitHub's `head=owner:branch` filter, then each candidate checked:
 * head SHA equal to the run's, head repository equal to the run's. None or several: no answer.
 */
export async function findRunPullRequest(opts: {
  token: string;
  baseUrl?: string;
  /** `owner/name` of this workflow's repository (the PR's base). */
  repository: string;
  run: TriggeringRun;
  timeoutMs?: number;
  retryBackoffMs?: number;
}): Promise<PullRequestMatch> {
  const { run } = opts;
  const [owner, repo] = opts.repository.split('/');
  if (!owner || !repo) return { skip: 'GITHUB_REPOSITORY is not owner/name' };
  const octokit = github.getOctokit(opts.token, {
    ...(opts.baseUrl ? { baseUrl: opts.baseUrl } : {}),
    request: { signal: AbortSignal.timeout(opts.timeoutMs ?? 60_000) },
  });
  const head = `${run.headOwner}:${run.headBranch}`;
  const matches = new Set<number>();
  let pages = 0;
  try {
    const pulls = octokit.paginate.iterator(octokit.rest.pulls.list, {
      owner,
      repo,
      state: 'open',
      head,
      per_page: 100,
    });
    const it = pulls[Symbol.asyncIterator]();
    for (;;) {
      const page = await withApiRetry(() => it.next(), { backoffMs: opts.retryBackoffMs });
      if (page.done) break;
      if (++pages > 10) return { skip: `more than 1000 open pull requests from ${head}` };
      const items: unknown = page.value.data;
      if (!Array.isArray(items)) return { skip: 'the pull-request list is not a list' };
      for (const pr of items as {
        number?: unknown;
        state?: unknown;
        head?: { sha?: unknown; repo?: { full_name?: unknown } | null };
      }[])
        if (
          typeof pr === 'object' &&
          pr !== null &&
          isPositiveInteger(pr.number) &&
          pr.state === 'open' &&
          pr.head?.sha === run.headSha &&
          sameName(pr.head?.repo?.full_name, run.headRepository)
        )
          matches.add(pr.number);
    }
  } catch (e) {
    return { skip: `the pull requests of ${head} could not be listed: ${getErrorMessage(e)}` };
  }
  const sha = run.headSha.slice(0, 12);
  if (matches.size === 1) return { number: [...matches][0]! };
  if (matches.size === 0)
    return {
      skip: `no open pull request has ${run.headRepository}@${sha} (branch ${run.headBranch}) as its head: closed, or pushed again since`,
    };
  return {
    skip: `${matches.size} open pull requests (#${[...matches].join(', #')}) have ${run.headRepository}@${sha} as their head: not choosing one`,
  };
}
