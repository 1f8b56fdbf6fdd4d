/**
 * The key layout of the shared trace buffer (docs/scaling.md). Every key of
 * one trace carries the hash tag `{<traceId>}`, so a script over a trace's
 * keys stays in one Redis Cluster slot; the due-trace index is split into
 * DUE_SHARDS sorted sets, each its own slot, so no single key takes every
 * write. The shared rules sit under the one tag `{rules}`.
 */

/**
 * Sorted sets of the due-trace index. Every instance of a fleet must use the
 * same number, so it is fixed rather than configured.
 */
export const DUE_SHARDS = 16;

/** The keys of one trace. */
export interface TraceKeys {
  /** Hash: span ID to span projection, and `r:<id>` to the resources they name. */
  readonly spans: string;
  /** Hash: first, last and root times, span count, rule set, claim and lease. */
  readonly meta: string;
  /** String set once the trace is evaluated: the emitted verdict IDs. */
  readonly decided: string;
}

/** The keys of the shared rules, all in one slot. */
export interface RuleKeys {
  /** Counter that every change through the rules API increments. */
  readonly version: string;
  /** Hash: API rule ID to its position and rule-file text. */
  readonly api: string;
  /** Hash: file rule ID to the enabled state the API set. */
  readonly overrides: string;
  /** Hash: instance ID to its file-rules digest, heartbeat and start time. */
  readonly instances: string;
}

/** Builds every key name from `buffer.redis.key_prefix`. */
export interface KeyLayout {
  readonly prefix: string;
  traceKeys(traceId: string): TraceKeys;
  /** The index shard a trace belongs to. */
  shardOf(traceId: string): number;
  dueKey(shard: number): string;
  readonly rules: RuleKeys;
}

/** Creates the layout for one key prefix. */
export function createKeyLayout(prefix: string): KeyLayout {
  const dueKeys: string[] = [];
  for (let i = 0; i < DUE_SHARDS; i++) dueKeys.push(`${prefix}due:{${i}}`);
  return {
    prefix,
    traceKeys(traceId) {
      const base = `${prefix}{${traceId}}:`;
      return { spans: `${base}spans`, meta: `${base}meta`, decided: `${base}decided` };
    },
    shardOf: toShard,
    dueKey(shard) {
      return dueKeys[shard];
    },
    rules: {
      version: `${prefix}{rules}:version`,
      api: `${prefix}{rules}:api`,
      overrides: `${prefix}{rules}:overrides`,
      instances: `${prefix}{rules}:instances`,
    },
  };
}

/**
 * Trace IDs are random, so their last four hex digits spread traces evenly
 * without hashing the whole ID.
 */
function toShard(traceId: string): number {
  const tail = parseInt(traceId.slice(-4), 16);
  return Number.isNaN(tail) ? 0 : tail % DUE_SHARDS;
}
