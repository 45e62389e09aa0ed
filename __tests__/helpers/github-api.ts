// A local stand-in for the GitHub REST API calls the action makes: the token's user, issue
// comments (paginated list with Link headers, create, update), pull requests (listed with GitHub's
// `state` and `head=owner:branch` filters, paginated), with 401 for unknown tokens, 403 for
// read-only tokens on writes, and rate-limit headers on every answer.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface TokenInfo {
  login: string;
  id: number;
  type: 'User' | 'Bot';
  write: boolean;
  /** Installation tokens (the workflow's GITHUB_TOKEN) cannot read /user. */
  installation?: boolean;
}

export interface Comment {
  id: number;
  node_id: string;
  body: string;
  user: { login: string; id: number; type: string };
  created_at: string;
  updated_at: string;
  html_url: string;
}

export interface PullRequest {
  number: number;
  state: 'open' | 'closed';
  title: string;
  head: {
    label: string;
    ref: string;
    sha: string;
    user: { login: string };
    /** null when the head repository (a fork) was deleted. */
    repo: { full_name: string; owner: { login: string }; fork: boolean } | null;
  };
  base: { label: string; ref: string; sha: string; repo: { full_name: string } };
}

export interface GitHubApi {
  url: string;
  comments: Map<number, Comment[]>;
  /** Pull requests of the base repository octo/service (the owner/name in the URL is not checked). */
  pulls: PullRequest[];
  /** A pull request from `headRepository` (`owner/name`; a fork when not octo/service). */
  addPull(p: {
    number: number;
    headRepository: string;
    headRef: string;
    headSha: string;
    state?: 'open' | 'closed';
    baseRef?: string;
  }): PullRequest;
  requests: { method: string; path: string; status: number }[];
  /** Answer the next N requests with this status (rate limits, outages). */
  fail(status: number, times: number, retryAfter?: number): void;
  addComment(issue: number, login: string, body: string): Comment;
  close(): Promise<void>;
}

const readBody = (req: IncomingMessage) =>
  new Promise<string>((resolve) => {
    let s = '';
    req.on('data', (c: Buffer) => (s += c.toString('utf8')));
    req.on('end', () => resolve(s));
  });

export async function startGitHubApi(tokens: Record<string, TokenInfo>): Promise<GitHubApi> {
  const comments = new Map<number, Comment[]>();
  const pulls: PullRequest[] = [];
  const requests: GitHubApi['requests'] = [];
  let nextId = 1000;
  let base = '';
  let injected: { status: number; times: number; retryAfter?: number } | undefined;
  let remaining = 5000;
  const userOf = (login: string) =>
    Object.values(tokens).find((t) => t.login === login) ?? {
      login,
      id: 1,
      type: 'User' as const,
      write: true,
    };
  const make = (issue: number, login: string, body: string): Comment => {
    const u = userOf(login);
    const now = new Date().toISOString();
    const c: Comment = {
      id: nextId++,
      node_id: `IC_${nextId}`,
      body,
      user: { login: u.login, id: u.id, type: u.type },
      created_at: now,
      updated_at: now,
      html_url: `https://github.com/o/r/pull/${issue}#issuecomment-${nextId}`,
    };
    comments.set(issue, [...(comments.get(issue) ?? []), c]);
    return c;
  };

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', base);
    const method = req.method ?? 'GET';
    remaining = Math.max(0, remaining - 1);
    const headers: Record<string, string> = {
      'content-type': 'application/json; charset=utf-8',
      'x-ratelimit-limit': '5000',
      'x-ratelimit-remaining': String(remaining),
      'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 3600),
      'x-ratelimit-used': String(5000 - remaining),
      'x-ratelimit-resource': 'core',
    };
    const send = (status: number, body: unknown, extra: Record<string, string> = {}) => {
      requests.push({ method, path: url.pathname + url.search, status });
      res.writeHead(status, { ...headers, ...extra });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    if (injected && injected.times > 0) {
      injected.times--;
      const extra: Record<string, string> = injected.retryAfter
        ? { 'retry-after': String(injected.retryAfter) }
        : {};
      if (injected.status === 403 || injected.status === 429) extra['x-ratelimit-remaining'] = '0';
      return send(
        injected.status,
        {
          message:
            injected.status === 429 || injected.status === 403
              ? 'API rate limit exceeded'
              : 'Server Error',
        },
        extra,
      );
    }
    const auth = /^(?:token|Bearer) (.+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const who = auth ? tokens[auth] : undefined;
    if (!who)
      return send(401, {
        message: 'Bad credentials',
        documentation_url: 'https://docs.github.com/rest',
      });
    const body = await readBody(req);
    if (url.pathname === '/user' && method === 'GET') {
      if (who.installation) return send(403, { message: 'Resource not accessible by integration' });
      return send(200, { login: who.login, id: who.id, type: who.type });
    }
    let m = /^\/repos\/[^/]+\/[^/]+\/issues\/(\d+)\/comments$/.exec(url.pathname);
    if (m) {
      const issue = Number(m[1]);
      if (method === 'GET') {
        const all = comments.get(issue) ?? [];
        const per = Math.min(100, Number(url.searchParams.get('per_page') ?? 30));
        const page = Math.max(1, Number(url.searchParams.get('page') ?? 1));
        const last = Math.max(1, Math.ceil(all.length / per));
        const links: string[] = [];
        const link = (p: number, rel: string) =>
          `<${base}${url.pathname}?per_page=${per}&page=${p}>; rel="${rel}"`;
        if (page < last) links.push(link(page + 1, 'next'), link(last, 'last'));
        if (page > 1) links.push(link(page - 1, 'prev'), link(1, 'first'));
        return send(
          200,
          all.slice((page - 1) * per, page * per),
          links.length ? { link: links.join(', ') } : {},
        );
      }
      if (method === 'POST') {
        if (!who.write) return send(403, { message: 'Resource not accessible by integration' });
        const { body: text } = JSON.parse(body) as { body?: string };
        if (typeof text !== 'string') return send(422, { message: 'body is required' });
        if (text.length > 65536)
          return send(422, { message: 'body is too long (maximum is 65536 characters)' });
        return send(201, make(issue, who.login, text));
      }
    }
    m = /^\/repos\/[^/]+\/[^/]+\/issues\/comments\/(\d+)$/.exec(url.pathname);
    if (m) {
      const id = Number(m[1]);
      const c = [...comments.values()].flat().find((x) => x.id === id);
      if (!c) return send(404, { message: 'Not Found' });
      if (method === 'GET') return send(200, c);
      if (method === 'PATCH') {
        if (!who.write) return send(403, { message: 'Resource not accessible by integration' });
        if (c.user.login !== who.login && who.type !== 'User')
          return send(403, { message: 'Resource not accessible by integration' });
        const { body: text } = JSON.parse(body) as { body?: string };
        if (typeof text !== 'string' || text.length > 65536)
          return send(422, { message: 'invalid body' });
        c.body = text;
        c.updated_at = new Date().toISOString();
        return send(200, c);
      }
    }
    m = /^\/repos\/([^/]+)\/[^/]+\/pulls$/.exec(url.pathname);
    if (m && method === 'GET') {
      // GitHub's filters: state (open by default, closed, all) and head=user:ref-name, where user
      // is the head repository's owner; a head without `user:` means the base repository's owner.
      const state = url.searchParams.get('state') ?? 'open';
      const head = url.searchParams.get('head');
      const [headUser, headRef] = head?.includes(':')
        ? [head.slice(0, head.indexOf(':')), head.slice(head.indexOf(':') + 1)]
        : [m[1]!, head];
      const all = pulls.filter(
        (p) =>
          (state === 'all' || p.state === state) &&
          (head === null ||
            (p.head.user.login.toLowerCase() === headUser.toLowerCase() && p.head.ref === headRef)),
      );
      const per = Math.min(100, Number(url.searchParams.get('per_page') ?? 30));
      const page = Math.max(1, Number(url.searchParams.get('page') ?? 1));
      const last = Math.max(1, Math.ceil(all.length / per));
      const query = (p: number) => {
        const q = new URLSearchParams(url.searchParams);
        q.set('per_page', String(per));
        q.set('page', String(p));
        return q.toString();
      };
      const links: string[] = [];
      const link = (p: number, rel: string) => `<${base}${url.pathname}?${query(p)}>; rel="${rel}"`;
      if (page < last) links.push(link(page + 1, 'next'), link(last, 'last'));
      if (page > 1) links.push(link(page - 1, 'prev'), link(1, 'first'));
      return send(
        200,
        all.slice((page - 1) * per, page * per),
        links.length ? { link: links.join(', ') } : {},
      );
    }
    m = /^\/repos\/[^/]+\/[^/]+\/pulls\/(\d+)$/.exec(url.pathname);
    if (m && method === 'GET') {
      const pr = pulls.find((p) => p.number === Number(m![1]));
      if (pr) return send(200, pr);
      return send(200, { number: Number(m[1]), base: { ref: 'main' }, head: { ref: 'feature' } });
    }
    send(404, { message: 'Not Found' });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    comments,
    pulls,
    addPull: (p) => {
      const owner = p.headRepository.split('/')[0]!;
      const pr: PullRequest = {
        number: p.number,
        state: p.state ?? 'open',
        title: `PR ${p.number}`,
        head: {
          label: `${owner}:${p.headRef}`,
          ref: p.headRef,
          sha: p.headSha,
          user: { login: owner },
          repo: {
            full_name: p.headRepository,
            owner: { login: owner },
            fork: p.headRepository !== 'octo/service',
          },
        },
        base: {
          label: `octo:${p.baseRef ?? 'main'}`,
          ref: p.baseRef ?? 'main',
          sha: '0'.repeat(40),
          repo: { full_name: 'octo/service' },
        },
      };
      pulls.push(pr);
      return pr;
    },
    requests,
    fail: (status, times, retryAfter) => {
      injected = { status, times, retryAfter };
    },
    addComment: make,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
