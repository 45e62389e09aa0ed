// A private Go module proxy (the GOPROXY protocol) over HTTPS with its own certificate, that answers
// only requests carrying the expected credentials, the way a corporate Athens or Artifactory does.
// It serves one module and records which requests were authorised.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { crc32 } from 'node:zlib';
import { selfSignedCertificate } from './certificate.ts';

export interface GoModule {
  path: string;
  version: string;
  files: Record<string, string>;
}

export interface ModuleServer {
  url: string;
  /** The server's certificate (self-signed: it is its own CA). */
  certFile: string;
  /** go.sum lines for the served module. */
  goSum: string;
  requests: { path: string; authorised: boolean }[];
  close(): Promise<void>;
}

/** A zip with stored (uncompressed) entries: all the Go module zip format needs. */
export function storedZip(entries: [string, Buffer][]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const n = Buffer.from(name, 'utf8');
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // names are UTF-8
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(n.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(data.length, 24);
    central.writeUInt16LE(n.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, n, data);
    centrals.push(central, n);
    offset += local.length + n.length + data.length;
  }
  const dir = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(dir.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, dir, end]);
}

/** golang.org/x/mod/sumdb/dirhash Hash1: sha256 over "sha256hex  name\n" lines, sorted by name. */
export function hash1(files: [string, Buffer][]): string {
  const summary = [...files]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, data]) => `${createHash('sha256').update(data).digest('hex')}  ${name}\n`)
    .join('');
  return `h1:${createHash('sha256').update(summary).digest('base64')}`;
}

export async function startModuleServer(opts: {
  host: string;
  module: GoModule;
  login: string;
  password: string;
}): Promise<ModuleServer> {
  const { keyFile: key, certFile } = selfSignedCertificate(opts.host);
  const { module: mod } = opts;
  const prefix = `${mod.path}@${mod.version}/`;
  const files: [string, Buffer][] = Object.entries(mod.files).map(([n, c]) => [
    prefix + n,
    Buffer.from(c),
  ]);
  const zip = storedZip(files);
  const goMod = Buffer.from(mod.files['go.mod'] ?? `module ${mod.path}\n`);
  const goSum =
    `${mod.path} ${mod.version} ${hash1(files)}\n` +
    `${mod.path} ${mod.version}/go.mod ${hash1([['go.mod', goMod]])}\n`;
  const expected = `Basic ${Buffer.from(`${opts.login}:${opts.password}`).toString('base64')}`;
  const requests: ModuleServer['requests'] = [];
  const base = `/${mod.path}/@v/`;
  const server = createServer(
    { key: readFileSync(key), cert: readFileSync(certFile) },
    (req, res) => {
      const url = req.url ?? '/';
      const authorised = req.headers.authorization === expected;
      requests.push({ path: url, authorised });
      if (!authorised) {
        res.writeHead(401, { 'www-authenticate': 'Basic realm="modules"' }).end('unauthorised\n');
        return;
      }
      const answers: Record<string, [string, Buffer | string]> = {
        [`${base}list`]: ['text/plain', `${mod.version}\n`],
        [`${base}${mod.version}.info`]: [
          'application/json',
          JSON.stringify({ Version: mod.version, Time: '2026-01-01T00:00:00Z' }),
        ],
        [`${base}${mod.version}.mod`]: ['text/plain', goMod],
        [`${base}${mod.version}.zip`]: ['application/zip', zip],
      };
      const a = answers[url];
      if (!a) {
        res.writeHead(404).end('not found\n');
        return;
      }
      res.writeHead(200, { 'content-type': a[0] }).end(a[1]);
    },
  );
  await new Promise<void>((r) => server.listen(0, opts.host, r));
  return {
    url: `https://${opts.host}:${(server.address() as AddressInfo).port}`,
    certFile,
    goSum,
    requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
