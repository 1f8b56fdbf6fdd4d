/**
 * Real redis-server processes for tests: each on a free loopback port with
 * its own temp folder, stopped and restarted on the same port (with AOF,
 * the data comes back; without, it comes back empty), optionally with a
 * small `maxmemory`, and a three-node cluster built with redis-cli.
 * Every process started here is killed when the test process exits, also
 * when a test fails.
 */

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import Redis from 'ioredis';

import type { ChildProcess } from 'node:child_process';

/** A cluster node's bus listens this far above its port. */
const CLUSTER_BUS_OFFSET = 10000;
const START_ATTEMPTS = 5;
const READY_TIMEOUT_MS = 10_000;

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface RedisProcessOptions {
  /** appendonly yes, fsync on every write, so a stop loses nothing acknowledged. */
  readonly appendOnly?: boolean;
  readonly cluster?: boolean;
  /** Listen on this port (one found free earlier) instead of a new free one. */
  readonly port?: number;
  /** `maxmemory` (as redis-server takes it, `3mb`), with `maxmemory-policy noeviction`. */
  readonly maxMemory?: string;
  /** `requirepass`: clients must authenticate with this password. */
  readonly password?: string;
  /** More redis-server arguments (`--user ...`). */
  readonly extraArgs?: readonly string[];
}

/** One redis-server. */
export interface RedisProcess {
  readonly port: number;
  /** `redis://127.0.0.1:PORT`. */
  readonly url: string;
  readonly dir: string;
  /** Stops it (SIGTERM: AOF is flushed) and waits for the exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port and folder. */
  restart(): Promise<void>;
  /** Freezes it (SIGSTOP): connections stay open, nothing is answered. */
  pause(): void;
  /** Lets a paused server run on (SIGCONT). */
  resume(): void;
  /** A plain client for the test's own checks (closed by close()). */
  client(): Redis;
  /** Stops it for good and removes its folder. */
  close(): Promise<void>;
}

/** A three-node cluster, slots spread over the nodes, no replicas. */
export interface RedisCluster {
  readonly nodes: readonly RedisProcess[];
  /** Comma-separated node URLs, as `buffer.redis.url` takes them. */
  readonly url: string;
  close(): Promise<void>;
}

/** Starts one redis-server on a free loopback port. */
export async function startRedis(options: RedisProcessOptions = {}): Promise<RedisProcess> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'betrace-redis-'));
  let lastError: unknown;
  for (let attempt = 0; attempt < (options.port === undefined ? START_ATTEMPTS : 1); attempt++) {
    const port = options.port ?? await findFreePort(options.cluster === true);
    try {
      const child = await spawnServer(port, dir, options);
      return createHandle(port, dir, options, child);
    } catch (err) {
      // Another process may have taken the port between the probe and the bind.
      lastError = err;
    }
  }
  fs.rmSync(dir, { recursive: true, force: true });
  throw lastError;
}

/** Starts three cluster-enabled servers and joins them into one cluster. */
export async function startRedisCluster(): Promise<RedisCluster> {
  const nodes: RedisProcess[] = [];
  try {
    for (let i = 0; i < 3; i++) nodes.push(await startRedis({ cluster: true }));
    const create = spawnSync('redis-cli', [
      '--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes',
    ], { encoding: 'utf8', timeout: 20_000 });
    if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
    await waitForClusterOk(nodes);
  } catch (err) {
    await Promise.all(nodes.map((n) => n.close()));
    throw err;
  }
  return {
    nodes,
    url: nodes.map((n) => n.url).join(','),
    close: async () => {
      await Promise.all(nodes.map((n) => n.close()));
    },
  };
}

function createHandle(port: number, dir: string, options: RedisProcessOptions, first: ChildProcess): RedisProcess {
  let child: ChildProcess | null = first;
  const clients: Redis[] = [];
  const stop = async (): Promise<void> => {
    const c = child;
    child = null;
    if (c === null || c.exitCode !== null) return;
    const exited = new Promise((resolve) => c.once('exit', resolve));
    c.kill('SIGCONT');
    c.kill('SIGTERM');
    const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    stop,
    async restart() {
      await stop();
      child = await spawnServer(port, dir, options);
    },
    pause() {
      child?.kill('SIGSTOP');
    },
    resume() {
      child?.kill('SIGCONT');
    },
    client() {
      const c = new Redis({
        host: '127.0.0.1', port, password: options.password, lazyConnect: false, maxRetriesPerRequest: 1, retryStrategy: () => 100,
      });
      c.on('error', () => undefined);
      clients.push(c);
      return c;
    },
    async close() {
      for (const c of clients) c.disconnect();
      await stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function spawnServer(port: number, dir: string, options: RedisProcessOptions): Promise<ChildProcess> {
  const args = [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--logfile', '',
    '--appendonly', options.appendOnly === true ? 'yes' : 'no', '--appendfsync', 'always',
  ];
  if (options.maxMemory !== undefined) args.push('--maxmemory', options.maxMemory, '--maxmemory-policy', 'noeviction');
  if (options.password !== undefined) args.push('--requirepass', options.password);
  if (options.extraArgs !== undefined) args.push(...options.extraArgs);
  if (options.cluster === true) {
    args.push('--cluster-enabled', 'yes', '--cluster-config-file', path.join(dir, 'nodes.conf'), '--cluster-node-timeout', '2000');
  }
  const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.once('exit', () => running.delete(child));
  return new Promise((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server on port ${port} did not become ready: ${output}`));
    }, READY_TIMEOUT_MS);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.stdout!.removeListener('data', onData);
        child.stdout!.resume();
        resolve(child);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server on port ${port} exited with ${code}: ${output}`));
    });
  });
}

/** A loopback port that nothing listens on right now. */
export async function findFreePort(withBus = false): Promise<number> {
  for (;;) {
    const port = await listenOnce(0);
    if (!withBus) return port;
    if (port + CLUSTER_BUS_OFFSET > 65535) continue;
    const bus = await listenOnce(port + CLUSTER_BUS_OFFSET).catch(() => -1);
    if (bus > 0) return port;
  }
}

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const bound = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(bound));
    });
  });
}

async function waitForClusterOk(nodes: readonly RedisProcess[]): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (const node of nodes) {
    const c = node.client();
    for (;;) {
      const info = String(await c.call('CLUSTER', 'INFO'));
      if (info.includes('cluster_state:ok')) break;
      if (Date.now() > deadline) throw new Error(`cluster not ok on port ${node.port}: ${info}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
