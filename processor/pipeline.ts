/**
 * The main job: takes decoded OTLP requests from the receivers, forwards
 * them downstream at once, buffers span projections per trace, evaluates
 * each completed trace under the rule set it started with, and emits
 * violation and evidence spans through the same exporter.
 *
 * With `buffer.type: redis` the projections go to the shared buffer in
 * Redis instead of this process's memory, before the request is forwarded
 * and acknowledged, and traces are evaluated by whichever instance of the
 * fleet claims them once due (processor/fleet/fleet-evaluator.ts).
 */

import { isSpanLookedAt, mergeProjections } from '../dsl/trace-model';
import { decodeTraceRequest } from '../proto/decode-request';
import { encodeSpansRequest } from '../proto/encode-spans';
import { MemoryTraceBuffer } from './buffer/memory-buffer';
import { createPressureLog } from './buffer/pressure-log';
import { detectionTimeAt } from './emit/emitted-spans';
import { BetraceError } from './errors';
import { evaluateCompletedTrace } from './evaluate/trace-evaluator';
import { FleetEvaluator } from './fleet/fleet-evaluator';
import { toRuleSetKey } from './fleet/rule-set-key';
import { PRODUCT_VERSION } from './paths';
import { IngestRefusedError } from './receiver/ingest';

import type { RuleSet } from '../dsl/rule-set';
import type { Projection, SpanRecord } from '../dsl/trace-model';
import type { BufferConfig } from '../config/types';
import type { RedisTraceBuffer } from './buffer/redis-buffer';
import type { RedisMetrics } from './buffer/redis-metrics';
import type { PressureLog } from './buffer/pressure-log';
import type { AddResult, BufferStats, CompletedTrace } from './buffer/types';
import type { EmittedSpan } from './emit/emitted-spans';
import type { ExportSink } from './exporter/types';
import type { Logger } from './log';
import type { PipelineMetrics } from './pipeline-metrics';
import type { IngestResult, Transport, TraceIngest } from './receiver/ingest';

/** Instrumentation scope of every span the processor writes. */
export const OWN_SCOPE = { name: 'betrace', version: PRODUCT_VERSION };
const RESOURCE_EXTRA = [['betrace.processor.version', PRODUCT_VERSION]] as const;

/** Something that receives every emitted span (console, violations store). */
export type EmittedSpansListener = (spans: readonly EmittedSpan[]) => void;

/** Adds signature attributes to emitted spans before they are encoded. */
export interface EmittedSpanSigner {
  sign(spans: readonly EmittedSpan[]): readonly EmittedSpan[];
}

/** Why the shared buffer takes no spans right now. */
export interface FleetRefusal {
  readonly code: 'ERR_REDIS_UNAVAILABLE' | 'ERR_REDIS_RULES_NOT_LOADED';
  readonly message: string;
}

/** The shared buffer and what the pipeline needs around it (`buffer.type: redis`). */
export interface PipelineFleet {
  readonly buffer: RedisTraceBuffer;
  readonly metrics: RedisMetrics;
  /** Null while spans can be stored. */
  readonly refusal: () => FleetRefusal | null;
  /** What a request is told when storing its spans failed. */
  readonly storeFailure: (err: unknown) => FleetRefusal;
  readonly isConnected: () => boolean;
}

export interface PipelineOptions {
  readonly buffer: BufferConfig;
  readonly ruleSet: RuleSet;
  /** Null when only the console exporter is configured. */
  readonly exporter: ExportSink | null;
  readonly metrics: PipelineMetrics;
  readonly logger: Logger;
  readonly signer?: EmittedSpanSigner;
  /** Set with `buffer.type: redis`; the memory buffer is used otherwise. */
  readonly fleet?: PipelineFleet;
  /** Milliseconds since the epoch; injectable for tests. */
  readonly now?: () => number;
}

/** Emitted spans per export request (about 1 KiB each, well under a 4 MiB receive limit). */
const MAX_SPANS_PER_EMITTED_REQUEST = 1000;

/**
 * Tick bounds: a verdict follows its deadline by at most one tick; a tick
 * with nothing due reads three list heads, so a short period costs nothing.
 */
const MIN_TICK_MS = 2;
const MAX_TICK_MS = 10;
/** A pass over the Redis index costs a command per shard, so it runs less often. */
const MIN_FLEET_TICK_MS = 20;
const MAX_FLEET_TICK_MS = 100;
/** Rule sets remembered for traces that began under them elsewhere in the fleet. */
const MAX_KEPT_RULE_SETS = 8;

const STORED_NOTHING: Promise<AddResult> = Promise.resolve({ buffered: 0, late: 0, duplicates: 0 });
const HANDED_ON: Promise<boolean> = Promise.resolve(true);

export class Pipeline implements TraceIngest {
  private readonly options: PipelineOptions;
  private readonly logger: Logger;
  private readonly now: () => number;
  /** Null with the shared buffer. */
  private readonly buffer: MemoryTraceBuffer<RuleSet> | null;
  private readonly fleet: PipelineFleet | null;
  private readonly evaluator: FleetEvaluator | null;
  private readonly listeners: EmittedSpansListener[] = [];
  /** Traces in the buffer per rule set, so decoding keeps what every live set needs. */
  private readonly liveSets = new Map<RuleSet, number>();
  /** With the shared buffer: recent rule sets by fleet-wide key, oldest first. */
  private readonly keptSets = new Map<string, RuleSet>();
  private currentSet: RuleSet;
  private projection: Projection;
  private completed: CompletedTrace<RuleSet>[] = [];
  private drainScheduled = false;
  private readonly sending = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private stopping = false;
  /** Eviction warnings; null with the shared buffer, which evicts nothing. */
  private pressure: PressureLog | null = null;

  constructor(options: PipelineOptions) {
    this.options = options;
    this.logger = options.logger.child({ component: 'pipeline' });
    this.now = options.now ?? Date.now;
    this.currentSet = options.ruleSet;
    this.projection = options.ruleSet.projection;
    this.fleet = options.fleet ?? null;
    if (this.fleet !== null) {
      this.buffer = null;
      this.evaluator = this.createEvaluator(this.fleet);
      this.keepSet(options.ruleSet);
      return;
    }
    this.evaluator = null;
    const b = options.buffer;
    const pressure = createPressureLog(this.logger, b, this.now);
    this.pressure = pressure;
    this.buffer = new MemoryTraceBuffer<RuleSet>(
      {
        maxTraces: b.maxTraces,
        maxSpansPerTrace: b.maxSpansPerTrace,
        maxBytes: b.maxBytes,
        idleTimeoutMs: b.idleTimeoutMs,
        rootGraceMs: b.rootGraceMs,
        maxTraceAgeMs: b.maxTraceAgeMs,
        onEvict: b.onEvict,
        decidedCache: b.decidedCache,
        isLookedAt: (span, set) => isSpanLookedAt(set.projection, span.name),
        now: this.now,
      },
      {
        traceStarted: (set) => this.retainSet(set),
        traceCompleted: (trace) => this.onCompleted(trace),
        traceDropped: (_traceId, set) => {
          this.options.metrics.tracesEvicted.inc({ action: 'drop' });
          pressure.evicted('drop');
          this.releaseSet(set);
        },
      },
    );
  }

  /** The rule set that new traces start under. */
  get ruleSet(): RuleSet {
    return this.currentSet;
  }

  /** With the shared buffer: traces in the fleet's index, and spans of the traces this instance holds. */
  stats(): BufferStats {
    if (this.buffer !== null) return this.buffer.stats();
    const held = this.evaluator!.heldSpans;
    return { traces: this.fleet!.buffer.indexedTraces, spans: held, records: held, bytes: 0 };
  }

  /** Registers a listener for every batch of emitted spans. */
  onEmitted(listener: EmittedSpansListener): void {
    this.listeners.push(listener);
  }

  /**
   * Emits spans the processor writes about itself (rule-change evidence),
   * each in a trace of its own: signed, shown to the listeners and
   * exported like the spans of evaluated traces.
   */
  emitOwnSpans(spans: readonly EmittedSpan[]): void {
    if (spans.length > 0) void this.emit([...spans]);
  }

  /** Starts completing traces on their deadlines. */
  start(): void {
    if (this.evaluator !== null) {
      this.evaluator.start();
      return;
    }
    const b = this.options.buffer;
    const shortest = Math.min(b.idleTimeoutMs, b.rootGraceMs, b.maxTraceAgeMs);
    const tickMs = Math.max(MIN_TICK_MS, Math.min(MAX_TICK_MS, Math.floor(shortest / 4)));
    this.timer = setInterval(() => this.tick(), tickMs);
    this.timer.unref();
  }

  /**
   * Swaps in a new rule set for traces that start from now on; traces
   * already buffered finish under the set they started with.
   */
  setRuleSet(set: RuleSet): void {
    this.currentSet = set;
    if (this.fleet !== null) this.keepSet(set);
    this.updateProjection();
  }

  async ingest(request: Uint8Array, _transport: Transport, deadlineMs?: number): Promise<IngestResult> {
    if (this.stopping) {
      throw new IngestRefusedError('ERR_RECEIVER_SHUTTING_DOWN', 'the processor is shutting down', 0, {
        retryable: true,
      });
    }
    const batch = decodeTraceRequest(request, this.projection);
    const accepted = batch.total - batch.rejected;
    const exporter = this.options.exporter;
    if (this.buffer === null) {
      // Shared buffer: nothing is forwarded or acknowledged that Redis has not stored.
      if (batch.forward !== null && exporter?.queueEnabled === true && exporter.isFull()) throw queueFull(batch.total);
      this.countAdded(await this.storeShared(batch.traceIds, batch.spans, batch.total));
      if (batch.forward !== null && exporter !== null) await this.forward(batch.forward, accepted, batch.total, deadlineMs);
    } else {
      if (batch.forward !== null && exporter !== null) await this.forward(batch.forward, accepted, batch.total, deadlineMs);
      if (batch.spans.length > 0) this.countAdded(this.buffer.add(batch.traceIds, batch.spans, this.currentSet));
    }
    return { total: batch.total, rejected: batch.rejected, message: batch.rejectMessage };
  }

  /** Completes due traces and evaluates them; the timer calls it, tests may too. */
  tick(): void {
    if (this.evaluator !== null) {
      void this.evaluator.pass();
      return;
    }
    this.buffer!.tick();
    this.drain();
  }

  /** Stops taking data; later ingests are refused with a retryable error. */
  stopIntake(): void {
    this.stopping = true;
  }

  /**
   * Evaluates everything still buffered (trigger `shutdown`) and waits for
   * the sends of emitted spans that are in flight, up to the deadline.
   */
  async flush(deadlineMs: number): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    if (this.evaluator !== null) {
      // A fleet member evaluates what it holds and hands the rest back.
      await this.evaluator.stop(deadlineMs);
    } else {
      this.buffer!.flushAll('shutdown');
      this.drain();
    }
    const left = deadlineMs - this.now();
    if (this.sending.size > 0 && left > 0) {
      let timeout: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.allSettled([...this.sending]),
        new Promise((resolve) => {
          timeout = setTimeout(resolve, left);
        }),
      ]);
      clearTimeout(timeout);
    }
  }

  /** Forwards a request: queued, or with the queue disabled sent and accepted downstream. */
  private async forward(request: Uint8Array, spans: number, total: number, deadlineMs?: number): Promise<void> {
    const exporter = this.options.exporter!;
    if (!exporter.queueEnabled) {
      await this.forwardNow(request, spans, total, deadlineMs);
      return;
    }
    if (!exporter.offer(request, spans)) throw queueFull(total);
  }

  private storeShared(traceIds: readonly string[], spans: readonly SpanRecord[], total: number): Promise<AddResult> {
    const fleet = this.fleet!;
    const refusal = fleet.refusal();
    if (refusal !== null) return Promise.reject(new IngestRefusedError(refusal.code, refusal.message, total, { retryable: true }));
    if (spans.length === 0) return STORED_NOTHING;
    return fleet.buffer.store(traceIds, spans, toRuleSetKey(this.currentSet), this.now()).catch((err: unknown) => {
      const failure = fleet.storeFailure(err);
      throw new IngestRefusedError(failure.code, failure.message, total, { retryable: true, cause: err });
    });
  }

  private countAdded(added: AddResult): void {
    if (added.late > 0) this.options.metrics.lateSpans.inc(added.late);
    if (added.duplicates > 0) this.options.metrics.duplicateSpans.inc(added.duplicates);
  }

  private createEvaluator(fleet: PipelineFleet): FleetEvaluator {
    const b = this.options.buffer;
    const shortest = Math.min(b.idleTimeoutMs, b.rootGraceMs, b.maxTraceAgeMs);
    const metrics = this.options.metrics;
    return new FleetEvaluator({
      buffer: fleet.buffer,
      tickMs: Math.max(MIN_FLEET_TICK_MS, Math.min(MAX_FLEET_TICK_MS, Math.floor(shortest / 4))),
      ruleSetFor: (key) => {
        const set = this.keptSets.get(key);
        if (set !== undefined) return set;
        fleet.metrics.ruleSetFallbacks.inc();
        return this.currentSet;
      },
      evaluate: (trace, time) => {
        metrics.tracesCompleted.inc({ trigger: trace.trigger });
        return evaluateCompletedTrace(trace, time, metrics);
      },
      deliver: (spans) => this.emit(spans),
      isConnected: fleet.isConnected,
      logger: this.options.logger,
      now: this.now,
    });
  }

  /** Remembers a rule set under its fleet-wide key, forgetting the oldest past the bound. */
  private keepSet(set: RuleSet): void {
    const key = toRuleSetKey(set);
    this.keptSets.delete(key);
    this.keptSets.set(key, set);
    if (this.keptSets.size > MAX_KEPT_RULE_SETS) this.keptSets.delete(this.keptSets.keys().next().value!);
  }

  private async forwardNow(request: Uint8Array, spans: number, total: number, deadlineMs?: number): Promise<void> {
    try {
      // Past the sender's deadline it retries anyway, and a late success
      // would duplicate its data; giving up a little earlier lets the answer
      // (and its reason) reach the sender before it stops listening.
      const giveUpAt = deadlineMs === undefined ? undefined : deadlineMs - answerMargin(deadlineMs - Date.now());
      await this.options.exporter!.send(request, spans, { deadlineMs: giveUpAt });
    } catch (err) {
      const retryable = !(err instanceof BetraceError) || err.retryable;
      const reason = err instanceof Error ? err.message : String(err);
      throw new IngestRefusedError(
        retryable ? 'ERR_EXPORTER_SEND_FAILED' : 'ERR_EXPORTER_PERMANENT',
        `the downstream endpoint did not accept the data: ${reason}`,
        total,
        { retryable },
      );
    }
  }

  private onCompleted(trace: CompletedTrace<RuleSet>): void {
    this.options.metrics.tracesCompleted.inc({ trigger: trace.trigger });
    if (trace.trigger === 'evicted') {
      this.options.metrics.tracesEvicted.inc({ action: 'evaluate' });
      this.pressure?.evicted('evaluate');
    }
    this.completed.push(trace);
    this.releaseSet(trace.context);
    // Completions from inside ingest (span cap, eviction) are evaluated after
    // the request is handled, batched with any others of this turn.
    if (!this.drainScheduled) {
      this.drainScheduled = true;
      setImmediate(() => this.drain());
    }
  }

  private drain(): void {
    this.drainScheduled = false;
    if (this.completed.length === 0) return;
    const batch = this.completed;
    this.completed = [];
    const time = detectionTimeAt(this.now());
    const emitted: EmittedSpan[] = [];
    for (const trace of batch) {
      for (const span of evaluateCompletedTrace(trace, time, this.options.metrics)) emitted.push(span);
    }
    if (emitted.length > 0) void this.emit(emitted);
  }

  /**
   * Signs, shows and exports spans. Resolves to true once they are queued,
   * or with the queue disabled accepted downstream or refused for good
   * (logged); to false when sending failed but may work later (logged).
   * Never rejects.
   */
  private emit(spans: EmittedSpan[]): Promise<boolean> {
    const signed = this.options.signer?.sign(spans) ?? spans;
    for (const listener of this.listeners) listener(signed);
    const exporter = this.options.exporter;
    if (exporter === null) return HANDED_ON;
    if (signed.length <= MAX_SPANS_PER_EMITTED_REQUEST) return this.export(exporter, signed);
    // Many traces completing at once (a burst of deadlines, shutdown) must not
    // make one request larger than a downstream accepts.
    const parts: Promise<boolean>[] = [];
    for (let i = 0; i < signed.length; i += MAX_SPANS_PER_EMITTED_REQUEST) {
      parts.push(this.export(exporter, signed.slice(i, i + MAX_SPANS_PER_EMITTED_REQUEST)));
    }
    return Promise.all(parts).then((done) => done.every(Boolean));
  }

  private export(exporter: ExportSink, signed: readonly EmittedSpan[]): Promise<boolean> {
    const request = encodeSpansRequest(signed.map((e) => e.span), OWN_SCOPE, RESOURCE_EXTRA);
    // Spans the processor writes are few and must not be lost to a full
    // queue, so they are queued past its bound.
    if (exporter.queueEnabled) {
      exporter.offer(request, signed.length, { force: true });
      return HANDED_ON;
    }
    const sent = exporter.send(request, signed.length).then(() => true, (err: unknown) => {
      this.logger.warn({ err, spans: signed.length }, 'emitted spans not delivered');
      return err instanceof BetraceError && !err.retryable;
    });
    const tracked = sent.then(() => undefined);
    this.sending.add(tracked);
    void tracked.finally(() => this.sending.delete(tracked));
    return sent;
  }


  private retainSet(set: RuleSet): void {
    const count = this.liveSets.get(set) ?? 0;
    this.liveSets.set(set, count + 1);
    if (count === 0 && set !== this.currentSet) this.updateProjection();
  }

  private releaseSet(set: RuleSet): void {
    const count = (this.liveSets.get(set) ?? 1) - 1;
    if (count > 0) {
      this.liveSets.set(set, count);
      return;
    }
    this.liveSets.delete(set);
    if (set !== this.currentSet) this.updateProjection();
  }

  private updateProjection(): void {
    // With the shared buffer, spans stored here may be evaluated elsewhere
    // under any recent set, so they keep what each of those reads.
    const sets = new Set<RuleSet>(this.fleet === null ? this.liveSets.keys() : this.keptSets.values());
    sets.add(this.currentSet);
    this.projection = sets.size === 1
      ? this.currentSet.projection
      : mergeProjections([...sets].map((s) => s.projection));
  }
}

/** Time kept back from a sender's deadline for the answer's way back: a tenth of it, at most 200 ms. */
function answerMargin(remainingMs: number): number {
  return Math.min(200, Math.max(0, remainingMs / 10));
}

function queueFull(spans: number): IngestRefusedError {
  return new IngestRefusedError('ERR_RECEIVER_QUEUE_FULL', 'the exporter queue is full; retry later', spans, { retryable: true });
}
