/**
 * The `compliance.evidence` span of a change made through the rules API
 * (PRODUCT.md 4): SOC 2 CC8.1, change management. Each change is a trace of
 * its own, a single root span written by the processor about itself.
 */

import { randomBytes } from 'node:crypto';

import { ProtoWriter, WIRE_LEN } from '../../proto/proto-writer';
import { EVIDENCE_SPAN_NAME } from '../emit/emitted-spans';

import type { AttributeValue, OutputSpan } from '../../proto/encode-spans';
import type { EmittedSpan } from '../emit/emitted-spans';
import type { RuleChange } from '../rules/rule-manager';

/** SOC 2, in the lower-case form of `compliance.framework`. */
export const RULE_CHANGE_FRAMEWORK = 'soc2';
/** SOC 2 CC8.1: changes are authorised, recorded and tested. */
export const RULE_CHANGE_CONTROL = 'CC8.1';
/** `compliance.evidence_type` of rule-change evidence (rule evaluation writes `trace_rule`). */
export const RULE_CHANGE_EVIDENCE_TYPE = 'rule_change';

const SPAN_KIND_INTERNAL = 1;
const STATUS_UNSET = 0;
const NS_PER_MS = 1_000_000n;

/**
 * The processor's own resource: `service.name` is `betrace`, so that the
 * evidence can be found by service like any other telemetry. Encoded once.
 */
const OWN_RESOURCE = encodeServiceResource('betrace');

/** Sources of randomness and time, injectable for tests. */
export interface EvidenceClock {
  readonly nowMs: () => number;
  readonly randomId: (bytes: number) => string;
}

const DEFAULT_CLOCK: EvidenceClock = {
  nowMs: Date.now,
  randomId: (bytes) => randomBytes(bytes).toString('hex'),
};

/** The evidence span of one rule change. */
export function buildRuleChangeEvidence(change: RuleChange, clock: EvidenceClock = DEFAULT_CLOCK): EmittedSpan {
  const startNs = BigInt(Math.floor(clock.nowMs())) * NS_PER_MS;
  const attributes: Array<readonly [string, AttributeValue]> = [
    ['compliance.framework', RULE_CHANGE_FRAMEWORK],
    ['compliance.control', RULE_CHANGE_CONTROL],
    ['compliance.frameworks', [RULE_CHANGE_FRAMEWORK]],
    ['compliance.controls', [RULE_CHANGE_CONTROL]],
    ['compliance.outcome', change.action],
    ['compliance.rule_id', change.rule.id],
    ['compliance.evidence_type', RULE_CHANGE_EVIDENCE_TYPE],
    ['betrace.rule_change.source', change.source],
    ['betrace.rule_change.file', change.file],
  ];
  if (change.previousEtag !== null) attributes.push(['betrace.rule_change.previous_etag', change.previousEtag]);
  if (change.etag !== null) attributes.push(['betrace.rule_change.etag', change.etag]);
  const span: OutputSpan = {
    traceId: nonZeroId(clock, 16),
    spanId: nonZeroId(clock, 8),
    parentSpanId: '',
    name: EVIDENCE_SPAN_NAME,
    kind: SPAN_KIND_INTERNAL,
    startNs,
    endNs: startNs + NS_PER_MS,
    statusCode: STATUS_UNSET,
    statusMessage: '',
    attributes,
    resource: OWN_RESOURCE,
  };
  // The trace is complete as written: its one span is its root.
  return { kind: 'evidence', span, rule: change.rule, trigger: 'root', recordId: nonZeroId(clock, 16) };
}

/** OTLP forbids all-zero trace and span IDs. */
function nonZeroId(clock: EvidenceClock, bytes: number): string {
  for (;;) {
    const id = clock.randomId(bytes);
    if (/[^0]/.test(id)) return id;
  }
}

function encodeServiceResource(serviceName: string): Uint8Array {
  // Resource { attributes (1): KeyValue { key (1), value (2): AnyValue { string_value (1) } } }
  const w = new ProtoWriter(64);
  w.tag(1, WIRE_LEN);
  const kv = w.begin();
  w.tag(1, WIRE_LEN);
  w.string('service.name');
  w.tag(2, WIRE_LEN);
  const value = w.begin();
  w.tag(1, WIRE_LEN);
  w.string(serviceName);
  w.end(value);
  w.end(kv);
  return w.finish();
}
