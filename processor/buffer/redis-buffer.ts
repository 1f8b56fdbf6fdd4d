/**
 * The shared trace buffer (`buffer.type: redis`, PRODUCT.md section 9):
 * span projections and completion deadlines of every trace in Redis, so
 * that any instance of a fleet takes any span and exactly one instance
 * evaluates each completed trace.
 *
 * Storing a request is one batch: per trace, a script that adds its spans
 * to the trace's hash (keyed by span ID, so a retried request stores each
 * span once) and updates its meta, and a `ZADD LT` that puts the trace in
 * its index shard with a score no later than its next deadline. Claiming
 * takes due traces off the shards, then claims each one with a script on
 * its own keys, which recomputes the true deadline and reschedules a trace
 * taken early. Finalising marks the trace decided and deletes the rest.
 *
 * A Redis at `maxmemory` (with `noeviction`) refuses stores, and then the
 * buffer counts itself full: it refuses spans up front until a probe finds
 * that Redis takes writes again. Everything else keeps running, so due
 * traces are still claimed, evaluated and deleted, and a full Redis drains
 * by itself.
 */

import { ReplyError } from 'ioredis';

import { BetraceError } from '../errors';
import { createSilentLogger } from '../log';
import { encodeSpanRecord, decodeTraceHash, toResourceEntry } from './redis-codec';
import { DUE_SHARDS, createKeyLayout } from './redis-keys';
import { RedisMemoryLog } from './redis-memory-log';
import {
  CLAIM_TRACE,
  FINALISE_TRACE,
  INDEX_TRACE,
  PROBE_MEMORY,
  RELEASE_CLAIM,
  RENEW_CLAIM,
  STORE_SPANS,
  TAKE_DUE,
} from './redis-scripts';

import type { SpanRecord } from '../../dsl/trace-model';
import type { Logger } from '../log';
import type { KeyLayout } from './redis-keys';
import type { RedisConnection, ScriptRunner } from './redis-connection';
import type { ClaimResult, RedisMetrics, RedisOperation } from './redis-metrics';
import type { AddResult, CompletionTrigger } from './types';

/** Default lease of a claim: how long a dead instance's traces wait before another takes them. */
export const DEFAULT_LEASE_MS = 10_000;
/** Keys live this long past a trace's max age, so a fleet that is down for a while finds them again. */
export const KEY_GRACE_MS = 5 * 60_000;
/** Traces taken off one shard per pass. */
const TAKE_LIMIT = 128;

/** What the shared buffer needs. */
export interface RedisBufferOptions {
  readonly connection: RedisConnection;
  readonly keyPrefix: string;
  /** Unique per process; it names the holder of a claim. */
  readonly instanceId: string;
  readonly maxSpansPerTrace: number;
  readonly idleTimeoutMs: number;
  readonly rootGraceMs: number;
  readonly maxTraceAgeMs: number;
  /** TTL of a trace's `decided` key (`decided_cache.ttl`). */
  readonly decidedTtlMs: number;
  /** Default DEFAULT_LEASE_MS. */
  readonly leaseMs?: number;
  readonly metrics: RedisMetrics;
  /** Where the full and no-longer-full transitions are logged; silent by default. */
  readonly logger?: Logger;
}

/** A trace this instance has claimed and now evaluates. */
export interface ClaimedTrace {
  readonly traceId: string;
  readonly spans: SpanRecord[];
  readonly trigger: CompletionTrigger;
  /** Key of the rule set its first span was stored under ('' when unknown). */
  readonly ruleSetKey: string;
  /** True when another instance had claimed it and its lease ran out. */
  readonly takeover: boolean;
}

/** An evaluated trace to mark decided, with the IDs of the verdicts it emitted. */
export interface Decision {
  readonly traceId: string;
  readonly recordIds: readonly string[];
}

type ScriptName = 'store' | 'take' | 'claim' | 'renew' | 'finalise' | 'release' | 'index' | 'probe';

/** The start of the error Redis answers a write with when it is at maxmemory. */
const OUT_OF_MEMORY_REPLY = /^OOM\b/;

/** The Redis trace buffer of one instance. */
export class RedisTraceBuffer {
  readonly leaseMs: number;
  private readonly options: RedisBufferOptions;
  private readonly keys: KeyLayout;
  private readonly scripts: Record<ScriptName, ScriptRunner>;
  private readonly metrics: RedisMetrics;
  private readonly lifetimeMs: number;
  private readonly keepAliveMs: number;
  private readonly logger: Logger;
  private indexed = 0;
  /** A key on the node that refused a store for lack of memory; null while stores are taken. */
  private fullKey: string | null = null;
  private readonly memoryLog: RedisMemoryLog;

  constructor(options: RedisBufferOptions) {
    this.options = options;
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.keys = createKeyLayout(options.keyPrefix);
    this.metrics = options.metrics;
    this.logger = (options.logger ?? createSilentLogger()).child({ component: 'buffer/redis' });
    this.memoryLog = new RedisMemoryLog(this.logger, options.connection.location);
    this.lifetimeMs = options.maxTraceAgeMs + this.leaseMs + KEY_GRACE_MS;
    // Keys normally outlive any claim by KEY_GRACE_MS; this only guards
    // traces claimed long after their max age (a fleet that was down).
    this.keepAliveMs = 3 * this.leaseMs;
    const c = options.connection;
    this.scripts = {
      store: c.defineScript(STORE_SPANS),
      take: c.defineScript(TAKE_DUE),
      claim: c.defineScript(CLAIM_TRACE),
      renew: c.defineScript(RENEW_CLAIM),
      finalise: c.defineScript(FINALISE_TRACE),
      release: c.defineScript(RELEASE_CLAIM),
      index: c.defineScript(INDEX_TRACE),
      probe: c.defineScript(PROBE_MEMORY),
    };
  }

  /** True from a store that Redis refused for lack of memory until a probe finds that it takes writes again. */
  get outOfMemory(): boolean {
    return this.fullKey !== null;
  }

  /** What a request refused because Redis is full is told. */
  outOfMemoryMessage(): string {
    return `redis at ${this.options.connection.location} is out of memory (maxmemory); spans are refused until evaluated traces free some; retry later`;
  }

  /** Traces in the due index at the last pass over it, fleet-wide. */
  get indexedTraces(): number {
    return this.indexed;
  }

  /**
   * Stores one request's spans under the rule set `ruleSetKey` (for traces
   * they begin). Resolves once every span is in Redis; rejects when any
   * command failed, and then the request must not be acknowledged (a retry
   * stores each span once).
   */
  async store(traceIds: readonly string[], spans: readonly SpanRecord[], ruleSetKey: string, nowMs: number): Promise<AddResult> {
    const groups = groupByTrace(traceIds);
    const now = Math.floor(nowMs);
    const { idleTimeoutMs, rootGraceMs, maxTraceAgeMs, maxSpansPerTrace } = this.options;
    const calls: Promise<unknown>[] = [];
    const capped: string[] = [];
    let refusedKey: string | null = null;
    let buffered = 0;
    let late = 0;
    let duplicates = 0;
    for (const [traceId, indices] of groups) {
      const args: (string | number)[] = [now, maxSpansPerTrace, this.lifetimeMs, ruleSetKey, '', indices.length];
      const resources = new Map<string, string>();
      let rootId = '';
      for (const i of indices) {
        const span = spans[i];
        const resource = toResourceEntry(span.resource);
        resources.set(resource.field, resource.text);
        if (span.isRoot && rootId === '') rootId = span.spanId;
        args.push(span.spanId, encodeSpanRecord(span, resource.field));
      }
      args[4] = rootId;
      for (const [field, text] of resources) args.push(field, text);
      const t = this.keys.traceKeys(traceId);
      calls.push(this.scripts.store([t.spans, t.meta, t.decided], args).then((reply) => {
        const [stored, dups, lateHere, reachedCap] = reply as number[];
        buffered += stored;
        duplicates += dups;
        late += lateHere;
        if (reachedCap === 1) capped.push(traceId);
      }, (err: unknown) => {
        // In a cluster only some nodes may be full; the probe asks this one.
        if (isOutOfMemory(err)) refusedKey ??= t.meta;
        throw err;
      }));
      // No later than the trace's next deadline: for a new trace every
      // deadline is at least this far off; for a known one LT keeps its
      // earlier score, and only a first root span can bring a deadline nearer.
      const waitMs = Math.min(idleTimeoutMs, maxTraceAgeMs, rootId === '' ? Infinity : rootGraceMs);
      calls.push(this.scripts.index([this.keys.dueKey(this.keys.shardOf(traceId))], ['LT', now + waitMs, traceId]));
    }
    try {
      await this.run('store', calls);
    } catch (err) {
      if (refusedKey === null && !isOutOfMemory(err)) {
        // A reply is Redis refusing the commands; anything else is a lost or silent connection.
        this.metrics.countRefusal(err instanceof ReplyError ? 'failed' : 'unreachable');
        throw err;
      }
      this.metrics.countRefusal('out_of_memory');
      this.markFull(refusedKey ?? this.keys.traceKeys(groups.keys().next().value!).meta);
      throw new BetraceError('ERR_REDIS_UNAVAILABLE', this.outOfMemoryMessage(), { retryable: true, cause: err });
    }
    // A trace at its span cap is due now; should this fail, it completes on its idle deadline.
    if (capped.length > 0) void this.schedule(capped.map((id) => [id, now])).catch(() => undefined);
    return { buffered, late, duplicates };
  }

  /**
   * Takes due traces off every shard and claims them for this instance;
   * traces taken early go back with their true deadline. Returns the traces
   * claimed, each with its spans.
   */
  async claimDue(nowMs: number): Promise<ClaimedTrace[]> {
    const now = Math.floor(nowMs);
    const taken = await this.run('take', Array.from({ length: DUE_SHARDS }, (_, shard) =>
      this.scripts.take([this.keys.dueKey(shard)], [now, now + this.leaseMs, TAKE_LIMIT])));
    const traceIds: string[] = [];
    let indexed = 0;
    for (const reply of taken as (string | number)[][]) {
      indexed += Number(reply[0]);
      for (let i = 1; i < reply.length; i++) traceIds.push(String(reply[i]));
    }
    this.indexed = indexed;
    if (traceIds.length === 0) return [];
    return this.claim(traceIds, now);
  }

  /** Extends this instance's leases on traces still being worked on; returns how many it still holds. */
  async renew(traceIds: readonly string[], nowMs: number): Promise<number> {
    if (traceIds.length === 0) return 0;
    const now = Math.floor(nowMs);
    const expiry = now + this.leaseMs;
    const calls: Promise<unknown>[] = [];
    for (const traceId of traceIds) {
      const t = this.keys.traceKeys(traceId);
      calls.push(this.scripts.renew([t.spans, t.meta], [this.options.instanceId, now, this.leaseMs, this.keepAliveMs]));
      calls.push(this.scripts.index([this.keys.dueKey(this.keys.shardOf(traceId))], ['XX', 'GT', expiry, traceId]));
    }
    const replies = await this.run('renew', calls);
    let held = 0;
    for (let i = 0; i < replies.length; i += 2) held += Number(replies[i]);
    this.metrics.claimsLost.inc(traceIds.length - held);
    return held;
  }

  /** Marks evaluated traces decided (for `decided_cache.ttl`) and deletes their spans, meta and index entries. */
  async finalise(decisions: readonly Decision[]): Promise<void> {
    if (decisions.length === 0) return;
    const calls: Promise<unknown>[] = [];
    for (const d of decisions) {
      const t = this.keys.traceKeys(d.traceId);
      const record = d.recordIds.length === 0 ? '-' : d.recordIds.join(',');
      calls.push(this.scripts.finalise([t.spans, t.meta, t.decided], [this.options.instanceId, this.options.decidedTtlMs, record]));
      calls.push(this.client().zrem(this.keys.dueKey(this.keys.shardOf(d.traceId)), d.traceId));
    }
    const replies = await this.run('finalise', calls);
    let lost = 0;
    for (let i = 0; i < replies.length; i += 2) if (Number(replies[i]) === 0) lost++;
    this.metrics.claimsLost.inc(lost);
  }

  /** Gives up this instance's claims so that other instances evaluate those traces now. */
  async release(traceIds: readonly string[], nowMs: number): Promise<void> {
    if (traceIds.length === 0) return;
    const now = Math.floor(nowMs);
    const calls: Promise<unknown>[] = [];
    for (const traceId of traceIds) {
      calls.push(this.scripts.release([this.keys.traceKeys(traceId).meta], [this.options.instanceId]));
      calls.push(this.scripts.index([this.keys.dueKey(this.keys.shardOf(traceId))], ['XX', 'LT', now, traceId]));
    }
    await this.run('release', calls);
  }

  /**
   * While Redis is counted full, asks it whether it takes writes again (a
   * script that a full Redis refuses and that writes nothing). Resolves to
   * true while it is still full; never rejects.
   */
  async probeMemory(): Promise<boolean> {
    const key = this.fullKey;
    if (key === null) return false;
    this.metrics.countRoundTrip('probe', 1);
    try {
      await this.scripts.probe([key], []);
    } catch (err) {
      if (!isOutOfMemory(err)) this.metrics.countError('probe');
      return true;
    }
    this.fullKey = null;
    this.memoryLog.writable();
    return false;
  }

  private markFull(key: string): void {
    if (this.fullKey !== null) return;
    this.fullKey = key;
    this.memoryLog.full();
  }

  private async claim(traceIds: readonly string[], now: number): Promise<ClaimedTrace[]> {
    const o = this.options;
    const args = [o.instanceId, now, this.leaseMs, o.idleTimeoutMs, o.rootGraceMs, o.maxTraceAgeMs, o.maxSpansPerTrace, this.keepAliveMs];
    const replies = await this.run('claim', traceIds.map((traceId) => {
      const t = this.keys.traceKeys(traceId);
      return this.scripts.claim([t.spans, t.meta, t.decided], args);
    }));
    const claimed: ClaimedTrace[] = [];
    const later: Array<[string, number]> = [];
    const gone: string[] = [];
    const counts: Record<ClaimResult, number> = { claimed: 0, early: 0, held: 0, decided: 0, gone: 0 };
    replies.forEach((reply, i) => {
      const r = reply as unknown[];
      const result = r[0] as ClaimResult;
      counts[result]++;
      if (result === 'claimed') {
        const takeover = Number(r[2]) === 1;
        if (takeover) this.metrics.takeovers.inc();
        claimed.push({
          traceId: traceIds[i],
          trigger: r[1] as CompletionTrigger,
          takeover,
          ruleSetKey: String(r[3]),
          spans: decodeTraceHash(r[4] as string[]),
        });
      } else if (result === 'early') {
        later.push([traceIds[i], Number(r[1])]);
      } else if (result === 'decided' || result === 'gone') {
        gone.push(traceIds[i]);
      }
      // A trace held by another live claim stays at the lease expiry the take gave it.
    });
    for (const result of Object.keys(counts) as ClaimResult[]) this.metrics.countClaim(result, counts[result]);
    if (later.length > 0 || gone.length > 0) {
      // Best effort: an entry left behind is taken again and sorted out then.
      void this.schedule(later, gone).catch(() => undefined);
    }
    return claimed;
  }

  /**
   * Moves index entries to their deadlines (only ever earlier than the
   * lease expiry a take gave them, so that a concurrent `ZADD LT` of a
   * store is never undone), and drops entries of decided or vanished
   * traces.
   */
  private schedule(later: ReadonlyArray<readonly [string, number]>, gone: readonly string[] = []): Promise<unknown[]> {
    const calls: Promise<unknown>[] = [];
    for (const [traceId, at] of later) {
      calls.push(this.scripts.index([this.keys.dueKey(this.keys.shardOf(traceId))], ['XX', 'LT', at, traceId]));
    }
    for (const traceId of gone) calls.push(this.client().zrem(this.keys.dueKey(this.keys.shardOf(traceId)), traceId));
    return this.run('reschedule', calls);
  }

  private client() {
    return this.options.connection.client;
  }

  /** Waits for a batch, counting it; any failure fails the batch. */
  private async run(op: RedisOperation, calls: Promise<unknown>[]): Promise<unknown[]> {
    this.metrics.countRoundTrip(op, calls.length);
    const settled = await Promise.allSettled(calls);
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed !== undefined) {
      this.metrics.countError(op);
      throw (failed as PromiseRejectedResult).reason;
    }
    return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value);
  }
}

/** True for the error a Redis at maxmemory answers a write with. */
function isOutOfMemory(err: unknown): boolean {
  return err instanceof Error && OUT_OF_MEMORY_REPLY.test(err.message);
}

/** Positions of each trace's spans, traces in order of first appearance. */
function groupByTrace(traceIds: readonly string[]): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  let lastId = '';
  let last: number[] | undefined;
  for (let i = 0, n = traceIds.length; i < n; i++) {
    const id = traceIds[i];
    // Spans of one trace usually come together; skip the lookup then.
    if (id !== lastId || last === undefined) {
      last = groups.get(id);
      if (last === undefined) {
        last = [];
        groups.set(id, last);
      }
      lastId = id;
    }
    last.push(i);
  }
  return groups;
}
