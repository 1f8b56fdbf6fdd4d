/**
 * Builds the `betrace.violation` and `compliance.evidence` spans of
 * PRODUCT.md sections 3 and 4 from a rule's verdict on a trace.
 */

import { toCompliancePairs } from './compliance-pairs';
import { deriveIds } from './derived-ids';
import { chooseParentSpan } from './parent-span';

import type { CompiledRule, Verdict } from '../../dsl/rule';
import type { TraceView } from '../../dsl/trace-model';
import type { AttributeValue, OutputSpan } from '../../proto/encode-spans';
import type { CompletionTrigger } from '../buffer/types';
import type { EmittedKind } from './derived-ids';

export const VIOLATION_SPAN_NAME = 'betrace.violation';
export const EVIDENCE_SPAN_NAME = 'compliance.evidence';

/** At most this many span IDs go into `betrace.violation.span_ids`. */
export const MAX_CITED_SPANS = 32;

const SPAN_KIND_INTERNAL = 1;
const STATUS_UNSET = 0;
const STATUS_ERROR = 2;
const NS_PER_MS = 1_000_000n;

type Attributes = Array<readonly [string, AttributeValue]>;

/** A span the processor emits, with what produced it (for the console and the violations store). */
export interface EmittedSpan {
  readonly kind: EmittedKind;
  readonly span: OutputSpan;
  readonly rule: CompiledRule;
  readonly trigger: CompletionTrigger;
  /** `betrace.violation.id` for violations; the evidence record ID otherwise. */
  readonly recordId: string;
}

/** When detection happened, as the 1 ms span's start and end. */
export interface DetectionTime {
  readonly startNs: bigint;
  readonly endNs: bigint;
}

export function detectionTimeAt(epochMs: number): DetectionTime {
  const startNs = BigInt(Math.floor(epochMs)) * NS_PER_MS;
  return { startNs, endNs: startNs + NS_PER_MS };
}

function citedSpanIds(verdict: Verdict): string[] {
  const spans = verdict.clause === 'never' || verdict.clause === 'both'
    ? [...verdict.whenSpans, ...verdict.neverSpans].sort((a, b) => a.startNs - b.startNs)
    : verdict.whenSpans;
  const ids: string[] = [];
  for (const span of spans) {
    if (ids.length === MAX_CITED_SPANS) break;
    if (!ids.includes(span.spanId)) ids.push(span.spanId);
  }
  return ids;
}

function pushComplianceAttributes(attributes: Attributes, rule: CompiledRule): boolean {
  const { frameworks, controls } = toCompliancePairs(rule);
  if (frameworks.length === 0) return false;
  attributes.push(['compliance.framework', frameworks[0]]);
  if (controls[0] !== '') attributes.push(['compliance.control', controls[0]]);
  attributes.push(['compliance.frameworks', frameworks]);
  // Parallel to the frameworks, '' where a framework came without a control;
  // left out when no control was declared at all.
  if (controls.some((c) => c !== '')) attributes.push(['compliance.controls', controls]);
  return true;
}

function baseSpan(
  view: TraceView,
  verdict: Verdict,
  ids: { spanId: string },
  name: string,
  time: DetectionTime,
  attributes: Attributes,
  status: { code: number; message: string },
): OutputSpan {
  const parent = chooseParentSpan(verdict, view);
  return {
    traceId: view.traceId,
    spanId: ids.spanId,
    parentSpanId: parent?.spanId ?? '',
    name,
    kind: SPAN_KIND_INTERNAL,
    startNs: time.startNs,
    endNs: time.endNs,
    statusCode: status.code,
    statusMessage: status.message,
    attributes,
    resource: parent?.resource.raw ?? null,
  };
}

/** The violation span for a verdict whose outcome is `violation`. */
export function buildViolationSpan(
  rule: CompiledRule,
  verdict: Verdict,
  view: TraceView,
  trigger: CompletionTrigger,
  time: DetectionTime,
): EmittedSpan {
  const ids = deriveIds(view.traceId, rule.id, 'violation');
  const message = `${rule.name}: ${verdict.failure}`;
  const attributes: Attributes = [
    ['betrace.violation', true],
    ['betrace.violation.id', ids.recordId],
    ['betrace.violation.rule_id', rule.id],
    ['betrace.violation.rule_name', rule.name],
    ['betrace.violation.severity', rule.severity],
    ['betrace.violation.message', message],
    ['betrace.violation.trace_id', view.traceId],
    ['betrace.violation.clause', verdict.clause ?? 'condition'],
    ['betrace.violation.trigger', trigger],
    ['betrace.violation.span_ids', citedSpanIds(verdict)],
  ];
  pushComplianceAttributes(attributes, rule);
  const severe = rule.severity === 'CRITICAL' || rule.severity === 'HIGH';
  const status = severe ? { code: STATUS_ERROR, message } : { code: STATUS_UNSET, message: '' };
  const span = baseSpan(view, verdict, ids, VIOLATION_SPAN_NAME, time, attributes, status);
  return { kind: 'violation', span, rule, trigger, recordId: ids.recordId };
}

/** The evidence span for a rule that declares compliance, on a trace where `when` held. */
export function buildEvidenceSpan(
  rule: CompiledRule,
  verdict: Verdict,
  view: TraceView,
  trigger: CompletionTrigger,
  time: DetectionTime,
): EmittedSpan {
  const ids = deriveIds(view.traceId, rule.id, 'evidence');
  const attributes: Attributes = [];
  pushComplianceAttributes(attributes, rule);
  attributes.push(
    ['compliance.outcome', verdict.outcome === 'violation' ? 'fail' : 'pass'],
    ['compliance.rule_id', rule.id],
    ['compliance.evidence_type', 'trace_rule'],
  );
  const status = { code: STATUS_UNSET, message: '' };
  const span = baseSpan(view, verdict, ids, EVIDENCE_SPAN_NAME, time, attributes, status);
  return { kind: 'evidence', span, rule, trigger, recordId: ids.recordId };
}
