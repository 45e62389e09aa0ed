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
const clients = new Map<string, HttpClient>();
function clientFor(url: string): HttpClient {
  const scheme = new URL(url).protocol;
  let c = clients.get(scheme);
  if (!c) {
    c = new HttpClient('build-go-image', undefined, { allowRetries: false, socketTimeout: 30_000 });
    clients.set(scheme, c);
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
      const res = await clientFor(url).request(opts.method ?? 'GET', url, null, opts.headers ?? {});
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
