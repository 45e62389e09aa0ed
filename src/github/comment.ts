// One sticky comment per PR and image: the token's own comment (all pages) that opens with the
// image's hidden marker, updated in place, left alone when unchanged.
import * as github from '@actions/github';
import { getErrorMessage } from '../errors.ts';

export type CommentOutcome =
  | { action: 'created' | 'updated' | 'unchanged'; id: number }
  | { action: 'denied' | 'failed'; reason: string };

type Octokit = ReturnType<typeof github.getOctokit>;

interface ApiError {
  status?: number;
  response?: { headers?: Record<string, string | undefined> };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Retries what GitHub asks to be retried: 5xx, 429, secondary rate limits (403 with retry-after)
 * and dropped connections, with backoff and at most `attempts` tries. A primary rate limit that
 * resets later than we would wait is reported at once.
 */
export async function withApiRetry<T>(
  fn: () => Promise<T>,
  opts: { attempts?: number; backoffMs?: number; maxWaitMs?: number } = {},
): Promise<T> {
  const attempts = opts.attempts ?? 3;
  const maxWait = opts.maxWaitMs ?? 30_000;
  let delay = opts.backoffMs ?? 1000;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (e) {
      const { status, response } = e as ApiError;
      const headers = response?.headers ?? {};
      const retryAfter = Number(headers['retry-after']);
      const exhausted = headers['x-ratelimit-remaining'] === '0';
      const aborted = (e as Error).name === 'AbortError' || /abort/i.test(getErrorMessage(e));
      // Octokit reports a dropped connection as status 500; an error without a status is ours
      // (a malformed answer, a bug) and retrying it would only repeat it.
      const transient =
        !aborted &&
        status !== undefined &&
        (status >= 500 ||
          status === 429 ||
          (status === 403 && (Number.isFinite(retryAfter) || exhausted)));
      if (!transient || attempt >= attempts) throw e;
      let wait = Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : delay;
      if (exhausted && !Number.isFinite(retryAfter)) {
        const reset = Number(headers['x-ratelimit-reset']) * 1000;
        if (Number.isFinite(reset)) wait = reset - Date.now();
      }
      if (wait > maxWait) throw e;
      await sleep(Math.max(wait, 0));
      delay *= 2;
    }
  }
}

async function ownLogin(
  octokit: Octokit,
  retry: <T>(fn: () => Promise<T>) => Promise<T>,
): Promise<string> {
  try {
    const { data } = await retry(() => octokit.rest.users.getAuthenticated());
    return data.login;
  } catch (e) {
    // The workflow's GITHUB_TOKEN is an installation token: /user answers 403; its comments are
    // the bot's. Any other failure must not guess: a wrong login would post a second comment.
    if ((e as ApiError).status === 403) return 'github-actions[bot]';
    throw e;
  }
}

/** A comment as listed, every field still to check: the answer is outside input. */
type ListedComment = { id?: unknown; user?: { login?: unknown } | null; body?: unknown } | null;

/** Pages of 100 comments read at most: a list that goes on (a next link on every page) ends here. */
export const MAX_COMMENT_PAGES = 100;

/**
 * Every comment of the issue, page by page (each page retried on its own), or why not. A list
 * longer than MAX_COMMENT_PAGES is not searched to its end: a comment of ours past it could not be
 * found, and creating one would add a second.
 */
async function listComments(
  octokit: Octokit,
  opts: { owner: string; repo: string; issue: number },
  retry: <T>(fn: () => Promise<T>) => Promise<T>,
): Promise<ListedComment[] | string> {
  const pages = octokit.paginate.iterator(octokit.rest.issues.listComments, {
    owner: opts.owner,
    repo: opts.repo,
    issue_number: opts.issue,
    per_page: 100,
  });
  const it = pages[Symbol.asyncIterator]();
  const comments: ListedComment[] = [];
  for (let n = 1; ; n++) {
    const page = await retry(() => it.next());
    if (page.done) return comments;
    if (n > MAX_COMMENT_PAGES)
      return `#${opts.issue} lists more than ${MAX_COMMENT_PAGES * 100} comments (the API kept offering a next page): not searched to its end, so no comment is posted that could be a second one`;
    const items: unknown = page.value.data;
    if (!Array.isArray(items)) return 'the comment list is not a list';
    comments.push(...(items as ListedComment[]));
  }
}

export async function upsertComment(opts: {
  token: string;
  baseUrl?: string;
  owner: string;
  repo: string;
  issue: number;
  marker: string;
  body: string;
  /** Bound on the whole exchange with the API (default 2 minutes). */
  timeoutMs?: number;
  retryBackoffMs?: number;
}): Promise<CommentOutcome> {
  const octokit = github.getOctokit(opts.token, {
    ...(opts.baseUrl ? { baseUrl: opts.baseUrl } : {}),
    request: { signal: AbortSignal.timeout(opts.timeoutMs ?? 120_000) },
  });
  const retry = <T>(fn: () => Promise<T>) => withApiRetry(fn, { backoffMs: opts.retryBackoffMs });
  // A body that does not open with its marker could never be found again: each run would add one.
  if (!opts.body.startsWith(opts.marker))
    return { action: 'failed', reason: 'the comment body does not start with its marker' };
  try {
    const login = await ownLogin(octokit, retry);
    const comments = await listComments(octokit, opts, retry);
    if (typeof comments === 'string') return { action: 'failed', reason: comments };
    // Ours only if written by this token's login AND opening with the marker: a marker quoted
    // inside a body (a bot's quote, a pasted old report, a reply of our own login) is not ours.
    const mine = comments.find(
      (c): c is { id: number; body: string } =>
        typeof c === 'object' &&
        c !== null &&
        c.user?.login === login &&
        typeof c.body === 'string' &&
        c.body.startsWith(opts.marker) &&
        Number.isInteger(c.id),
    );
    if (mine) {
      if (mine.body === opts.body) return { action: 'unchanged', id: mine.id };
      await retry(() =>
        octokit.rest.issues.updateComment({
          owner: opts.owner,
          repo: opts.repo,
          comment_id: mine.id,
          body: opts.body,
        }),
      );
      return { action: 'updated', id: mine.id };
    }
    // Not retried on its own: a create that timed out may have landed, and a retry would post a
    // second comment. The next run finds whichever landed and updates it.
    const { data } = await octokit.rest.issues.createComment({
      owner: opts.owner,
      repo: opts.repo,
      issue_number: opts.issue,
      body: opts.body,
    });
    return { action: 'created', id: data.id };
  } catch (e) {
    const status = (e as ApiError).status;
    if (status === 403 || status === 401 || status === 404)
      return {
        action: 'denied',
        reason: `the token cannot write comments (HTTP ${status}: ${getErrorMessage(e)}); fork pull requests get a read-only token — see docs/security.md for the two-workflow comment pattern`,
      };
    return { action: 'failed', reason: getErrorMessage(e) };
  }
}
