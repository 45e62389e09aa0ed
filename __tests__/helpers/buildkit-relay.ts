// An engine's own BuildKit as a `remote` builder node over TCP: every Docker engine runs BuildKit
// inside and serves its gRPC API on POST /grpc (upgraded to h2c), which is how buildx's own docker
// driver talks to it. This relay listens on a port and hands each connection, after that upgrade,
// to an engine's socket: buildx's remote driver then speaks the BuildKit protocol to the real
// BuildKit of that engine, as to a buildkitd started with --addr tcp://.
import net from 'node:net';

export interface BuildKitRelay {
  /** The endpoint for `docker buildx create --driver remote`: tcp://127.0.0.1:<port>. */
  endpoint: string;
  /** Connections the engine accepted (after the upgrade). */
  connections: () => number;
  close: () => Promise<void>;
}

const UPGRADE =
  'POST /grpc HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nContent-Length: 0\r\n\r\n';

export async function startBuildKitRelay(engineSocket: string): Promise<BuildKitRelay> {
  let connections = 0;
  const open = new Set<net.Socket>();
  const relay = (client: net.Socket) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    client.pause();
    const engine = net.connect(engineSocket, () => engine.write(UPGRADE));
    open.add(engine);
    engine.on('close', () => open.delete(engine));
    let head = Buffer.alloc(0);
    const onHead = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      engine.off('data', onHead);
      if (!head.subarray(0, 13).toString().startsWith('HTTP/1.1 101')) {
        client.destroy();
        engine.destroy();
        return;
      }
      connections++;
      const early = head.subarray(end + 4);
      if (early.length > 0) client.write(early);
      client.pipe(engine);
      engine.pipe(client);
      client.resume();
    };
    engine.on('data', onHead);
    engine.on('error', () => client.destroy());
    client.on('error', () => engine.destroy());
  };
  const server = net.createServer(relay);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    endpoint: `tcp://127.0.0.1:${port}`,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
