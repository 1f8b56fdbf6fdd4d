/**
 * Traces for fleet tests, spread over the members span by span, and readers
 * of the verdicts a sink received. Trace i carries a payment whose amount,
 * fraud check and debug dump depend on i, so some traces break each rule
 * and some pass; the root span comes last.
 */

import { buildRequest, hexId, spansNamed } from '../helpers/otlp-build';

import type { TestSpan } from '../helpers/otlp-build';

/** Rules every member loads. */
export const FLEET_RULES = `rules:
  - id: high-value-checked
    severity: high
    compliance: [{ framework: SOC2, control: CC6.1 }]
    condition: |
      when { payment.process.where(payment.amount > 1000) }
      always { payment.fraud_check }
  - id: no-debug
    condition: when { payment.process } never { debug.dump }
`;

/** A rule every trace breaks, naming all its spans (up to 32), for loss checks. */
export const EVERY_SPAN_RULE = `rules:
  - id: every-span
    condition: when { step } always { missing.span }
`;

/** A trace as sent: its ID and spans in sending order. */
export interface TestTrace {
  readonly traceId: string;
  readonly spans: readonly TestSpan[];
}

/** One request of a round, for one member, with the spans it holds. */
export interface RoundRequest {
  readonly member: number;
  readonly request: Uint8Array;
  readonly spans: ReadonlyArray<{ readonly traceId: string; readonly spanId: string }>;
}

/** A verdict span as the sink got it. */
export interface ReceivedVerdict {
  readonly traceId: string;
  readonly ruleId: string;
  readonly spanId: string;
  /** `betrace.violation.span_ids`, sorted. */
  readonly cited: readonly string[];
}

/** Payment traces whose verdicts vary with their index. */
export function createPaymentTraces(count: number): TestTrace[] {
  const traces: TestTrace[] = [];
  for (let i = 0; i < count; i++) {
    const traceId = hexId(16);
    const rootId = hexId(8);
    const child = (name: string, attributes: Record<string, string | number> = {}): TestSpan => ({
      traceId, spanId: hexId(8), parentSpanId: rootId, name, attributes,
    });
    const spans: TestSpan[] = [child('payment.process', { 'payment.amount': i % 3 === 0 ? 2500 : 100 })];
    if (i % 2 === 0) spans.push(child('payment.fraud_check'));
    if (i % 5 === 0) spans.push(child('debug.dump'));
    for (let k = 0; k < i % 4; k++) spans.push(child('db.query'));
    spans.push({ traceId, spanId: rootId, name: 'checkout.order' });
    traces.push({ traceId, spans });
  }
  return traces;
}

/** Traces of `spansEach` spans named `step`, which EVERY_SPAN_RULE always flags. */
export function createStepTraces(count: number, spansEach: number): TestTrace[] {
  return Array.from({ length: count }, () => {
    const traceId = hexId(16);
    return { traceId, spans: Array.from({ length: spansEach }, () => ({ traceId, spanId: hexId(8), name: 'step' })) };
  });
}

/**
 * Round r holds span r of every trace; each span goes to member
 * (trace index + r) mod `members`, so the spans of one trace land on
 * different members. One request per member per round.
 */
export function toRounds(traces: readonly TestTrace[], members: number): RoundRequest[][] {
  const rounds: RoundRequest[][] = [];
  const longest = Math.max(...traces.map((t) => t.spans.length));
  for (let r = 0; r < longest; r++) {
    const byMember: TestSpan[][] = Array.from({ length: members }, () => []);
    traces.forEach((trace, i) => {
      const span = trace.spans[r];
      if (span !== undefined) byMember[(i + r) % members].push(span);
    });
    rounds.push(byMember.flatMap((spans, member) => spans.length === 0 ? [] : [{
      member,
      request: buildRequest([{ resource: { 'service.name': 'shop' }, spans }]),
      spans: spans.map((s) => ({ traceId: s.traceId, spanId: s.spanId })),
    }]));
  }
  return rounds;
}

/** Every verdict span of `name` in what the sink received (copies included). */
export function receivedVerdicts(requests: readonly Uint8Array[], name = 'betrace.violation'): ReceivedVerdict[] {
  return spansNamed(requests, name).map((s) => ({
    traceId: String(s.span.traceId),
    ruleId: String(s.attributes['betrace.violation.rule_id'] ?? s.attributes['compliance.rule_id']),
    spanId: String(s.span.spanId),
    cited: ((s.attributes['betrace.violation.span_ids'] as string[] | undefined) ?? []).slice().sort(),
  }));
}

/** Verdicts keyed `trace/rule`, with the spans they cite. */
export function byTraceAndRule(verdicts: readonly ReceivedVerdict[]): Map<string, readonly string[]> {
  const out = new Map<string, readonly string[]>();
  for (const v of verdicts) out.set(`${v.traceId}/${v.ruleId}`, v.cited);
  return new Map([...out].sort(([a], [b]) => (a < b ? -1 : 1)));
}
