/**
 * The in-memory trace window (`buffer.type: memory`): spans grouped per trace
 * in an LRU by last activity, completed by the triggers of PRODUCT.md
 * section 1.3 and handed to the pipeline for evaluation.
 *
 * Deadlines cost O(1) per span: the LRU order is the idle order, and traces
 * enter two FIFOs (by first span, and by root span) whose heads are the next
 * max-age and root-grace deadlines. No timer per trace.
 */

import { LRUCache } from 'lru-cache';

import { Fifo } from './fifo';

import type { SpanRecord } from '../../dsl/trace-model';
import type {
  AddResult,
  BufferEvents,
  BufferStats,
  CompletedTrace,
  CompletionTrigger,
} from './types';

/** Above this many spans a trace tracks its span IDs in a Set; below, a scan is cheaper. */
const DUPLICATE_SCAN_LIMIT = 32;

export interface MemoryBufferOptions<C = unknown> {
  readonly maxTraces: number;
  readonly maxSpansPerTrace: number;
  readonly maxBytes: number;
  readonly idleTimeoutMs: number;
  readonly rootGraceMs: number;
  readonly maxTraceAgeMs: number;
  readonly onEvict: 'evaluate' | 'drop';
  readonly decidedCache: { readonly maxTraces: number; readonly ttlMs: number };
  /**
   * Whether the rules of a trace's context read this span. Spans they do not
   * read are counted (for the span cap) but not kept, except the trace's
   * first root span and its earliest span, which a violation may hang under.
   * Absent: every span is kept.
   */
  readonly isLookedAt?: (span: SpanRecord, context: C) => boolean;
  /** Milliseconds; injectable so tests drive time. */
  readonly now?: () => number;
}

interface TraceEntry<C> {
  readonly traceId: string;
  readonly context: C;
  /** Spans the rules read. */
  readonly spans: SpanRecord[];
  /** Of the spans the rules do not read: the first root, and the earliest. */
  root: SpanRecord | null;
  earliest: SpanRecord | null;
  /** Every span received, kept or not (for max_spans_per_trace). */
  received: number;
  ids: Set<string> | null;
  readonly firstSeenMs: number;
  lastSeenMs: number;
  /** When the first root span arrived; -1 before. */
  rootSeenMs: number;
  bytes: number;
  /** Set once completed, so FIFO entries left behind are skipped. */
  done: boolean;
}

/** Rough heap cost of a span record, for `max_bytes_mib`. */
export function estimateSpanBytes(span: SpanRecord): number {
  // Object with nine fields, its span ID string, two boxed doubles and the
  // trace's array slot; names and keys are shared strings.
  let bytes = 200;
  const attrs = span.attrs;
  if (attrs !== null) {
    bytes += 32 + 8 * attrs.length;
    for (let i = 1; i < attrs.length; i += 2) bytes += 24 + attrs[i].length;
  }
  return bytes;
}

/** The memory trace buffer; `C` is what each trace carries (its rule set). */
export class MemoryTraceBuffer<C> {
  private readonly options: MemoryBufferOptions<C>;
  private readonly events: BufferEvents<C>;
  private readonly now: () => number;
  private readonly traces: LRUCache<string, TraceEntry<C>>;
  private readonly decided: LRUCache<string, true>;
  private readonly byAge = new Fifo<TraceEntry<C>>();
  private readonly byRoot = new Fifo<TraceEntry<C>>();
  /** Records kept, and spans received, over the traces in the window. */
  private recordCount = 0;
  private receivedCount = 0;
  private byteCount = 0;

  constructor(options: MemoryBufferOptions<C>, events: BufferEvents<C>) {
    this.options = options;
    this.events = events;
    this.now = options.now ?? Date.now;
    this.traces = new LRUCache({ max: options.maxTraces });
    this.decided = new LRUCache({
      max: options.decidedCache.maxTraces,
      ttl: options.decidedCache.ttlMs,
      // The decided cache is consulted only for traces not in the window,
      // so its TTL check on lookup is cheap enough; no purge timer needed.
      ttlAutopurge: false,
    });
  }

  stats(): BufferStats {
    return {
      traces: this.traces.size,
      spans: this.receivedCount,
      records: this.recordCount,
      bytes: this.byteCount,
    };
  }

  /**
   * Adds the spans of one request. New traces take `context`. Completions
   * that adding causes (span cap, eviction) are reported synchronously.
   */
  add(traceIds: readonly string[], spans: readonly SpanRecord[], context: C): AddResult {
    const now = this.now();
    let buffered = 0;
    let late = 0;
    let duplicates = 0;
    let last: TraceEntry<C> | undefined;
    let capped: TraceEntry<C>[] | null = null;
    const isLookedAt = this.options.isLookedAt;
    for (let i = 0, n = spans.length; i < n; i++) {
      const traceId = traceIds[i];
      // Spans of one trace usually come together; skip the lookup then.
      let entry = last !== undefined && last.traceId === traceId && !last.done
        ? last
        : this.traces.get(traceId);
      if (entry === undefined) {
        if (this.decided.has(traceId)) {
          late++;
          continue;
        }
        entry = this.createEntry(traceId, context, now);
      }
      last = entry;
      const span = spans[i];
      if (isLookedAt !== undefined && !isLookedAt(span, entry.context)) {
        this.noteUnread(entry, span, now);
      } else if (this.isDuplicate(entry, span.spanId)) {
        duplicates++;
        continue;
      } else {
        this.append(entry, span, now);
      }
      buffered++;
      this.receivedCount++;
      if (++entry.received === this.options.maxSpansPerTrace) (capped ??= []).push(entry);
    }
    // A trace at its cap completes once the request is in: the rest of the
    // same request is already decoded, and leaving it out would judge the
    // trace without spans that arrived together with the others.
    if (capped !== null) for (const entry of capped) this.complete(entry, 'span_cap');
    this.evictOverBytes();
    return { buffered, late, duplicates };
  }

  /** Completes every trace whose deadline has passed. */
  tick(): void {
    const now = this.now();
    const { rootGraceMs, idleTimeoutMs, maxTraceAgeMs } = this.options;
    this.drainFifo(this.byRoot, (t) => t.rootSeenMs + rootGraceMs <= now, 'root');
    const idle: TraceEntry<C>[] = [];
    for (const entry of this.traces.rvalues()) {
      if (entry === undefined) continue;
      if (entry.lastSeenMs + idleTimeoutMs > now) break;
      idle.push(entry);
    }
    for (const entry of idle) this.complete(entry, 'idle');
    this.drainFifo(this.byAge, (t) => t.firstSeenMs + maxTraceAgeMs <= now, 'max_age');
  }

  /** The next time tick() may have work, for callers that schedule it. */
  earliestDeadline(): number {
    let next = Infinity;
    const oldest = this.oldest();
    if (oldest !== undefined) next = oldest.lastSeenMs + this.options.idleTimeoutMs;
    const root = this.liveHead(this.byRoot);
    if (root !== undefined) next = Math.min(next, root.rootSeenMs + this.options.rootGraceMs);
    const aged = this.liveHead(this.byAge);
    if (aged !== undefined) next = Math.min(next, aged.firstSeenMs + this.options.maxTraceAgeMs);
    return next;
  }

  /** Completes every buffered trace with the given trigger (shutdown). */
  flushAll(trigger: CompletionTrigger): void {
    const all = [...this.traces.rvalues()];
    for (const entry of all) if (entry !== undefined) this.complete(entry, trigger);
    this.byAge.clear();
    this.byRoot.clear();
  }

  /** True when the trace was decided and its later spans count as late. */
  isDecided(traceId: string): boolean {
    return this.decided.has(traceId);
  }

  private createEntry(traceId: string, context: C, now: number): TraceEntry<C> {
    if (this.traces.size >= this.options.maxTraces) this.evictOldest();
    const entry: TraceEntry<C> = {
      traceId,
      context,
      spans: [],
      root: null,
      earliest: null,
      received: 0,
      ids: null,
      firstSeenMs: now,
      lastSeenMs: now,
      rootSeenMs: -1,
      bytes: 0,
      done: false,
    };
    this.traces.set(traceId, entry);
    this.byAge.push(entry);
    this.events.traceStarted(context);
    return entry;
  }

  private isDuplicate(entry: TraceEntry<C>, spanId: string): boolean {
    if (entry.ids !== null) return entry.ids.has(spanId);
    const spans = entry.spans;
    for (let i = 0, n = spans.length; i < n; i++) {
      if (spans[i].spanId === spanId) return true;
    }
    return false;
  }

  /** Keeps of an unread span only what a violation's parent choice may need. */
  private noteUnread(entry: TraceEntry<C>, span: SpanRecord, now: number): void {
    entry.lastSeenMs = now;
    let kept: SpanRecord | null = null;
    let dropped: SpanRecord | null = null;
    if (span.isRoot) {
      if (entry.root === null) kept = entry.root = span;
      this.noteRoot(entry, now);
    }
    if (entry.earliest === null || span.startNs < entry.earliest.startNs) {
      dropped = entry.earliest;
      kept = entry.earliest = span;
    }
    if (kept !== null) this.account(entry, kept, 1);
    if (dropped !== null && dropped !== entry.root) this.account(entry, dropped, -1);
  }

  private account(entry: TraceEntry<C>, span: SpanRecord, sign: 1 | -1): void {
    const bytes = estimateSpanBytes(span) * sign;
    entry.bytes += bytes;
    this.byteCount += bytes;
    this.recordCount += sign;
  }

  private append(entry: TraceEntry<C>, span: SpanRecord, now: number): void {
    entry.spans.push(span);
    if (entry.ids !== null) {
      entry.ids.add(span.spanId);
    } else if (entry.spans.length > DUPLICATE_SCAN_LIMIT) {
      entry.ids = new Set(entry.spans.map((s) => s.spanId));
    }
    entry.lastSeenMs = now;
    if (span.isRoot) this.noteRoot(entry, now);
    this.account(entry, span, 1);
  }

  /** Starts the root-grace clock at the trace's first root span. */
  private noteRoot(entry: TraceEntry<C>, now: number): void {
    if (entry.rootSeenMs >= 0) return;
    entry.rootSeenMs = now;
    this.byRoot.push(entry);
  }

  private oldest(): TraceEntry<C> | undefined {
    for (const entry of this.traces.rvalues()) {
      if (entry !== undefined) return entry;
    }
    return undefined;
  }

  private evictOldest(): void {
    const oldest = this.oldest();
    if (oldest !== undefined) this.evict(oldest);
  }

  private evictOverBytes(): void {
    while (this.byteCount > this.options.maxBytes && this.traces.size > 0) {
      this.evictOldest();
    }
  }

  private evict(entry: TraceEntry<C>): void {
    if (this.options.onEvict === 'evaluate') {
      this.complete(entry, 'evicted');
      return;
    }
    this.remove(entry);
    this.events.traceDropped(entry.traceId, entry.context, entry.spans.length);
  }

  private complete(entry: TraceEntry<C>, trigger: CompletionTrigger): void {
    if (entry.done) return;
    this.remove(entry);
    const completed: CompletedTrace<C> = {
      traceId: entry.traceId,
      spans: withParentCandidates(entry),
      context: entry.context,
      trigger,
    };
    this.events.traceCompleted(completed);
  }

  private remove(entry: TraceEntry<C>): void {
    entry.done = true;
    this.traces.delete(entry.traceId);
    this.decided.set(entry.traceId, true);
    this.recordCount -= keptCount(entry);
    this.receivedCount -= entry.received;
    this.byteCount -= entry.bytes;
    entry.ids = null;
  }

  private drainFifo(
    fifo: Fifo<TraceEntry<C>>,
    isDue: (entry: TraceEntry<C>) => boolean,
    trigger: CompletionTrigger,
  ): void {
    for (;;) {
      const head = fifo.peek();
      if (head === undefined) return;
      if (!head.done && !isDue(head)) return;
      fifo.shift();
      this.complete(head, trigger);
    }
  }

  private liveHead(fifo: Fifo<TraceEntry<C>>): TraceEntry<C> | undefined {
    for (;;) {
      const head = fifo.peek();
      if (head === undefined || !head.done) return head;
      fifo.shift();
    }
  }
}

function keptCount(entry: TraceEntry<unknown>): number {
  let n = entry.spans.length;
  if (entry.root !== null) n++;
  if (entry.earliest !== null && entry.earliest !== entry.root) n++;
  return n;
}

/** The spans the rules read, plus the unread root and earliest span when there are such. */
function withParentCandidates(entry: TraceEntry<unknown>): readonly SpanRecord[] {
  if (entry.root === null && entry.earliest === null) return entry.spans;
  const spans = entry.spans.slice();
  if (entry.root !== null) spans.push(entry.root);
  if (entry.earliest !== null && entry.earliest !== entry.root) spans.push(entry.earliest);
  return spans;
}
