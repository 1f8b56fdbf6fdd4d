/** Shapes shared by the trace buffers and the pipeline. */

import type { SpanRecord } from '../../dsl/trace-model';

/** What completed a trace (`betrace.violation.trigger`, PRODUCT.md 3). */
export type CompletionTrigger = 'idle' | 'root' | 'max_age' | 'span_cap' | 'evicted' | 'shutdown';

export const COMPLETION_TRIGGERS: readonly CompletionTrigger[] = [
  'idle', 'root', 'max_age', 'span_cap', 'evicted', 'shutdown',
];

/** A trace handed over for evaluation; `context` is what it carried from its first span. */
export interface CompletedTrace<C> {
  readonly traceId: string;
  readonly spans: readonly SpanRecord[];
  readonly context: C;
  readonly trigger: CompletionTrigger;
}

/** What adding one request's spans did. */
export interface AddResult {
  readonly buffered: number;
  /** Spans of traces already decided: forwarded, never evaluated. */
  readonly late: number;
  /** Spans whose span ID was already in their trace. */
  readonly duplicates: number;
}

export interface BufferStats {
  readonly traces: number;
  /** Spans received into the traces still waiting, whether their records are kept or not. */
  readonly spans: number;
  /** Span records kept (the spans rules read, plus a root and earliest span per trace). */
  readonly records: number;
  /** Estimated bytes of the kept records. */
  readonly bytes: number;
}

/** Callbacks from a buffer to the pipeline; all synchronous. */
export interface BufferEvents<C> {
  /** A new trace began under `context`. */
  traceStarted(context: C): void;
  /** A trace is complete and must be evaluated. */
  traceCompleted(trace: CompletedTrace<C>): void;
  /** A trace was evicted under `on_evict: drop`; it is not evaluated. */
  traceDropped(traceId: string, context: C, spans: number): void;
}
