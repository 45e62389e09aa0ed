// Serves Go release lists on 127.0.0.1 in the go.dev JSON shape and the module proxy's toolchain
// list shape, with fault modes for the failure tests.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export type ReleaseFault = 'none' | 'status500' | 'html' | 'truncated' | 'hostile';

export interface ReleaseServer {
  url: string;
  goDevUrl: string;
  proxyUrl: string;
  /** The releases served, read on every request: add one between runs to release a new patch. */
  versions: string[];
  hits: Map<string, number>;
  fault: { godev: ReleaseFault; proxy: ReleaseFault };
  close(): Promise<void>;
}

export function goDevJson(versions: string[]): string {
  return JSON.stringify(
    versions.map((v) => ({
      version: `go${v}`,
      stable: !/rc|beta/.test(v),
      files: ['linux-amd64', 'linux-arm64'].map((p) => {
        const [os, arch] = p.split('-');
        return {
          filename: `go${v}.${os}-${arch}.tar.gz`,
          os,
          arch,
          version: `go${v}`,
          sha256: '0'.repeat(64),
          size: 75000000,
          kind: 'archive',
        };
      }),
    })),
  );
}

export async function startReleaseServer(versions: string[]): Promise<ReleaseServer> {
  const hits = new Map<string, number>();
  const fault: ReleaseServer['fault'] = { godev: 'none', proxy: 'none' };
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    hits.set(url.pathname, (hits.get(url.pathname) ?? 0) + 1);
    const isGoDev = url.pathname === '/dl/';
    const f = isGoDev ? fault.godev : fault.proxy;
    if (f === 'status500') return res.writeHead(500).end('oops');
    if (f === 'html')
      return res
        .writeHead(200, { 'content-type': 'text/html' })
        .end('<html><body>Access denied by proxy</body></html>');
    const body = isGoDev
      ? goDevJson(versions)
      : versions
          .flatMap((v) => [`v0.0.1-go${v}.linux-amd64`, `v0.0.1-go${v}.linux-arm64`])
          .join('\n') + '\n';
    if (f === 'truncated')
      return res.writeHead(200).end(body.slice(0, Math.floor(body.length / 2)));
    if (f === 'hostile')
      return res
        .writeHead(200)
        .end(
          isGoDev
            ? JSON.stringify([
                { version: 'go1.24.9; rm -rf /' },
                { version: '../../etc' },
                { version: `go1.24.${'9'.repeat(50)}` },
              ])
            : 'v0.0.1-go1.24.9$(id).linux-amd64\n',
        );
    if (url.pathname === '/dl/' || url.pathname === '/golang.org/toolchain/@v/list')
      return res.writeHead(200).end(body);
    res.writeHead(404).end('not found');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    goDevUrl: `${url}/dl/?mode=json&include=all`,
    proxyUrl: url,
    versions,
    hits,
    fault,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
