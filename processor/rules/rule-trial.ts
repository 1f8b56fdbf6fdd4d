/**
 * Runs one rule on a sample trace for `POST /v1/rules/test`: a trace in the
 * rule-file example shape, or an OTLP/JSON export request (each trace of it
 * judged apart). Nothing is saved and nothing is emitted.
 */

import { parseExampleTrace, toTraceView } from '../../dsl/example-trace';
import { createTraceView } from '../../dsl/trace-model';
import { decodeTraceRequest } from '../../proto/decode-request';
import { encodeOtlpJsonValue } from '../../proto/otlp-json';
import { AdminError, toApiDiagnostic } from '../admin/admin-error';
import { BetraceError } from '../betrace-error';

import type { FailedClause, Outcome, Program, Verdict } from '../../dsl/rule';
import type { SpanRecord, TraceView } from '../../dsl/trace-model';

/** A span that made the rule's `when` hold, or that matched a failed `never`. */
export interface TrialSpan {
  readonly span_id: string;
  readonly name: string;
  readonly role: 'when' | 'never';
  /** Position in the example's `trace` list (example input only). */
  readonly index?: number;
}

/** The verdict on one trace. */
export interface TrialTrace {
  readonly trace_id: string;
  readonly outcome: Outcome;
  readonly clause: FailedClause | null;
  /** What failed, readable; '' unless the outcome is a violation. */
  readonly failure: string;
  readonly matched_spans: readonly TrialSpan[];
}

/**
 * The answer: the verdict on the trace that decides (the first violating
 * trace, else the first), and every trace's verdict.
 */
export interface TrialResult extends TrialTrace {
  readonly traces: readonly TrialTrace[];
  /** OTLP spans refused as malformed (bad IDs, invalid UTF-8); never judged. */
  readonly rejected_spans: number;
}

/** Judges an example-shape trace (`[{span, attributes, ...}, ...]`). */
export function runExampleTrial(program: Program, trace: unknown): TrialResult {
  if (!Array.isArray(trace)) {
    throw new AdminError(400, 'ERR_ADMIN_BAD_TRACE', 'trace must be a list of spans such as [{"span": "NAME", "attributes": {...}}]');
  }
  const read = parseExampleTrace({ trace }, '<trace>');
  if (read.example === null) {
    const first = read.diagnostics[0];
    throw new AdminError(400, 'ERR_ADMIN_BAD_TRACE', `the sample trace is not valid: ${first?.message ?? 'unreadable'}`, {
      diagnostics: read.diagnostics.map((d) => toApiDiagnostic(d, 'trace')),
    });
  }
  let view: TraceView;
  try {
    view = toTraceView(read.example);
  } catch (err) {
    if (err instanceof BetraceError) throw new AdminError(400, 'ERR_ADMIN_BAD_TRACE', `the sample trace is not valid: ${err.message}`);
    throw err;
  }
  const positions = new Map(view.spans.map((s, i) => [s.spanId, i]));
  const judged = judge(program, view, positions);
  return { ...judged, traces: [judged], rejected_spans: 0 };
}

/** Judges every trace of an OTLP/JSON ExportTraceServiceRequest. */
export function runOtlpTrial(program: Program, otlp: unknown): TrialResult {
  if (otlp === null || typeof otlp !== 'object' || Array.isArray(otlp)) {
    throw new AdminError(400, 'ERR_ADMIN_BAD_TRACE', 'otlp must be an ExportTraceServiceRequest object ({"resourceSpans": [...]})');
  }
  let bytes: Uint8Array;
  let batch: ReturnType<typeof decodeTraceRequest>;
  try {
    bytes = encodeOtlpJsonValue(otlp);
    batch = decodeTraceRequest(bytes, program.projection);
  } catch (err) {
    if (err instanceof BetraceError) throw new AdminError(400, 'ERR_ADMIN_BAD_TRACE', `the OTLP/JSON trace is not valid: ${err.message}`);
    throw err;
  }
  const byTrace = new Map<string, SpanRecord[]>();
  batch.spans.forEach((span, i) => {
    const traceId = batch.traceIds[i];
    const list = byTrace.get(traceId);
    if (list === undefined) byTrace.set(traceId, [span]);
    else list.push(span);
  });
  if (byTrace.size === 0) {
    throw new AdminError(400, 'ERR_ADMIN_BAD_TRACE', 'the OTLP/JSON request holds no span to judge');
  }
  const traces = [...byTrace].map(([traceId, spans]) => judge(program, createTraceView(traceId, spans)));
  const deciding = traces.find((t) => t.outcome === 'violation') ?? traces[0];
  return { ...deciding, traces, rejected_spans: batch.rejected };
}

function judge(program: Program, view: TraceView, positions?: ReadonlyMap<string, number>): TrialTrace {
  const verdict: Verdict = program.explain(view);
  const matched: TrialSpan[] = [];
  const add = (spans: readonly SpanRecord[], role: 'when' | 'never'): void => {
    for (const s of spans) {
      const index = positions?.get(s.spanId);
      matched.push(index === undefined ? { span_id: s.spanId, name: s.name, role } : { span_id: s.spanId, name: s.name, role, index });
    }
  };
  add(verdict.whenSpans, 'when');
  add(verdict.neverSpans, 'never');
  return {
    trace_id: view.traceId,
    outcome: verdict.outcome,
    clause: verdict.clause,
    failure: verdict.failure,
    matched_spans: matched,
  };
}
