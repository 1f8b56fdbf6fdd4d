/**
 * Hand-built OTLP requests for tests that need exact control over IDs,
 * times, scopes and attributes, and readers of what a sink received.
 */

import { encodeRequestFull, otlpType } from './otlp-decode';

import type { PlainMessage } from './otlp-decode';

export interface TestSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly name: string;
  readonly kind?: number;
  /** Nanoseconds since the epoch. */
  readonly startNs?: bigint;
  readonly endNs?: bigint;
  readonly attributes?: Readonly<Record<string, string | number | boolean>>;
  readonly status?: { readonly code: number; readonly message?: string };
}

export interface TestBlock {
  readonly resource?: Readonly<Record<string, string>>;
  readonly scope?: { readonly name: string; readonly version?: string };
  readonly spans: readonly TestSpan[];
}

const BASE_NS = 1_750_000_000_000_000_000n;

function toAnyValue(value: string | number | boolean): PlainMessage {
  if (typeof value === 'string') return { stringValue: value };
  if (typeof value === 'boolean') return { boolValue: value };
  return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value };
}

function toKeyValues(attrs: Readonly<Record<string, string | number | boolean>> | undefined): PlainMessage[] {
  return Object.entries(attrs ?? {}).map(([key, value]) => ({ key, value: toAnyValue(value) }));
}

/** Encodes one ExportTraceServiceRequest from blocks of spans (one ResourceSpans each). */
export function buildRequest(blocks: readonly TestBlock[]): Uint8Array {
  return encodeRequestFull({
    resourceSpans: blocks.map((block) => ({
      resource: block.resource === undefined ? undefined : { attributes: toKeyValues(block.resource) },
      scopeSpans: [{
        scope: block.scope ?? { name: 'test-scope', version: '1.0.0' },
        spans: block.spans.map((s, i) => {
          const start = s.startNs ?? BASE_NS + BigInt(i) * 1_000_000n;
          return {
            traceId: Buffer.from(s.traceId, 'hex'),
            spanId: Buffer.from(s.spanId, 'hex'),
            parentSpanId: s.parentSpanId === undefined ? undefined : Buffer.from(s.parentSpanId, 'hex'),
            name: s.name,
            kind: s.kind ?? 1,
            startTimeUnixNano: String(start),
            endTimeUnixNano: String(s.endNs ?? start + 5_000_000n),
            attributes: toKeyValues(s.attributes),
            status: s.status,
          };
        }),
      }],
    })),
  });
}

/** A span as the tests read it back: the decoded span with its resource and scope. */
export interface ReceivedSpan {
  readonly span: PlainMessage;
  readonly resource: PlainMessage | null;
  readonly scope: PlainMessage | null;
  /** Attributes as a plain map of decoded AnyValues. */
  readonly attributes: Record<string, unknown>;
  readonly resourceAttributes: Record<string, unknown>;
}

/** The value of a decoded AnyValue as plain data (int64 as a decimal string, bytes base64). */
export function anyValueOf(value: PlainMessage | null | undefined): unknown {
  if (value === null || value === undefined || value.value === undefined) return undefined;
  const field = value.value as string;
  if (field === 'arrayValue') return ((value.arrayValue.values ?? []) as PlainMessage[]).map(anyValueOf);
  if (field === 'kvlistValue') {
    return Object.fromEntries(((value.kvlistValue.values ?? []) as PlainMessage[]).map((kv) => [kv.key, anyValueOf(kv.value)]));
  }
  return value[field];
}

const REQUEST_TYPE = 'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest';

function hexOf(base64: unknown): string {
  return typeof base64 === 'string' ? Buffer.from(base64, 'base64').toString('hex') : '';
}

/** Decodes a request keeping which oneof member is set; IDs become hex. */
function decodeForReading(bytes: Uint8Array): PlainMessage {
  const type = otlpType(REQUEST_TYPE);
  const plain = type.toObject(type.decode(bytes), {
    longs: String, enums: Number, bytes: String, defaults: false, arrays: true, oneofs: true,
  }) as PlainMessage;
  for (const rs of plain.resourceSpans as PlainMessage[]) {
    for (const ss of (rs.scopeSpans ?? []) as PlainMessage[]) {
      for (const span of (ss.spans ?? []) as PlainMessage[]) {
        span.traceId = hexOf(span.traceId);
        span.spanId = hexOf(span.spanId);
        span.parentSpanId = hexOf(span.parentSpanId);
      }
    }
  }
  return plain;
}

function toAttributeMap(kvs: PlainMessage[] | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const kv of kvs ?? []) out[kv.key as string] = anyValueOf(kv.value);
  return out;
}

/** Every span of every request, decoded. */
export function receivedSpans(requests: readonly Uint8Array[]): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const bytes of requests) {
    const request = decodeForReading(bytes);
    for (const rs of request.resourceSpans as PlainMessage[]) {
      for (const ss of (rs.scopeSpans ?? []) as PlainMessage[]) {
        for (const span of (ss.spans ?? []) as PlainMessage[]) {
          out.push({
            span,
            resource: rs.resource ?? null,
            scope: ss.scope ?? null,
            attributes: toAttributeMap(span.attributes),
            resourceAttributes: toAttributeMap(rs.resource?.attributes),
          });
        }
      }
    }
  }
  return out;
}

/** Spans of a given name among what a sink received. */
export function spansNamed(requests: readonly Uint8Array[], name: string): ReceivedSpan[] {
  return receivedSpans(requests).filter((s) => s.span.name === name);
}

let counter = 0;

/** A hex ID of `bytes` bytes, distinct per call and never all zero. */
export function hexId(bytes: 8 | 16): string {
  counter++;
  return `f${counter.toString(16).padStart(bytes * 2 - 1, '0')}`;
}
