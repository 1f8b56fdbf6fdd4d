/**
 * What the selective decoder must produce for a request, worked out from an
 * independent full decode (protobufjs reflection) and the text-form rules of
 * DSL.md 2.2 and 13, written out plainly here.
 */

import { decodeRequestFull } from '../helpers/otlp-decode';

import type { Projection } from '../../dsl/trace-model';
import type { PlainMessage } from '../helpers/otlp-decode';

/** A span record as plain data (the resource by value). */
export interface ExpectedSpan {
  traceId: string;
  spanId: string;
  name: string;
  isRoot: boolean;
  startNs: number;
  durationNs: number;
  status: number;
  kind: number;
  attrs: string[] | null;
  resourceAttrs: string[] | null;
}

const MEMBERS = ['stringValue', 'boolValue', 'intValue', 'doubleValue', 'arrayValue', 'kvlistValue', 'bytesValue'];

function memberOf(value: PlainMessage | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  // protobufjs keeps only the last oneof member it read.
  for (const m of MEMBERS) if (value[m] !== undefined && value[m] !== null) return m;
  return null;
}

/** The text form of an attribute value; undefined for an empty value. */
export function textOf(value: PlainMessage | null | undefined): string | undefined {
  const member = memberOf(value);
  if (member === null) return undefined;
  const v = (value as PlainMessage)[member];
  switch (member) {
    case 'stringValue':
      return v;
    case 'boolValue':
      return v ? 'true' : 'false';
    case 'intValue':
      return String(v);
    case 'doubleValue':
      return String(v);
    case 'bytesValue':
      return v;
    default:
      return jsonOf(value);
  }
}

function jsonOf(value: PlainMessage | null | undefined): string {
  const member = memberOf(value);
  if (member === null) return 'null';
  const v = (value as PlainMessage)[member];
  switch (member) {
    case 'stringValue':
    case 'bytesValue':
      return JSON.stringify(v);
    case 'doubleValue':
      return Number.isFinite(v) ? String(v) : `"${String(v)}"`;
    case 'arrayValue':
      return `[${(v.values as PlainMessage[]).map(jsonOf).join(',')}]`;
    case 'kvlistValue':
      return `{${(v.values as PlainMessage[]).map((kv) => `${JSON.stringify(kv.key)}:${jsonOf(kv.value)}`).join(',')}}`;
    default:
      return String(textOf(value));
  }
}

/** Projected attributes as `[key, text, ...]` in projection order; last occurrence wins. */
export function projectAttrs(attributes: PlainMessage[], keys: ReadonlySet<string>): string[] | null {
  const found = new Map<string, string | undefined>();
  for (const kv of attributes) if (keys.has(kv.key)) found.set(kv.key, textOf(kv.value));
  const out: string[] = [];
  for (const key of keys) {
    const text = found.get(key);
    if (text !== undefined) out.push(key, text);
  }
  return out.length === 0 ? null : out;
}

function isZeroHex(hex: string): boolean {
  return /^0*$/.test(hex);
}

/** Records of every span a valid request holds, except those of scope "betrace". */
export function expectedSpans(bytes: Uint8Array, projection: Projection): ExpectedSpan[] {
  const request = decodeRequestFull(bytes);
  const out: ExpectedSpan[] = [];
  for (const rs of request.resourceSpans as PlainMessage[]) {
    const resourceAttrs = rs.resource === null ? null : projectAttrs(rs.resource.attributes, projection.resourceAttributes);
    for (const ss of rs.scopeSpans as PlainMessage[]) {
      if (ss.scope !== null && ss.scope.name === 'betrace') continue;
      for (const span of ss.spans as PlainMessage[]) {
        const start = BigInt(span.startTimeUnixNano);
        const end = BigInt(span.endTimeUnixNano);
        out.push({
          traceId: span.traceId,
          spanId: span.spanId,
          name: span.name,
          isRoot: isZeroHex(span.parentSpanId),
          startNs: Number(start),
          durationNs: start === 0n || end === 0n || end < start ? -1 : Number(end - start),
          status: span.status === null ? 0 : span.status.code,
          kind: span.kind,
          attrs: projectAttrs(span.attributes, projection.spanAttributes),
          resourceAttrs,
        });
      }
    }
  }
  return out;
}

/** The decoder's output in the same plain shape. */
export function actualSpans(batch: {
  traceIds: readonly string[];
  spans: ReadonlyArray<{
    spanId: string;
    name: string;
    isRoot: boolean;
    startNs: number;
    durationNs: number;
    status: number;
    kind: number;
    attrs: readonly string[] | null;
    resource: { attrs: readonly string[] | null };
  }>;
}): ExpectedSpan[] {
  return batch.spans.map((s, i) => ({
    traceId: batch.traceIds[i],
    spanId: s.spanId,
    name: s.name,
    isRoot: s.isRoot,
    startNs: s.startNs,
    durationNs: s.durationNs,
    status: s.status,
    kind: s.kind,
    attrs: s.attrs === null ? null : [...s.attrs],
    resourceAttrs: s.resource.attrs === null ? null : [...s.resource.attrs],
  }));
}

/** Every attribute key (span and resource) that a request uses, for a projection that takes all. */
export function allKeys(bytes: Uint8Array): Projection {
  const request = decodeRequestFull(bytes);
  const spanAttributes = new Set<string>();
  const resourceAttributes = new Set<string>();
  for (const rs of request.resourceSpans as PlainMessage[]) {
    for (const kv of rs.resource?.attributes ?? []) resourceAttributes.add(kv.key);
    for (const ss of rs.scopeSpans as PlainMessage[]) {
      for (const span of ss.spans as PlainMessage[]) for (const kv of span.attributes) spanAttributes.add(kv.key);
    }
  }
  return { spanAttributes, resourceAttributes, spanNames: null };
}
