// One sticky comment per PR and image: found by its hidden marker among the token's own comments
// only (all pages), updated in place, left alone when unchanged.
import * as github from '@actions/github';
import { getErrorMessage } from '../errors.ts';

export type CommentOutcome =
  | { action: 'created' | 'updated' | 'unchanged'; id: number }
  | { action: 'denied' | 'failed'; reason: string };

type Octokit = ReturnType<typeof github.getOctokit>;

async function ownLogin(octokit: Octokit): Promise<string> {
  try {
    const { data } = await octokit.rest.users.getAuthenticated();
    return data.login;
  } catch {
    // The workflow's GITHUB_TOKEN is an installation token: /user answers 403; its comments are the bot's.
    return 'github-actions[bot]';
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
}): Promise<CommentOutcome> {
  const octokit = github.getOctokit(opts.token, opts.baseUrl ? { baseUrl: opts.baseUrl } : {});
  try {
    const login = await ownLogin(octokit);
    const comments = await octokit.paginate(octokit.rest.issues.listComments, {
      owner: opts.owner,
      repo: opts.repo,
      issue_number: opts.issue,
      per_page: 100,
    });
    const mine = comments.find(
      (c) => c.user?.login === login && (c.body ?? '').includes(opts.marker),
    );
    if (mine) {
      if (mine.body === opts.body) return { action: 'unchanged', id: mine.id };
      await octokit.rest.issues.updateComment({
        owner: opts.owner,
        repo: opts.repo,
        comment_id: mine.id,
        body: opts.body,
      });
      return { action: 'updated', id: mine.id };
    }
    const { data } = await octokit.rest.issues.createComment({
      owner: opts.owner,
      repo: opts.repo,
      issue_number: opts.issue,
      body: opts.body,
    });
    return { action: 'created', id: data.id };
  } catch (e) {
    const status = (e as { status?: number }).status;
    if (status === 403 || status === 401 || status === 404)
      return {
        action: 'denied',
        reason: `the token cannot write comments (HTTP ${status}: ${getErrorMessage(e)}); fork pull requests get a read-only token — see docs/security.md for the two-workflow comment pattern`,
      };
    return { action: 'failed', reason: getErrorMessage(e) };
  }
}
