// HTTP for everything the action fetches (Go release lists, registries). @actions/http-client
// honours HTTP(S)_PROXY and NO_PROXY, which Node's own fetch ignores; its agent is used, but the
// request, redirects and deadline are this module's: http-client's own redirect handling fails on a
// relative Location, follows any scheme and keeps Authorization across ports and schemes.
// Transient failures (connection errors, 5xx, 429) are retried with backoff within a bound; 4xx are
// answered at once. No URL is printed with its credentials.
import { HttpClient } from '@actions/http-client';
import http, { type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import https from 'node:https';
import { getErrorMessage } from '../errors.ts';
import { basicAuthorization, redactUrl, type UrlCredentials } from './url.ts';

export interface HttpResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface RequestOptions {
  method?: 'GET' | 'HEAD';
  headers?: OutgoingHttpHeaders;
  /** Largest body accepted; a longer one is an error (bounded reads of untrusted answers). */
  maxBytes?: number;
  attempts?: number;
  /** Base delay between attempts in ms (doubles each time). */
  backoffMs?: number;
  /** Idle time on the socket before the attempt counts as failed (a silent server). */
  timeoutMs?: number;
  /**
   * Time for the whole call: every attempt, redirect, backoff and body together. A server that
   * trickles its answer never goes idle, so only this bounds it.
   */
  deadlineMs?: number;
  /**
   * Sent as Basic authorization to the URL's own origin, never after a redirect to another one.
   * Credentials inside the URL (https://user:pass@host/) are taken out of it and used the same way.
   */
  credentials?: UrlCredentials;
  /** Redirects followed per attempt (default 5). */
  maxRedirects?: number;
  /** Stream the body here instead of buffering it (no size bound; the answer's body is empty). */
  sink?: (chunk: Buffer) => void;
}

export class HttpError extends Error {
  readonly status?: number;
  constructor(message: string, status?: number) {
    super(redactUrl(message));
    this.name = 'HttpError';
    this.status = status;
  }
}

// One client per scheme: an HttpClient keeps the first agent it made, so an https request followed
// by a plain-http one (a local registry) would reuse the TLS agent and fail.
// The socket timeout is per client too, so clients are kept per scheme and timeout.
const clients = new Map<string, HttpClient>();
export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_REDIRECTS = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

function clientFor(url: URL, timeoutMs: number): HttpClient {
  const id = `${url.protocol}|${timeoutMs}`;
  let c = clients.get(id);
  if (!c) {
    c = new HttpClient('build-go-image', undefined, {
      allowRetries: false,
      allowRedirects: false,
      socketTimeout: timeoutMs,
    });
    clients.set(id, c);
  }
  return c;
}

/** The URL to request and the credentials to send: userinfo never travels inside the URL. */
function splitTarget(
  url: string,
  given?: UrlCredentials,
): { target: URL; credentials?: UrlCredentials } {
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new HttpError(`${url}: not a valid URL`);
  }
  if (target.protocol !== 'https:' && target.protocol !== 'http:')
    throw new HttpError(`${url}: only http and https URLs are fetched`);
  let credentials = given;
  if (target.username || target.password) {
    const dec = (s: string) => {
      try {
        return decodeURIComponent(s);
      } catch {
        return s;
      }
    };
    credentials ??= { username: dec(target.username), password: dec(target.password) };
    target.username = '';
    target.password = '';
  }
  return { target, credentials };
}

class DeadlineError extends Error {}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new DeadlineError());
    const t = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new DeadlineError());
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

interface RawAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  message: http.IncomingMessage;
}

/** One request through http-client's (proxy-aware) agent, aborted with the signal. */
async function send(
  url: URL,
  method: string,
  headers: OutgoingHttpHeaders,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<RawAnswer> {
  const client = clientFor(url, timeoutMs);
  const https_ = url.protocol === 'https:';
  const res = await client.requestRaw(
    {
      parsedUrl: url,
      httpModule: https_ ? https : http,
      options: {
        host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: url.port ? Number(url.port) : https_ ? 443 : 80,
        path: url.pathname + url.search,
        method,
        headers: { 'user-agent': client.userAgent ?? 'build-go-image', ...headers },
        agent: client.getAgent(url.href),
        signal,
      },
    },
    null,
  );
  // An abort after the headers must end the body too.
  const onAbort = () => res.message.destroy(new DeadlineError());
  signal.addEventListener('abort', onAbort, { once: true });
  res.message.once('close', () => signal.removeEventListener('abort', onAbort));
  return {
    status: res.message.statusCode ?? 0,
    headers: res.message.headers,
    message: res.message,
  };
}

function withoutAuthorization(headers: OutgoingHttpHeaders): OutgoingHttpHeaders {
  return Object.fromEntries(
    Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'),
  );
}

/**
 * Follows redirects: a relative Location is resolved against the URL that answered, only http(s)
 * targets are followed, never from https down to http, at most `max` of them; Authorization (the
 * caller's or the URL's credentials) goes to the first origin only.
 */
async function sendFollowing(
  start: URL,
  opts: RequestOptions,
  credentials: UrlCredentials | undefined,
  signal: AbortSignal,
): Promise<RawAnswer> {
  const max = opts.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const base = opts.headers ?? {};
  const hasAuth = Object.keys(base).some((k) => k.toLowerCase() === 'authorization');
  let current = start;
  for (let hop = 0; ; hop++) {
    let headers: OutgoingHttpHeaders;
    if (current.origin === start.origin)
      headers =
        credentials && !hasAuth
          ? { ...base, authorization: basicAuthorization(credentials) }
          : base;
    else headers = withoutAuthorization(base);
    const res = await send(
      current,
      opts.method ?? 'GET',
      headers,
      opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      signal,
    );
    const location = res.headers.location;
    if (!REDIRECTS.has(res.status) || !location) return res;
    res.message.resume();
    if (hop >= max)
      throw new HttpError(`${start.href}: more than ${max} redirects (last to ${current.href})`);
    let next: URL;
    try {
      next = new URL(location, current);
    } catch {
      throw new HttpError(`${current.href}: redirect to an invalid Location`, res.status);
    }
    if (next.protocol !== 'https:' && next.protocol !== 'http:')
      throw new HttpError(
        `${current.href}: redirect to a ${next.protocol} URL, which is not followed`,
        res.status,
      );
    if (current.protocol === 'https:' && next.protocol === 'http:')
      throw new HttpError(`${current.href}: redirect from https down to http is not followed`);
    // Credentials are sent as a header to the first origin only, never inside a redirect's URL.
    next.username = '';
    next.password = '';
    current = next;
  }
}

export async function request(url: string, opts: RequestOptions = {}): Promise<HttpResponse> {
  const { target, credentials } = splitTarget(url, opts.credentials);
  const shown = target.href;
  const attempts = opts.attempts ?? 3;
  const maxBytes = opts.maxBytes ?? 32 * 1024 * 1024;
  const deadline = new AbortController();
  const timer =
    opts.deadlineMs !== undefined ? setTimeout(() => deadline.abort(), opts.deadlineMs) : undefined;
  const overDeadline = () =>
    new HttpError(
      `${shown}: no complete answer within ${formatSeconds(opts.deadlineMs ?? 0)} (the deadline for this request, all attempts together)`,
    );
  let delay = opts.backoffMs ?? 500;
  let last = '';
  try {
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const res = await sendFollowing(target, opts, credentials, deadline.signal);
        const status = res.status;
        const chunks: Buffer[] = [];
        let size = 0;
        for await (const chunk of res.message as AsyncIterable<Buffer>) {
          if (opts.sink && status === 200) {
            opts.sink(chunk);
            continue;
          }
          size += chunk.length;
          if (size > maxBytes) {
            res.message.destroy();
            throw new HttpError(`${shown}: answer larger than ${maxBytes} bytes`, status);
          }
          chunks.push(chunk);
        }
        const out = { status, headers: res.headers, body: Buffer.concat(chunks) };
        if (status === 429 || status >= 500) {
          last = `HTTP ${status}`;
          const retryAfter = Number(res.headers['retry-after']);
          if (attempt < attempts) {
            await sleep(
              Number.isFinite(retryAfter) && retryAfter > 0
                ? Math.min(retryAfter * 1000, 10_000)
                : delay,
              deadline.signal,
            );
            delay *= 2;
            continue;
          }
        }
        return out;
      } catch (e) {
        if (deadline.signal.aborted) throw overDeadline();
        if (e instanceof HttpError) throw e;
        last = getErrorMessage(e);
        if (attempt < attempts) {
          await sleep(delay, deadline.signal);
          delay *= 2;
        }
      }
    }
  } catch (e) {
    if (e instanceof DeadlineError || deadline.signal.aborted) throw overDeadline();
    throw e;
  } finally {
    clearTimeout(timer);
  }
  throw new HttpError(`${shown}: ${last} after ${attempts} attempts`);
}

function formatSeconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}
