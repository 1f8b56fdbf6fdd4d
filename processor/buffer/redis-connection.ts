/**
 * The connection to Redis for `buffer.type: redis`: one ioredis client for a
 * single URL, a Redis.Cluster client for several comma-separated node URLs.
 * Commands are never queued while disconnected (the offline queue is off),
 * so a caller learns at once that nothing was stored and the receivers push
 * back; the client reconnects by itself, forever, with a capped backoff.
 * Commands issued in the same tick go out as one pipeline per node.
 */

import Redis, { Cluster, ReplyError } from 'ioredis';

import type { ClusterOptions, RedisOptions } from 'ioredis';

import type { RedisBufferConfig } from '../../config/types';
import type { Logger } from '../log';
import type { ScriptDefinition } from './redis-scripts';

/** A command that waits longer than this fails, so a hung Redis cannot stall intake. */
export const DEFAULT_COMMAND_TIMEOUT_MS = 2000;
/** The scripts declare Redis 7 flags (`#!lua flags=...`), which older servers cannot read. */
const MIN_REDIS_MAJOR = 7;
/**
 * Between PINGs that check that a connected Redis still answers: a Redis
 * that hangs (stopped, or behind a network that drops packets) keeps its
 * TCP connection open, so only an unanswered command shows it.
 */
export const HEARTBEAT_MS = 1000;
/**
 * Unanswered heartbeats in a row after which the connection is dropped and
 * made again: a connection that a middlebox stopped forwarding stays open
 * for many minutes, while a new one may work at once.
 */
const SILENT_BEATS_BEFORE_RECONNECT = 3;
/** Replies that mean the credentials in `buffer.redis.url` are wrong. */
const AUTH_FAILURE = /WRONGPASS|NOAUTH|invalid password|invalid username-password/i;
/** Longest wait between reconnect attempts. */
const MAX_RECONNECT_DELAY_MS = 1000;
const RECONNECT_STEP_MS = 50;

/** Either client; both take the same commands. */
export type RedisClient = Redis | Cluster;

/** Runs one script with its keys and arguments. */
export type ScriptRunner = (keys: readonly string[], args: readonly (string | number)[]) => Promise<unknown>;

/** How to connect, besides the config. */
export interface RedisConnectionOptions {
  readonly logger: Logger;
  readonly commandTimeoutMs?: number;
  /** Default HEARTBEAT_MS. */
  readonly heartbeatMs?: number;
  /** Called with true when the connection becomes ready, false when it is lost or Redis stops answering. */
  readonly onStatus?: (ready: boolean) => void;
}

/** Why commands cannot be sent; also the reason `/readyz` gives. */
export type RedisProblem = 'redis unreachable' | 'redis does not answer' | 'redis refused the credentials';

/** A live connection (or one trying to become live). */
export interface RedisConnection {
  readonly client: RedisClient;
  /** The node URLs without credentials, for logs and messages. */
  readonly location: string;
  readonly cluster: boolean;
  /** True while commands can be sent and Redis answers them. */
  isReady(): boolean;
  /** Why commands cannot be sent; '' when they can. */
  problem(): RedisProblem | '';
  /** Tells the connection that a command failed; a timeout means Redis stopped answering. */
  noteFailure(err: unknown): void;
  /** Resolves once ready, or false after `timeoutMs`. */
  waitReady(timeoutMs: number): Promise<boolean>;
  /** Registers a script on the client; the runner sends EVALSHA, and EVAL when Redis lacks it. */
  defineScript(script: ScriptDefinition): ScriptRunner;
  close(): Promise<void>;
}

/** Opens the connection; it reconnects on its own until closed. */
export function createRedisConnection(config: RedisBufferConfig, options: RedisConnectionOptions): RedisConnection {
  const logger = options.logger.child({ component: 'buffer/redis' });
  const urls = config.url.split(',').map((u) => u.trim()).filter((u) => u !== '');
  const location = urls.map(withoutCredentials).join(',');
  const common: RedisOptions = {
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    retryStrategy: reconnectDelay,
  };
  const cluster = urls.length > 1;
  const client: RedisClient = cluster
    ? new Cluster(urls.map(toClusterNode), toClusterOptions(urls[0], common))
    : new Redis(urls[0], common);

  let ready = false;
  let answering = true;
  let downSince = 0;
  let silentSince = 0;
  let authFailure = '';
  let scripts = 0;
  let closing = false;
  let reported = false;
  let silentBeats = 0;
  const usable = (): boolean => ready && answering && client.status === 'ready';
  const report = (): void => {
    const now = usable();
    if (now === reported) return;
    reported = now;
    options.onStatus?.(now);
  };
  const setReady = (now: boolean): void => {
    if (now === ready) return;
    ready = now;
    if (now) {
      // A fresh connection answers until a heartbeat says otherwise.
      answering = true;
      silentBeats = 0;
      authFailure = '';
    }
    report();
    // A connection closed on purpose (shutdown) is not an outage.
    if (closing) return;
    if (now) {
      logger.info({ location, downMs: downSince === 0 ? 0 : Date.now() - downSince }, 'redis connected');
      void checkVersion(client, logger, location);
    } else {
      downSince = Date.now();
      logger.warn({ location }, 'redis unreachable; refusing spans until it is back');
    }
  };
  const setAnswering = (now: boolean, err?: unknown): void => {
    if (now === answering || closing) return;
    answering = now;
    report();
    if (now) {
      logger.info({ location, silentMs: Date.now() - silentSince }, 'redis answers again');
    } else {
      silentSince = Date.now();
      logger.warn({ location, err: errorText(err) }, 'redis does not answer; refusing spans until it does');
    }
  };
  client.on('ready', () => setReady(true));
  client.on('close', () => setReady(false));
  client.on('end', () => setReady(false));
  // Without a listener ioredis prints every failed reconnect; the state
  // change is logged once instead, and wrong credentials once as an error.
  client.on('error', (err: Error) => {
    if (ready && client.status !== 'ready') setReady(false);
    if (AUTH_FAILURE.test(err.message) && err.message !== authFailure) {
      authFailure = err.message;
      logger.error({ location, err: err.message }, 'redis refused the credentials of buffer.redis.url; fix the user or password');
    }
    logger.debug({ err }, 'redis error');
  });
  options.onStatus?.(false);

  let probing = false;
  const onBeat = (err?: unknown): void => {
    // Any reply, even a refusal (an ACL without PING), shows that Redis answers.
    if (err === undefined || err instanceof ReplyError) {
      silentBeats = 0;
      setAnswering(true);
      return;
    }
    setAnswering(false, err);
    silentBeats++;
    // A cluster's node map changes on failover only when ioredis is told to
    // look again; a hung master would otherwise be pinged for ever.
    if (client instanceof Cluster) client.refreshSlotsCache();
    if (silentBeats % SILENT_BEATS_BEFORE_RECONNECT === 0 && !closing) {
      logger.warn({ location, silentBeats }, 'redis still does not answer; connecting again');
      client.disconnect(true);
    }
  };
  const heartbeat = setInterval(() => {
    if (probing || closing || !ready) return;
    probing = true;
    pingEveryNode(client).then(() => onBeat(), onBeat)
      .finally(() => {
        probing = false;
      });
  }, options.heartbeatMs ?? HEARTBEAT_MS);
  heartbeat.unref();

  return {
    client,
    location,
    cluster,
    isReady: usable,
    problem() {
      if (usable()) return '';
      if (authFailure !== '') return 'redis refused the credentials';
      return ready && !answering ? 'redis does not answer' : 'redis unreachable';
    },
    noteFailure(err) {
      if (isTimeout(err)) setAnswering(false, err);
    },
    waitReady(timeoutMs) {
      if (ready) return Promise.resolve(true);
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          client.removeListener('ready', onReady);
          resolve(false);
        }, timeoutMs);
        const onReady = (): void => {
          clearTimeout(timer);
          resolve(true);
        };
        client.once('ready', onReady);
      });
    },
    defineScript(script) {
      const name = `betraceScript${++scripts}`;
      client.defineCommand(name, { numberOfKeys: script.keys, lua: script.lua });
      const run = (client as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>)[name];
      return (keys, args) => run.call(client, ...keys, ...args);
    },
    async close() {
      closing = true;
      clearInterval(heartbeat);
      try {
        await withTimeout(client.quit(), 1000);
      } catch {
        // Closing anyway: a Redis that does not answer QUIT is dropped.
      }
      client.disconnect();
      setReady(false);
    },
  };
}

/** Logs an error when the server is too old to run the buffer's scripts, which then all fail. */
async function checkVersion(client: RedisClient, logger: Logger, location: string): Promise<void> {
  try {
    const version = /^redis_version:(\S+)/m.exec(await client.info('server'))?.[1];
    if (version !== undefined && Number(version.split('.')[0]) < MIN_REDIS_MAJOR) {
      logger.error({ location, version }, `redis ${MIN_REDIS_MAJOR}.0 or later is needed; every script will fail on this server`);
    }
  } catch {
    // The check is advice only; a lost connection is logged as such.
  }
}

/** PING on every master of a cluster (any of them can hang), or on the one server. */
async function pingEveryNode(client: RedisClient): Promise<void> {
  if (client instanceof Cluster) await Promise.all(client.nodes('master').map((node) => node.ping()));
  else await client.ping();
}

function isTimeout(err: unknown): boolean {
  return err instanceof Error && /command timed out/i.test(err.message);
}

function errorText(err: unknown): string | undefined {
  return err instanceof Error ? err.message : err === undefined ? undefined : String(err);
}

function reconnectDelay(attempt: number): number {
  return Math.min(attempt * RECONNECT_STEP_MS, MAX_RECONNECT_DELAY_MS);
}

function toClusterNode(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'), port: parsed.port === '' ? 6379 : Number(parsed.port) };
}

function toClusterOptions(firstUrl: string, common: RedisOptions): ClusterOptions {
  const parsed = new URL(firstUrl);
  const redisOptions: RedisOptions = {
    maxRetriesPerRequest: common.maxRetriesPerRequest,
    commandTimeout: common.commandTimeout,
    username: parsed.username === '' ? undefined : decodeURIComponent(parsed.username),
    password: parsed.password === '' ? undefined : decodeURIComponent(parsed.password),
    tls: parsed.protocol === 'rediss:' ? {} : undefined,
  };
  return {
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    clusterRetryStrategy: reconnectDelay,
    redisOptions,
  };
}

function withoutCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return url;
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_resolve, reject) => {
      timer = setTimeout(() => reject(new Error('timed out')), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
