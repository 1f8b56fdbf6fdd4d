/**
 * A TCP proxy on loopback for tests: it stands for a name or a network path
 * between two parts (a Kubernetes Service, a NAT), whose target can be set
 * after it listens and whose open connections can be made to go silent.
 */

import net from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** Where new connections go (127.0.0.1:port). */
  setTarget(port: number): void;
  /** Connections accepted so far. */
  connections(): number;
  /** Open connections stop passing bytes on, yet stay open, as after a lost NAT entry. */
  freeze(): void;
  close(): void;
}

export async function startTcpProxy(targetPort = 0): Promise<TcpProxy> {
  let target = targetPort;
  let accepted = 0;
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    accepted++;
    const upstream = net.connect(target, '127.0.0.1');
    for (const s of [client, upstream]) {
      open.add(s);
      s.on('error', () => undefined);
      s.on('close', () => open.delete(s));
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const frozen: net.Socket[] = [];
  return {
    port: (server.address() as net.AddressInfo).port,
    setTarget(port) {
      target = port;
    },
    connections: () => accepted,
    freeze() {
      for (const s of open) {
        s.unpipe();
        s.pause();
        frozen.push(s);
      }
    },
    close() {
      for (const s of [...open, ...frozen]) s.destroy();
      server.close();
    },
  };
}
