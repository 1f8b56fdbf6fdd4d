/**
 * The main job: takes decoded OTLP requests from the receivers, forwards
 * them downstream at once, buffers span projections per trace, evaluates
 * each completed trace under the rule set it started with, and emits
 * violation and evidence spans through the same exporter.
 */

import { mergeProjections } from '../dsl/trace-model';
import { decodeTraceRequest } from '../proto/decode-request';
import { encodeSpansRequest } from '../proto/encode-spans';
import { MemoryTraceBuffer } from './buffer/memory-buffer';
import { detectionTimeAt } from './emit/emitted-spans';
import { BetraceError } from './errors';
import { evaluateCompletedTrace } from './evaluate/trace-evaluator';
import { PRODUCT_VERSION } from './paths';
import { IngestRefusedError } from './receiver/ingest';

import type { RuleSet } from '../dsl/rule-set';
import type { Projection } from '../dsl/trace-model';
import type { BufferConfig } from '../config/types';
import type { BufferStats, CompletedTrace } from './buffer/types';
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

export interface PipelineOptions {
  readonly buffer: BufferConfig;
  readonly ruleSet: RuleSet;
  /** Null when only the console exporter is configured. */
  readonly exporter: ExportSink | null;
  readonly metrics: PipelineMetrics;
  readonly logger: Logger;
  readonly signer?: EmittedSpanSigner;
  /** Milliseconds since the epoch; injectable for tests. */
  readonly now?: () => number;
}

/** Tick bounds: fast enough for low latency after a deadline, slow enough to cost nothing idle. */
const MIN_TICK_MS = 2;
const MAX_TICK_MS = 50;

export class Pipeline implements TraceIngest {
  private readonly options: PipelineOptions;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly buffer: MemoryTraceBuffer<RuleSet>;
  private readonly listeners: EmittedSpansListener[] = [];
  /** Traces in the buffer per rule set, so decoding keeps what every live set needs. */
  private readonly liveSets = new Map<RuleSet, number>();
  private currentSet: RuleSet;
  private projection: Projection;
  private completed: CompletedTrace<RuleSet>[] = [];
  private drainScheduled = false;
  private readonly sending = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | null = null;
  private stopping = false;

  constructor(options: PipelineOptions) {
    this.options = options;
    this.logger = options.logger.child({ component: 'pipeline' });
    this.now = options.now ?? Date.now;
    this.currentSet = options.ruleSet;
    this.projection = options.ruleSet.projection;
    const b = options.buffer;
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
        now: this.now,
      },
      {
        traceStarted: (set) => this.retainSet(set),
        traceCompleted: (trace) => this.onCompleted(trace),
        traceDropped: (_traceId, set) => {
          this.options.metrics.tracesEvicted.inc({ action: 'drop' });
          this.releaseSet(set);
        },
      },
    );
  }

  /** The rule set that new traces start under. */
  get ruleSet(): RuleSet {
    return this.currentSet;
  }

  stats(): BufferStats {
    return this.buffer.stats();
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
    if (spans.length > 0) this.emit([...spans]);
  }

  /** Starts completing traces on their deadlines. */
  start(): void {
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
    this.updateProjection();
  }

  async ingest(request: Uint8Array, _transport: Transport): Promise<IngestResult> {
    if (this.stopping) {
      throw new IngestRefusedError('ERR_RECEIVER_SHUTTING_DOWN', 'the processor is shutting down', 0, {
        retryable: true,
      });
    }
    const batch = decodeTraceRequest(request, this.projection);
    const accepted = batch.total - batch.rejected;
    const exporter = this.options.exporter;
    if (batch.forward !== null && exporter !== null) {
      if (exporter.queueEnabled) {
        if (!exporter.offer(batch.forward, accepted)) {
          throw new IngestRefusedError(
            'ERR_RECEIVER_QUEUE_FULL',
            'the exporter queue is full; retry later',
            batch.total,
            { retryable: true },
          );
        }
      } else {
        await this.forwardNow(batch.forward, accepted, batch.total);
      }
    }
    if (batch.spans.length > 0) {
      const added = this.buffer.add(batch.traceIds, batch.spans, this.currentSet);
      if (added.late > 0) this.options.metrics.lateSpans.inc(added.late);
      if (added.duplicates > 0) this.options.metrics.duplicateSpans.inc(added.duplicates);
    }
    return { total: batch.total, rejected: batch.rejected, message: batch.rejectMessage };
  }

  /** Completes due traces and evaluates them; the timer calls it, tests may too. */
  tick(): void {
    this.buffer.tick();
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
    this.buffer.flushAll('shutdown');
    this.drain();
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

  private async forwardNow(request: Uint8Array, spans: number, total: number): Promise<void> {
    try {
      await this.options.exporter!.send(request, spans);
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
    if (trace.trigger === 'evicted') this.options.metrics.tracesEvicted.inc({ action: 'evaluate' });
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
    let emitted: EmittedSpan[] = [];
    for (const trace of batch) {
      const spans = evaluateCompletedTrace(trace, time, this.options.metrics);
      if (spans.length > 0) emitted = emitted.concat(spans);
    }
    if (emitted.length > 0) this.emit(emitted);
  }

  private emit(spans: EmittedSpan[]): void {
    const signed = this.options.signer?.sign(spans) ?? spans;
    for (const listener of this.listeners) listener(signed);
    const exporter = this.options.exporter;
    if (exporter === null) return;
    const request = encodeSpansRequest(signed.map((e) => e.span), OWN_SCOPE, RESOURCE_EXTRA);
    // Spans the processor writes are few and must not be lost to a full
    // queue, so they are queued past its bound.
    if (exporter.queueEnabled) {
      exporter.offer(request, signed.length, { force: true });
      return;
    }
    const sent = exporter.send(request, signed.length).catch((err: unknown) => {
      this.logger.warn({ err, spans: signed.length }, 'emitted spans not delivered');
    });
    this.sending.add(sent);
    void sent.finally(() => this.sending.delete(sent));
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
    const sets = new Set<RuleSet>(this.liveSets.keys());
    sets.add(this.currentSet);
    this.projection = sets.size === 1
      ? this.currentSet.projection
      : mergeProjections([...sets].map((s) => s.projection));
  }
}
