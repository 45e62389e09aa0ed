// The sticky comment is the token's own comment that OPENS with the image's marker. Anything else
// that carries the marker (another user's paste, a bot's quote, a reply of our own login) is
// someone's text and is never overwritten.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { upsertComment } from '../../src/github/comment.ts';
import { marker } from '../../src/sizereport/render.ts';
import { startGitHubApi, type GitHubApi } from '../helpers/github-api.ts';

const TOKENS = {
  'ghp-ci': { login: 'ci-bot', id: 7, type: 'User' as const, write: true },
  'ghs-workflow': {
    login: 'github-actions[bot]',
    id: 41898282,
    type: 'Bot' as const,
    write: true,
    installation: true,
  },
  'ghp-someone': { login: 'someone', id: 8, type: 'User' as const, write: true },
  'ghs-other-bot': { login: 'renovate[bot]', id: 9, type: 'Bot' as const, write: true },
};

const m = marker('ghcr.io/o/svc');
const opts = (api: GitHubApi, token: string) => ({
  token,
  baseUrl: api.url,
  owner: 'o',
  repo: 'r',
  issue: 3,
  marker: m,
  retryBackoffMs: 1,
});

/** Every comment's body by id, to show which ones a run changed. */
const bodies = (api: GitHubApi) => new Map(api.comments.get(3)!.map((c) => [c.id, c.body]));

/** Comments that carry the marker but are not the token's sticky comment. */
const DECOYS: { who: string; body: string; why: string }[] = [
  { who: 'someone', body: `${m}\n| pasted | old report |`, why: 'another user, marker at start' },
  { who: 'someone', body: `Look at this:\n${m}\n| a | b |`, why: 'another user, marker mid-body' },
  { who: 'renovate[bot]', body: `${m}\nquoted by a bot`, why: 'another bot, marker at start' },
  { who: 'renovate[bot]', body: `> ${m}\n> quoted`, why: 'another bot quoting it' },
  { who: 'ci-bot', body: `> ${m}\n> the old report said...`, why: 'own login, quoted' },
  { who: 'ci-bot', body: `Earlier:\n${m}`, why: 'own login, marker mid-body' },
  { who: 'ci-bot', body: ` ${m}\nindented`, why: 'own login, marker after a space' },
  {
    who: 'ci-bot',
    body: `${marker('ghcr.io/o/svc-2')}\nanother image`,
    why: 'own login, the marker of an image whose name extends ours',
  },
  {
    who: 'github-actions[bot]',
    body: `${m}\nthe workflow token's comment`,
    why: 'the workflow bot while the token is a user',
  },
];

test('comments carrying the marker but not opening the token own comment are never overwritten', async (t) => {
  const api = await startGitHubApi(TOKENS);
  t.after(() => api.close());
  const decoys = DECOYS.map((d) => api.addComment(3, d.who, d.body));
  const before = bodies(api);
  const first = await upsertComment({ ...opts(api, 'ghp-ci'), body: `${m}\nv1` });
  assert.equal(first.action, 'created', 'no decoy was taken for ours');
  const second = await upsertComment({ ...opts(api, 'ghp-ci'), body: `${m}\nv2` });
  assert.deepEqual(second, { action: 'updated', id: (first as { id: number }).id });
  const after = bodies(api);
  for (const [i, d] of decoys.entries())
    assert.equal(after.get(d.id), before.get(d.id), `changed: ${DECOYS[i]!.why}`);
  assert.equal(after.size, DECOYS.length + 1, 'exactly one comment added');
});

test('the workflow token (no /user) finds its own comment behind 3 pages, not another bot', async (t) => {
  const api = await startGitHubApi(TOKENS);
  t.after(() => api.close());
  api.addComment(3, 'renovate[bot]', `${m}\nnot ours`);
  api.addComment(3, 'github-actions[bot]', `quoting ${m}`);
  for (let i = 0; i < 230; i++) api.addComment(3, 'someone', `chatter ${i}`);
  const ours = api.addComment(3, 'github-actions[bot]', `${m}\nold`);
  const before = bodies(api);
  const res = await upsertComment({ ...opts(api, 'ghs-workflow'), body: `${m}\nnew` });
  assert.deepEqual(res, { action: 'updated', id: ours.id });
  const after = bodies(api);
  for (const [id, body] of before) if (id !== ours.id) assert.equal(after.get(id), body);
  assert.ok(
    api.requests.some((r) => /[?&]page=3\b/.test(r.path)),
    'paged through all comments',
  );
});

test('when the token login cannot be learned (not a 403), nothing is guessed and nothing posted', async (t) => {
  const api = await startGitHubApi(TOKENS);
  t.after(() => api.close());
  api.addComment(3, 'ci-bot', `${m}\nold`);
  api.fail(500, 100);
  const res = await upsertComment({ ...opts(api, 'ghp-ci'), body: `${m}\nnew` });
  assert.equal(res.action, 'failed');
  assert.ok(!api.requests.some((r) => r.method !== 'GET'), 'no write without the login');
  assert.equal(api.comments.get(3)!.length, 1);
});

test('a body that does not open with its marker is not posted (it could never be found again)', async (t) => {
  const api = await startGitHubApi(TOKENS);
  t.after(() => api.close());
  for (const body of ['no marker', `\n${m}\nlate marker`, `${marker('other')}\nwrong image`]) {
    const res = await upsertComment({ ...opts(api, 'ghp-ci'), body });
    assert.equal(res.action, 'failed', body);
  }
  assert.equal(api.requests.length, 0);
});
