// A local stand-in for the GitHub Actions cache service: v2 (Twirp JSON + Azure-blob-style upload
// and plain download) and v1 (_apis/artifactcache), so the unmodified @actions/cache client runs
// against it, and so does BuildKit's `gha` cache backend (tonistiigi/go-actions-cache inside
// buildkitd: the Azure Go SDK's Put Block / Put Block List and ranged downloads). Entries are
// immutable; a duplicate reservation answers 409 as the real service does.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createHmac, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';

export interface CacheEntry {
  id: number;
  key: string;
  version: string;
  committed: boolean;
  createdAt: number;
  data: Buffer;
  blocks: Map<string, Buffer>;
  v1Parts: Map<number, Buffer>;
}

export interface Fault {
  match: (method: string, url: string) => boolean;
  status: number;
  times: number;
  retryAfter?: number;
}

export interface CacheServer {
  url: string;
  token: string;
  entries: CacheEntry[];
  requests: { method: string; url: string; status: number }[];
  faults: Fault[];
  env(version?: 'v1' | 'v2'): Record<string, string>;
  close(): Promise<void>;
}

const TWIRP = '/twirp/github.actions.results.api.v1.CacheService/';

/**
 * A runtime token shaped as the runner's: a JWT whose `ac` claim lists the cache scopes and their
 * permissions (1 read, 2 write) and which carries `nbf` and `exp`. @actions/cache only sends it;
 * BuildKit's client parses it (unverified) and refuses a token without these claims.
 */
function runtimeToken(ref: string): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  const head = `${b64({ typ: 'JWT', alg: 'HS256' })}.${b64({
    ac: JSON.stringify([{ Scope: ref, Permission: 3 }]),
    nbf: now - 60,
    iat: now - 60,
    exp: now + 6 * 3600,
    jti: randomBytes(8).toString('hex'),
  })}`;
  return `${head}.${createHmac('sha256', randomBytes(16)).update(head).digest('base64url')}`;
}

/** `bytes=a-` or `bytes=a-b` (Range, or Azure's x-ms-range) against a blob of `size` bytes. */
function byteRange(header: string | undefined, size: number): [number, number] | undefined {
  const m = /^bytes=(\d+)-(\d*)$/.exec(header ?? '');
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
  return [start, end];
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** A stored archive, whole or from an offset (206), as the blob store and v1 downloads answer. */
function sendBlob(
  req: IncomingMessage,
  res: ServerResponse,
  data: Buffer,
  log: (status: number) => void,
): void {
  const headers = { 'content-type': 'application/octet-stream' };
  // BuildKit reads a layer from an offset when it resumes (Azure SDK: x-ms-range; v1: Range).
  const range = byteRange(
    String(req.headers['x-ms-range'] ?? req.headers['range'] ?? ''),
    data.length,
  );
  if (range && req.method === 'GET') {
    const [start, end] = range;
    if (start >= data.length) return (log(416), void res.writeHead(416).end());
    log(206);
    res.writeHead(206, {
      ...headers,
      'content-length': end - start + 1,
      'content-range': `bytes ${start}-${end}/${data.length}`,
    });
    return void res.end(data.subarray(start, end + 1));
  }
  log(200);
  res.writeHead(200, { ...headers, 'content-length': data.length });
  res.end(req.method === 'GET' ? data : undefined);
}

export interface CacheServerOptions {
  /**
   * The address to listen on (default 127.0.0.1). A builder on a network of its own reaches the
   * host through its bridge gateway; the docker driver and `network=host` builders use loopback.
   */
  host?: string;
}

export async function startCacheServer(opts: CacheServerOptions = {}): Promise<CacheServer> {
  const token = runtimeToken('refs/heads/main');
  const sig = randomBytes(8).toString('hex');
  const entries: CacheEntry[] = [];
  const requests: CacheServer['requests'] = [];
  const faults: Fault[] = [];
  let nextId = 1;
  let base = '';

  const lookup = (keys: string[], version: string): CacheEntry | undefined => {
    const ready = entries
      .filter((e) => e.committed && e.version === version)
      .sort((a, b) => b.createdAt - a.createdAt || b.id - a.id);
    for (const k of keys) {
      const exact = ready.find((e) => e.key === k);
      if (exact) return exact;
      const prefix = ready.find((e) => e.key.startsWith(k));
      if (prefix) return prefix;
    }
    return undefined;
  };
  const reserve = (key: string, version: string): CacheEntry | undefined => {
    if (entries.some((e) => e.key === key && e.version === version)) return undefined;
    const e: CacheEntry = {
      id: nextId++,
      key,
      version,
      committed: false,
      createdAt: Date.now(),
      data: Buffer.alloc(0),
      blocks: new Map(),
      v1Parts: new Map(),
    };
    entries.push(e);
    return e;
  };
  const json = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
    });
    res.end(text);
  };
  const authorized = (req: IncomingMessage) => req.headers.authorization === `Bearer ${token}`;

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', base);
    const method = req.method ?? 'GET';
    const fault = faults.find((f) => f.times > 0 && f.match(method, url.pathname));
    const log = (status: number) =>
      requests.push({ method, url: url.pathname + url.search, status });
    if (fault) {
      fault.times--;
      log(fault.status);
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (fault.retryAfter) headers['retry-after'] = String(fault.retryAfter);
      res.writeHead(fault.status, headers);
      res.end(JSON.stringify({ code: 'injected', msg: `injected fault ${fault.status}` }));
      return;
    }
    try {
      const body = await readBody(req);
      // --- v2 Twirp ---
      if (url.pathname.startsWith(TWIRP) && method === 'POST') {
        if (!authorized(req))
          return (log(401), json(res, 401, { code: 'unauthenticated', msg: 'bad token' }));
        const rpc = url.pathname.slice(TWIRP.length);
        const q = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
        if (rpc === 'CreateCacheEntry') {
          const e = reserve(String(q['key']), String(q['version']));
          if (!e)
            return (
              log(409),
              json(res, 409, { code: 'already_exists', msg: 'cache entry already exists' })
            );
          log(200);
          return json(res, 200, {
            ok: true,
            signed_upload_url: `${base}/devstoreaccount1/actions-cache/${e.id}?sig=${sig}`,
          });
        }
        if (rpc === 'FinalizeCacheEntryUpload') {
          const e = entries.find(
            (x) => x.key === q['key'] && x.version === q['version'] && !x.committed,
          );
          if (!e) return (log(404), json(res, 404, { code: 'not_found', msg: 'no such upload' }));
          if (String(e.data.length) !== String(q['size_bytes']))
            return (log(400), json(res, 400, { code: 'invalid_argument', msg: 'size mismatch' }));
          e.committed = true;
          log(200);
          return json(res, 200, { ok: true, entry_id: String(e.id) });
        }
        if (rpc === 'GetCacheEntryDownloadURL') {
          const keys = [String(q['key']), ...((q['restore_keys'] as string[] | undefined) ?? [])];
          const e = lookup(keys, String(q['version']));
          log(200);
          if (!e) return json(res, 200, { ok: false });
          return json(res, 200, {
            ok: true,
            signed_download_url: `${base}/devstoreaccount1/actions-cache/${e.id}?sig=${sig}`,
            matched_key: e.key,
          });
        }
        log(404);
        return json(res, 404, { code: 'bad_route', msg: rpc });
      }
      // --- blob (v2) ---
      const blob = /^\/devstoreaccount1\/actions-cache\/(\d+)$/.exec(url.pathname);
      if (blob) {
        if (url.searchParams.get('sig') !== sig)
          return (log(403), json(res, 403, { msg: 'bad signature' }));
        const e = entries.find((x) => x.id === Number(blob[1]));
        if (!e) return (log(404), json(res, 404, { msg: 'no blob' }));
        if (method === 'PUT') {
          const comp = url.searchParams.get('comp');
          if (comp === 'block') e.blocks.set(url.searchParams.get('blockid') ?? '', body);
          else if (comp === 'blocklist') {
            const ids = [...body.toString('utf8').matchAll(/<Latest>([^<]+)<\/Latest>/g)].map(
              (m) => m[1]!,
            );
            e.data = Buffer.concat(ids.map((id) => e.blocks.get(id) ?? Buffer.alloc(0)));
            e.blocks.clear();
          } else e.data = body;
          log(201);
          res.writeHead(201, { etag: `"${e.id}"`, 'x-ms-request-id': String(e.id) });
          return res.end();
        }
        if (method === 'GET' || method === 'HEAD') return sendBlob(req, res, e.data, log);
      }
      // --- v1 ---
      const v1 = /^\/_apis\/artifactcache\/(.*)$/.exec(url.pathname);
      if (v1) {
        const rest = v1[1]!;
        // Archive downloads go to a pre-signed URL without the bearer token, as on the real service.
        const signedDownload = rest.startsWith('artifacts/') && url.searchParams.get('sig') === sig;
        if (!signedDownload && !authorized(req))
          return (log(401), json(res, 401, { message: 'bad token' }));
        if (rest === 'cache' && method === 'GET') {
          const keys = (url.searchParams.get('keys') ?? '').split(',').filter(Boolean);
          const e = lookup(keys, url.searchParams.get('version') ?? '');
          if (!e) return (log(204), res.writeHead(204).end());
          log(200);
          return json(res, 200, {
            result: 'hit',
            archiveLocation: `${base}/_apis/artifactcache/artifacts/${e.id}?sig=${sig}`,
            cacheKey: e.key,
            scope: 'refs/heads/main',
          });
        }
        if (rest === 'caches' && method === 'POST') {
          const q = JSON.parse(body.toString('utf8')) as { key: string; version: string };
          const e = reserve(q.key, q.version);
          if (!e)
            return (log(409), json(res, 409, { message: `Cache already exists. Key: ${q.key}` }));
          log(201);
          return json(res, 201, { cacheId: e.id });
        }
        const part = /^caches\/(\d+)$/.exec(rest);
        if (part) {
          const e = entries.find((x) => x.id === Number(part[1]));
          if (!e) return (log(404), json(res, 404, { message: 'no such cache' }));
          if (method === 'PATCH') {
            const start = Number(
              /bytes (\d+)-/.exec(String(req.headers['content-range']))?.[1] ?? 0,
            );
            e.v1Parts.set(start, body);
            log(204);
            return res.writeHead(204).end();
          }
          if (method === 'POST') {
            e.data = Buffer.concat(
              [...e.v1Parts.entries()].sort((a, b) => a[0] - b[0]).map((p) => p[1]),
            );
            const q = JSON.parse(body.toString('utf8')) as { size: number };
            if (q.size !== e.data.length)
              return (log(400), json(res, 400, { message: 'size mismatch' }));
            e.committed = true;
            log(204);
            return res.writeHead(204).end();
          }
        }
        const art = /^artifacts\/(\d+)$/.exec(rest);
        if (art) {
          const e = entries.find((x) => x.id === Number(art[1]));
          if (!e) return (log(404), json(res, 404, { message: 'no artifact' }));
          return sendBlob(req, res, e.data, log);
        }
      }
      log(404);
      json(res, 404, { msg: `no route ${method} ${url.pathname}` });
    } catch (e) {
      log(500);
      json(res, 500, { code: 'internal', msg: String(e) });
    }
  });
  const listenHost = opts.host ?? '127.0.0.1';
  await new Promise<void>((r) => server.listen(0, listenHost, r));
  base = `http://${listenHost}:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    token,
    entries,
    requests,
    faults,
    env(version = 'v2') {
      const common = {
        ACTIONS_RUNTIME_TOKEN: token,
        GITHUB_SERVER_URL: 'https://github.com',
        NO_PROXY: [...new Set(['127.0.0.1', 'localhost', listenHost])].join(','),
      };
      return version === 'v2'
        ? {
            ...common,
            ACTIONS_CACHE_SERVICE_V2: 'true',
            ACTIONS_RESULTS_URL: `${base}/`,
            ACTIONS_CACHE_URL: `${base}/`,
          }
        : { ...common, ACTIONS_CACHE_SERVICE_V2: '', ACTIONS_CACHE_URL: `${base}/` };
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
