/**
 * A violation as the violations API shows it: what the `betrace.violation`
 * span carries (PRODUCT.md 3), read from the span as emitted (signed when a
 * key is configured), in snake_case.
 */

import { readServiceName } from './resource-service-name';

import type { AttributeValue } from '../../proto/encode-spans';
import type { EmittedSpan } from '../emit/emitted-spans';

/** The compliance fields of a violation of a rule that declares them. */
export interface ViolationCompliance {
  readonly framework: string;
  readonly control?: string;
  readonly frameworks: readonly string[];
  readonly controls: readonly string[];
}

/** The signature attributes, when the span was signed. */
export interface ViolationSignature {
  readonly value: string;
  readonly algorithm: string;
  readonly key_id: string;
}

/** One stored violation. */
export interface ViolationRecord {
  /** `betrace.violation.id`: 32 hex characters. */
  readonly id: string;
  readonly trace_id: string;
  /** The violation span's own ID. */
  readonly span_id: string;
  /** The span it hangs under ('' when the trace had none to offer). */
  readonly parent_span_id: string;
  readonly rule_id: string;
  readonly rule_name: string;
  readonly severity: string;
  readonly message: string;
  readonly clause: string;
  readonly trigger: string;
  readonly span_ids: readonly string[];
  /** Detection time, RFC 3339 in UTC with milliseconds. */
  readonly detected_at: string;
  /** Detection time in nanoseconds since the epoch, as a decimal string. */
  readonly detected_at_unix_nano: string;
  /** `service.name` of the parent span's resource, when it has one. */
  readonly service_name?: string;
  readonly compliance?: ViolationCompliance;
  readonly signature?: ViolationSignature;
}

const NS_PER_MS = 1_000_000n;

/** The record of an emitted violation span. */
export function toViolationRecord(emitted: EmittedSpan): ViolationRecord {
  const span = emitted.span;
  const attrs = new Map<string, AttributeValue>(span.attributes);
  const text = (key: string, fallback = ''): string => {
    const v = attrs.get(key);
    return typeof v === 'string' ? v : fallback;
  };
  const list = (key: string): string[] => {
    const v = attrs.get(key);
    return Array.isArray(v) ? [...(v as readonly string[])] : [];
  };
  const record: { -readonly [K in keyof ViolationRecord]: ViolationRecord[K] } = {
    id: text('betrace.violation.id', emitted.recordId),
    trace_id: span.traceId,
    span_id: span.spanId,
    parent_span_id: span.parentSpanId,
    rule_id: text('betrace.violation.rule_id', emitted.rule.id),
    rule_name: text('betrace.violation.rule_name', emitted.rule.name),
    severity: text('betrace.violation.severity', emitted.rule.severity),
    message: text('betrace.violation.message'),
    clause: text('betrace.violation.clause'),
    trigger: text('betrace.violation.trigger', emitted.trigger),
    span_ids: list('betrace.violation.span_ids'),
    detected_at: new Date(Number(span.startNs / NS_PER_MS)).toISOString(),
    detected_at_unix_nano: span.startNs.toString(),
  };
  const service = readServiceName(span.resource);
  if (service !== null) record.service_name = service;
  const framework = attrs.get('compliance.framework');
  if (typeof framework === 'string') {
    const control = attrs.get('compliance.control');
    record.compliance = {
      framework,
      ...(typeof control === 'string' ? { control } : {}),
      frameworks: list('compliance.frameworks'),
      controls: list('compliance.controls'),
    };
  }
  const signature = attrs.get('betrace.signature');
  if (typeof signature === 'string') {
    record.signature = {
      value: signature,
      algorithm: text('betrace.signature.algorithm'),
      key_id: text('betrace.signature.key_id'),
    };
  }
  return record;
}
