/**
 * One instance's membership of a fleet on the shared Redis buffer
 * (`buffer.type: redis`): the connection, the trace buffer, the shared
 * rules store and the heartbeat that keeps the rules in step, built from
 * the config and wired by the service.
 */

import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';

import { ReplyError } from 'ioredis';

import { RedisTraceBuffer } from '../buffer/redis-buffer';
import { createRedisConnection } from '../buffer/redis-connection';
import { createRedisMetrics } from '../buffer/redis-metrics';
import { BetraceError } from '../errors';
import { EMPTY_API_RULES } from '../rules/api-rules-file';
import { loadRuleSet } from '../rules/rule-loader';
import { FleetRuleSync } from './fleet-rule-sync';
import { MirroredRuleStore } from './mirrored-rule-store';
import { RedisRuleStore } from './redis-rule-store';

import type { Registry } from 'prom-client';

import type { BufferConfig, RulesConfig } from '../../config/types';
import type { RedisConnection, RedisProblem } from '../buffer/redis-connection';
import type { RedisMetrics } from '../buffer/redis-metrics';
import type { Logger } from '../log';
import type { PipelineFleet } from '../pipeline';
import type { RuleCatalog } from '../rules/rule-catalog';
import type { RuleLoadResult, SharedApiRules } from '../rules/rule-loader';
import type { SyncedRules } from './fleet-rule-sync';

/** How long startup waits for Redis before it goes on without it (not ready, spans refused). */
const DEFAULT_CONNECT_WAIT_MS = 3000;

/** Settings of a fleet member that have no config key; tests shorten them. */
export interface FleetOptions {
  /** Claim lease (default DEFAULT_LEASE_MS of the Redis buffer). */
  readonly leaseMs?: number;
  /** Time between rule heartbeats (default DEFAULT_RULES_POLL_MS). */
  readonly rulesPollMs?: number;
  /** Names this process in claims and the registry; unique by default. */
  readonly instanceId?: string;
  /** Default DEFAULT_CONNECT_WAIT_MS. */
  readonly connectWaitMs?: number;
  /** Redis command timeout (default DEFAULT_COMMAND_TIMEOUT_MS of the connection). */
  readonly commandTimeoutMs?: number;
  /** Between PINGs that check that Redis answers (default HEARTBEAT_MS of the connection). */
  readonly heartbeatMs?: number;
}

/** The Redis side of one fleet member. */
export interface Fleet {
  readonly instanceId: string;
  readonly connection: RedisConnection;
  readonly metrics: RedisMetrics;
  readonly buffer: RedisTraceBuffer;
  readonly store: RedisRuleStore;
  /**
   * Compiles the rule files and reads the shared rules, which the api file
   * (when configured) keeps a copy of from then on. When Redis holds no
   * shared rules (a fleet's first start, or a Redis that lost its data) the
   * api file's rules, if any, become the shared ones. When Redis cannot be
   * reached the file rules load alone and the shared ones follow once it
   * can.
   */
  loadRules(config: RulesConfig): Promise<RuleLoadResult>;
  /** What the pipeline needs; `catalog` is read on every request. */
  forPipeline(catalog: () => RuleCatalog | undefined): PipelineFleet;
  /** Starts the heartbeat for the rule manager; resolves after the first one. */
  startRuleSync(rules: SyncedRules): Promise<void>;
  /** Why this member is not ready; empty when it is. */
  readiness(): string[];
  /** Stops the heartbeat and closes the connection. */
  close(): Promise<void>;
}

/** Connects to `buffer.redis` and builds the member's parts. */
export function createFleet(config: BufferConfig, registry: Registry, logger: Logger, options: FleetOptions = {}): Fleet {
  const instanceId = options.instanceId ?? `${os.hostname()}/${process.pid}/${randomBytes(4).toString('hex')}`;
  const startedMs = Date.now();
  const metrics = createRedisMetrics(registry);
  const connection = createRedisConnection(config.redis, {
    logger,
    commandTimeoutMs: options.commandTimeoutMs,
    heartbeatMs: options.heartbeatMs,
    onStatus: (ready) => metrics.connected.set(ready ? 1 : 0),
  });
  const buffer = new RedisTraceBuffer({
    connection,
    keyPrefix: config.redis.keyPrefix,
    instanceId,
    maxSpansPerTrace: config.maxSpansPerTrace,
    idleTimeoutMs: config.idleTimeoutMs,
    rootGraceMs: config.rootGraceMs,
    maxTraceAgeMs: config.maxTraceAgeMs,
    decidedTtlMs: config.decidedCache.ttlMs,
    leaseMs: options.leaseMs,
    metrics,
    logger,
  });
  const store = new RedisRuleStore(connection, config.redis.keyPrefix, metrics);
  let sync: FleetRuleSync | null = null;
  const log = logger.child({ component: 'fleet' });

  return {
    instanceId,
    connection,
    metrics,
    buffer,
    store,
    async loadRules(rules) {
      const mirrored = new MirroredRuleStore(store, rules.apiFile === '' ? '' : path.resolve(rules.apiFile), logger);
      const shared = await readShared(mirrored, connection, options.connectWaitMs ?? DEFAULT_CONNECT_WAIT_MS, log);
      return loadRuleSet(rules, shared);
    },
    forPipeline(catalog) {
      return {
        buffer,
        metrics,
        isConnected: () => connection.isReady(),
        refusal() {
          if (!connection.isReady()) {
            metrics.countRefusal('unreachable');
            return { code: 'ERR_REDIS_UNAVAILABLE', message: unavailableMessage(connection) };
          }
          if ((catalog()?.apiVersion ?? -1) < 0) {
            metrics.countRefusal('rules_not_loaded');
            return { code: 'ERR_REDIS_RULES_NOT_LOADED', message: 'the shared rules have not been read from redis yet; retry later' };
          }
          // Refused without a round trip: a full Redis would refuse the store anyway.
          if (buffer.outOfMemory) {
            metrics.countRefusal('out_of_memory');
            return { code: 'ERR_REDIS_UNAVAILABLE', message: buffer.outOfMemoryMessage() };
          }
          return null;
        },
        storeFailure(err) {
          // The buffer's own refusals (Redis out of memory) are already worded for the sender.
          if (err instanceof BetraceError && err.code === 'ERR_REDIS_UNAVAILABLE') return { code: err.code, message: err.message };
          connection.noteFailure(err);
          // Redis's own refusals say what went wrong; a lost or silent
          // connection is told as such, without the client library's words.
          const message = err instanceof ReplyError
            ? `redis at ${connection.location} refused the spans: ${(err as Error).message}; retry later`
            : unavailableMessage(connection);
          return { code: 'ERR_REDIS_UNAVAILABLE', message };
        },
      };
    },
    async startRuleSync(rules) {
      sync = new FleetRuleSync({
        store,
        rules,
        instanceId,
        startedMs,
        pollMs: options.rulesPollMs,
        isConnected: () => connection.isReady(),
        logger,
      });
      await sync.start();
      log.info({ instanceId, redis: connection.location, cluster: connection.cluster, leaseMs: buffer.leaseMs }, 'joined the fleet');
    },
    readiness() {
      const problem = connection.problem();
      const reasons = problem !== '' ? [problem] : buffer.outOfMemory ? ['redis out of memory'] : [];
      return sync === null ? reasons : reasons.concat(sync.reasons());
    },
    async close() {
      await sync?.close();
      await connection.close();
    },
  };
}

/** What a refused request is told while Redis cannot take commands. */
function unavailableMessage(connection: RedisConnection): string {
  const what = UNAVAILABLE_TEXT[connection.problem() || 'redis unreachable'];
  return `redis at ${connection.location} ${what}; retry later`;
}

const UNAVAILABLE_TEXT: Readonly<Record<RedisProblem, string>> = {
  'redis unreachable': 'is unreachable',
  'redis does not answer': 'does not answer',
  'redis refused the credentials': 'refused the credentials of buffer.redis.url',
};

/** The shared rules to start with (seeded from the api file when Redis holds none). */
async function readShared(
  store: MirroredRuleStore,
  connection: RedisConnection,
  waitMs: number,
  log: Logger,
): Promise<SharedApiRules> {
  const unread: SharedApiRules = { store, state: EMPTY_API_RULES, version: -1 };
  if (!(await connection.waitReady(waitMs))) {
    log.warn({ redis: connection.location }, 'redis unreachable at start; refusing spans until the shared rules are read');
    return unread;
  }
  try {
    return { store, ...(await store.load()) };
  } catch (err) {
    log.warn({ err }, 'cannot read the shared rules; refusing spans until they are read');
    return unread;
  }
}
