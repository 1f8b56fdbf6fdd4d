/**
 * Violation and evidence spans built by the processor's own span builders,
 * from a hand-made rule and verdict, so that the signing tests sign exactly
 * what the pipeline would.
 */

import { EMPTY_PROJECTION, createTraceView } from '../../dsl/trace-model';
import { buildEvidenceSpan, buildViolationSpan, detectionTimeAt } from '../../processor/emit/emitted-spans';

import type { CompiledRule, Verdict } from '../../dsl/rule';
import type { SpanRecord } from '../../dsl/trace-model';
import type { EmittedSpan } from '../../processor/emit/emitted-spans';

export const SAMPLE_TRACE_ID = '0af7651916cd43dd8448eb211c80319c';

function spanRecord(spanId: string, name: string, startNs: number, isRoot: boolean): SpanRecord {
  return {
    spanId,
    name,
    isRoot,
    startNs,
    durationNs: 1_000_000,
    status: 0,
    kind: 2,
    attrs: null,
    resource: { attrs: null, raw: null },
  };
}

function sampleRule(): CompiledRule {
  const program = {
    indexNames: ['payment.charge'],
    projection: EMPTY_PROJECTION,
    evaluate: () => 'violation' as const,
    explain: (): Verdict => {
      throw new Error('not used');
    },
  };
  return {
    id: 'payment-fraud-check',
    name: 'High-value payments need a fraud check',
    description: '',
    severity: 'HIGH',
    enabled: true,
    dialect: 'current',
    condition: 'when { payment.charge } always { payment.fraud_check }',
    complianceFrameworks: [],
    compliance: [{ framework: 'SOC2', control: 'CC7.2' }],
    tags: [],
    program,
  };
}

/** One violation span and one evidence span for the same rule and trace. */
export function sampleEmittedSpans(epochMs = 1_700_000_000_123): EmittedSpan[] {
  const root = spanRecord('b7ad6b7169203331', 'checkout', 1e18, true);
  const charge = spanRecord('00f067aa0ba902b7', 'payment.charge', 1e18 + 5e6, false);
  const view = createTraceView(SAMPLE_TRACE_ID, [root, charge]);
  const verdict: Verdict = {
    outcome: 'violation',
    clause: 'always',
    whenSpans: [charge],
    neverSpans: [],
    failure: 'required "payment.fraud_check" not found',
  };
  const rule = sampleRule();
  const time = detectionTimeAt(epochMs);
  return [
    buildViolationSpan(rule, verdict, view, 'idle', time),
    buildEvidenceSpan(rule, verdict, view, 'idle', time),
  ];
}
