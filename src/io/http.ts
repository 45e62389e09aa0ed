// HTTP for everything the action fetches (Go release lists, registries). @actions/http-client
// honours HTTP(S)_PROXY and NO_PROXY, which Node's own fetch ignores. Transient failures
// (connection errors, 5xx, 429) are retried with backoff within a bound; 4xx are answered at once.
import { HttpClient } from '@actions/http-client';
import type { OutgoingHttpHeaders } from 'node:http';
import { getErrorMessage } from '../errors.ts';

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
  /** Stream the body here instead of buffering it (no size bound; the answer's body is empty). */
  sink?: (chunk: Buffer) => void;
}

export class HttpError extends Error {
  readonly status?: number;
  constructor(message: string, status?: number) {
    super(message);
    this.name = 'HttpError';
    this.status = status;
  }
}

// One client per scheme: an HttpClient keeps the first agent it made, so an https request followed
// by a plain-http one (a local registry) would reuse the TLS agent and fail.
// The socket timeout is per client too, so clients are kept per scheme and timeout.
const clients = new Map<string, HttpClient>();
export const DEFAULT_TIMEOUT_MS = 30_000;
function clientFor(url: string, timeoutMs: number): HttpClient {
  const id = `${new URL(url).protocol}|${timeoutMs}`;
  let c = clients.get(id);
  if (!c) {
    c = new HttpClient('build-go-image', undefined, {
      allowRetries: false,
      socketTimeout: timeoutMs,
    });
    clients.set(id, c);
  }
  return c;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function request(url: string, opts: RequestOptions = {}): Promise<HttpResponse> {
  const attempts = opts.attempts ?? 3;
  const maxBytes = opts.maxBytes ?? 32 * 1024 * 1024;
  let delay = opts.backoffMs ?? 500;
  let last = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const res = await clientFor(url, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS).request(
        opts.method ?? 'GET',
        url,
        null,
        opts.headers ?? {},
      );
      const status = res.message.statusCode ?? 0;
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
          throw new HttpError(`${url}: answer larger than ${maxBytes} bytes`, status);
        }
        chunks.push(chunk);
      }
      const out = { status, headers: res.message.headers, body: Buffer.concat(chunks) };
      if (status === 429 || status >= 500) {
        last = `HTTP ${status}`;
        const retryAfter = Number(res.message.headers['retry-after']);
        if (attempt < attempts) {
          await sleep(
            Number.isFinite(retryAfter) && retryAfter > 0
              ? Math.min(retryAfter * 1000, 10_000)
              : delay,
          );
          delay *= 2;
          continue;
        }
      }
      return out;
    } catch (e) {
      if (e instanceof HttpError) throw e;
      last = getErrorMessage(e);
      if (attempt < attempts) {
        await sleep(delay);
        delay *= 2;
      }
    }
  }
  throw new HttpError(`${url}: ${last} after ${attempts} attempts`);
}
