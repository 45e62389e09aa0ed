// A reverse proxy that stands between the action and one of the local stand-ins (release list,
// registry, cache service, GitHub API) and injects one kind of fault into chosen requests. The
// clients under test are the real ones; only the wire misbehaves.
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export type FaultKind =
  'timeout' | '5xx' | '429' | 'malformed' | 'truncated' | 'auth' | 'notfound' | 'reset' | 'slow';

export interface ArmedFault {
  kind: FaultKind;
  /** How many matching requests get the fault; Infinity for a persistent outage. */
  times: number;
  match: (method: string, path: string) => boolean;
  retryAfterSeconds?: number;
  /** For `slow`: delay before the request is forwarded. */
  delayMs?: number;
}

export interface FaultProxy {
  url: string;
  /** host:port, for image references (registries on 127.0.0.1 are plain HTTP to every client). */
  host: string;
  hits: { method: string; path: string; fault?: FaultKind }[];
  arm(kind: FaultKind, opts?: Partial<Omit<ArmedFault, 'kind'>>): void;
  clear(): void;
  faulted(): number;
  close(): Promise<void>;
}

/** A URL whose port nothing listens on: connections are refused. */
export async function refusedUrl(): Promise<string> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return `http://127.0.0.1:${port}`;
}

function answer(kind: FaultKind, res: ServerResponse, retryAfter: number): boolean {
  switch (kind) {
    case '5xx':
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end('{"message":"injected: service unavailable"}');
      return true;
    case '429':
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': String(retryAfter) });
      res.end('{"message":"injected: too many requests"}');
      return true;
    case 'auth':
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end('{"message":"injected: bad credentials","errors":[{"code":"UNAUTHORIZED"}]}');
      return true;
    case 'notfound':
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end('{"message":"injected: not found","errors":[{"code":"NAME_UNKNOWN"}]}');
      return true;
    case 'malformed':
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('<html><body>injected: a captive portal, not JSON</body></html>');
      return true;
    case 'truncated':
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '4096' });
      res.write('{"injected": "truncated body", "items": [');
      setTimeout(() => res.socket?.destroy(), 20);
      return true;
    case 'reset':
      res.socket?.destroy();
      return true;
    case 'timeout':
      // Accept and never answer: the client's own bound must end the wait.
      return true;
    default:
      return false;
  }
}

export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const target = new URL(upstream);
  const faults: ArmedFault[] = [];
  const hits: FaultProxy['hits'] = [];
  const sockets = new Set<Socket>();

  const forward = (req: IncomingMessage, res: ServerResponse) => {
    const up = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        // The Host header is kept: registries build upload URLs from it, so they point back here.
        headers: req.headers,
      },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
      },
    );
    up.on('error', () => res.socket?.destroy());
    req.pipe(up);
  };

  const server = createServer((req, res) => {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const fault = faults.find((f) => f.times > 0 && f.match(method, path));
    hits.push({ method, path, fault: fault?.kind });
    if (!fault) return forward(req, res);
    fault.times--;
    if (fault.kind === 'slow') {
      setTimeout(() => forward(req, res), fault.delayMs ?? 5000);
      return;
    }
    req.resume();
    answer(fault.kind, res, fault.retryAfterSeconds ?? 1);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    hits,
    arm(kind, opts = {}) {
      faults.push({
        kind,
        times: opts.times ?? Infinity,
        match: opts.match ?? (() => true),
        retryAfterSeconds: opts.retryAfterSeconds,
        delayMs: opts.delayMs,
      });
    },
    clear() {
      faults.length = 0;
      hits.length = 0;
    },
    faulted: () => hits.filter((h) => h.fault).length,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}
