/**
 * Metrics of the shared trace buffer in Redis (`betrace_redis_*`): round
 * trips, commands and errors by operation, claims by result, takeovers,
 * requests refused by reason, and whether Redis is reachable. Label values
 * are bounded (operations, results, reasons), never a trace ID.
 */

import { Counter, Gauge } from 'prom-client';

import type { Registry } from 'prom-client';

/** What the buffer asks Redis to do; the `op` label. */
export type RedisOperation =
  | 'store'
  | 'take'
  | 'claim'
  | 'reschedule'
  | 'renew'
  | 'finalise'
  | 'release'
  | 'probe'
  | 'rules';

/** What a claim attempt found; the `result` label. */
export type ClaimResult = 'claimed' | 'early' | 'held' | 'decided' | 'gone';

/**
 * Why the shared buffer refused a request's spans; the `reason` label:
 * Redis unreachable, shared rules not read yet, Redis at maxmemory, or a
 * store that failed otherwise (a timeout, a connection lost mid-batch).
 */
export type RefusalReason = 'unreachable' | 'rules_not_loaded' | 'out_of_memory' | 'failed';

const OPERATIONS: readonly RedisOperation[] = ['store', 'take', 'claim', 'reschedule', 'renew', 'finalise', 'release', 'probe', 'rules'];
const CLAIM_RESULTS: readonly ClaimResult[] = ['claimed', 'early', 'held', 'decided', 'gone'];
const REFUSAL_REASONS: readonly RefusalReason[] = ['unreachable', 'rules_not_loaded', 'out_of_memory', 'failed'];

/** Counters resolved per operation once, not per call. */
interface OperationCounters {
  readonly roundTrips: Counter.Internal;
  readonly commands: Counter.Internal;
  readonly errors: Counter.Internal;
}

/** The Redis buffer's metrics. */
export interface RedisMetrics {
  /** Counts one batch of `commands` commands sent together and waited for. */
  countRoundTrip(op: RedisOperation, commands: number): void;
  /** Counts a failed batch or command. */
  countError(op: RedisOperation): void;
  countClaim(result: ClaimResult, count?: number): void;
  /** Counts a request whose spans were refused. */
  countRefusal(reason: RefusalReason): void;
  readonly takeovers: Counter<string>;
  /** Claims this instance held that another instance had taken over by the time it finished. */
  readonly claimsLost: Counter<string>;
  /** Traces evaluated with the current rule set because this instance lacked the one they began under. */
  readonly ruleSetFallbacks: Counter<string>;
  readonly connected: Gauge<string>;
}

/** Registers the metrics on `registry`. */
export function createRedisMetrics(registry: Registry): RedisMetrics {
  const registers = [registry];
  const roundTrips = new Counter({
    name: 'betrace_redis_round_trips_total',
    help: 'Batches of Redis commands sent together and waited for, by operation',
    labelNames: ['op'] as const,
    registers,
  });
  const commands = new Counter({
    name: 'betrace_redis_commands_total',
    help: 'Redis commands and scripts sent, by operation',
    labelNames: ['op'] as const,
    registers,
  });
  const errors = new Counter({
    name: 'betrace_redis_errors_total',
    help: 'Redis commands or batches that failed (unreachable, timed out, refused), by operation',
    labelNames: ['op'] as const,
    registers,
  });
  const claims = new Counter({
    name: 'betrace_redis_claims_total',
    help: 'Attempts to claim a due trace, by what they found (claimed, early, held by another instance, decided, gone)',
    labelNames: ['result'] as const,
    registers,
  });
  const refusals = new Counter({
    name: 'betrace_redis_refused_requests_total',
    help: 'Requests whose spans the shared buffer refused with a retryable error, by reason (unreachable, rules_not_loaded, out_of_memory, failed)',
    labelNames: ['reason'] as const,
    registers,
  });
  const takeovers = new Counter({
    name: 'betrace_redis_takeovers_total',
    help: 'Traces claimed after the lease of another instance ran out',
    registers,
  });
  const claimsLost = new Counter({
    name: 'betrace_redis_claims_lost_total',
    help: 'Claims of this instance that another instance had taken over by the time this one finished',
    registers,
  });
  const ruleSetFallbacks = new Counter({
    name: 'betrace_redis_rule_set_fallbacks_total',
    help: 'Traces evaluated with the current rule set because the one they began under is unknown here',
    registers,
  });
  const connected = new Gauge({
    name: 'betrace_redis_connected',
    help: '1 while the connection to Redis is ready, 0 otherwise',
    registers,
  });

  // Series exist from the start, so rate() and alerts see a zero, not a gap.
  const byOp = new Map<RedisOperation, OperationCounters>();
  for (const op of OPERATIONS) {
    const counters = { roundTrips: roundTrips.labels(op), commands: commands.labels(op), errors: errors.labels(op) };
    counters.roundTrips.inc(0);
    counters.commands.inc(0);
    counters.errors.inc(0);
    byOp.set(op, counters);
  }
  const byResult = new Map<ClaimResult, Counter.Internal>();
  for (const result of CLAIM_RESULTS) {
    const child = claims.labels(result);
    child.inc(0);
    byResult.set(result, child);
  }
  const byReason = new Map<RefusalReason, Counter.Internal>();
  for (const reason of REFUSAL_REASONS) {
    const child = refusals.labels(reason);
    child.inc(0);
    byReason.set(reason, child);
  }
  return {
    countRoundTrip(op, count) {
      const c = byOp.get(op)!;
      c.roundTrips.inc();
      c.commands.inc(count);
    },
    countError(op) {
      byOp.get(op)!.errors.inc();
    },
    countClaim(result, count = 1) {
      if (count > 0) byResult.get(result)!.inc(count);
    },
    countRefusal(reason) {
      byReason.get(reason)!.inc();
    },
    takeovers,
    claimsLost,
    ruleSetFallbacks,
    connected,
  };
}
