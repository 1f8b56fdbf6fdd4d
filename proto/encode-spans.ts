/**
 * Encodes the spans the processor creates (violations, compliance evidence)
 * as one ExportTraceServiceRequest: one ResourceSpans per distinct resource,
 * each with one ScopeSpans. Field numbers: proto/otlp/trace.proto.
 */

import { BetraceError } from '../processor/errors';
import { ProtoWriter, WIRE_FIXED64, WIRE_LEN, WIRE_VARINT } from './proto-writer';
import { WireReader } from './wire-reader';

/** An attribute value: number is a double, bigint an int64, a string list an array of strings. */
export type AttributeValue = string | boolean | number | bigint | readonly string[];

/** A span to encode. */
export interface OutputSpan {
  /** 32 hex characters. */
  readonly traceId: string;
  /** 16 hex characters. */
  readonly spanId: string;
  /** 16 hex characters, or '' for none. */
  readonly parentSpanId: string;
  readonly name: string;
  /** OTLP span kind (1 internal ... 5 consumer). */
  readonly kind: number;
  /** Nanoseconds since the Unix epoch. */
  readonly startNs: bigint;
  readonly endNs: bigint;
  /** OTLP status code (0 unset, 1 ok, 2 error). */
  readonly statusCode: number;
  readonly statusMessage: string;
  readonly attributes: ReadonlyArray<readonly [string, AttributeValue]>;
  /** The `Resource` message bytes (ResourceRecord.raw), or null for none. */
  readonly resource: Uint8Array | null;
}

/** The instrumentation scope the spans are written under. */
export interface OutputScope {
  readonly name: string;
  readonly version: string;
}

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const UINT64_MAX = (1n << 64n) - 1n;
const HEX_32 = /^[0-9a-fA-F]{32}$/;
const HEX_16 = /^[0-9a-fA-F]{16}$/;

interface ResourceGroup {
  readonly resource: Uint8Array | null;
  readonly spans: OutputSpan[];
}

/**
 * Encodes the spans. Spans with byte-equal resources share one
 * ResourceSpans (first appearance order); `resourceExtra` is added to every
 * resource, replacing an attribute of the same key, and a null resource
 * becomes one holding only the extras. Throws ERR_PROTO_ENCODE_VALUE for an
 * ID that is not hex of the right length or an integer outside its range.
 */
export function encodeSpansRequest(
  spans: readonly OutputSpan[],
  scope: OutputScope,
  resourceExtra: ReadonlyArray<readonly [string, AttributeValue]>,
): Uint8Array {
  const groups = groupByResource(spans);
  const w = new ProtoWriter(512 * Math.max(1, spans.length));
  const extraKeys = resourceExtra.map(([k]) => Buffer.from(k, 'utf8'));
  for (const group of groups) {
    w.tag(1, WIRE_LEN);
    const rsMark = w.begin();
    w.tag(1, WIRE_LEN);
    const resMark = w.begin();
    if (group.resource !== null) copyResourceWithout(w, group.resource, extraKeys);
    for (const [key, value] of resourceExtra) writeKeyValue(w, 1, key, value);
    w.end(resMark);
    w.tag(2, WIRE_LEN);
    const ssMark = w.begin();
    writeScope(w, scope);
    for (const span of group.spans) writeSpan(w, span);
    w.end(ssMark);
    w.end(rsMark);
  }
  return w.finish();
}

function groupByResource(spans: readonly OutputSpan[]): ResourceGroup[] {
  const groups: ResourceGroup[] = [];
  // Spans of one trace usually share the very same resource object; the
  // byte key is only built for objects not seen yet.
  const byObject = new Map<Uint8Array | null, ResourceGroup>();
  const byBytes = new Map<string, ResourceGroup>();
  for (const span of spans) {
    let group = byObject.get(span.resource);
    if (group === undefined) {
      const raw = span.resource;
      const key =
        raw === null
          ? ''
          : `r${Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('latin1')}`;
      group = byBytes.get(key);
      if (group === undefined) {
        group = { resource: span.resource, spans: [] };
        byBytes.set(key, group);
        groups.push(group);
      }
      byObject.set(span.resource, group);
    }
    group.spans.push(span);
  }
  return groups;
}

/** Copies a Resource message's fields, leaving out attributes with one of `dropKeys`. */
function copyResourceWithout(w: ProtoWriter, raw: Uint8Array, dropKeys: readonly Buffer[]): void {
  const r = new WireReader(raw);
  const end = raw.length;
  for (let start = r.pos, key = r.tag(end); key !== 0; start = r.pos, key = r.tag(end)) {
    if (key === 0x0a && dropKeys.length > 0) {
      const kvEnd = r.lengthEnd(end);
      const drop = hasKey(r, kvEnd, dropKeys);
      r.pos = kvEnd;
      if (drop) continue;
    } else {
      r.skip(key, end);
    }
    w.raw(raw, start, r.pos);
  }
}

function hasKey(r: WireReader, end: number, keys: readonly Buffer[]): boolean {
  let found = false;
  for (let key = r.tag(end); key !== 0; key = r.tag(end)) {
    if (key !== 0x0a) {
      r.skip(key, end);
      continue;
    }
    const keyEnd = r.lengthEnd(end);
    const len = keyEnd - r.pos;
    // The last key field wins, as for any repeated scalar occurrence.
    const bytes = Buffer.from(r.buf.buffer, r.buf.byteOffset + r.pos, len);
    found = keys.some((k) => k.length === len && bytes.equals(k));
    r.pos = keyEnd;
  }
  return found;
}

function writeScope(w: ProtoWriter, scope: OutputScope): void {
  w.tag(1, WIRE_LEN);
  const mark = w.begin();
  if (scope.name !== '') {
    w.tag(1, WIRE_LEN);
    w.string(scope.name);
  }
  if (scope.version !== '') {
    w.tag(2, WIRE_LEN);
    w.string(scope.version);
  }
  w.end(mark);
}

function writeSpan(w: ProtoWriter, span: OutputSpan): void {
  w.tag(2, WIRE_LEN);
  const mark = w.begin();
  w.tag(1, WIRE_LEN);
  w.bytes(toIdBytes(span.traceId, HEX_32, 'trace ID'));
  w.tag(2, WIRE_LEN);
  w.bytes(toIdBytes(span.spanId, HEX_16, 'span ID'));
  if (span.parentSpanId !== '') {
    w.tag(4, WIRE_LEN);
    w.bytes(toIdBytes(span.parentSpanId, HEX_16, 'parent span ID'));
  }
  if (span.name !== '') {
    w.tag(5, WIRE_LEN);
    w.string(span.name);
  }
  if (span.kind !== 0) {
    w.tag(6, WIRE_VARINT);
    w.int32(span.kind);
  }
  writeTime(w, 7, span.startNs, 'start');
  writeTime(w, 8, span.endNs, 'end');
  for (const [key, value] of span.attributes) writeKeyValue(w, 9, key, value);
  if (span.statusCode !== 0 || span.statusMessage !== '') {
    w.tag(15, WIRE_LEN);
    const statusMark = w.begin();
    if (span.statusMessage !== '') {
      w.tag(2, WIRE_LEN);
      w.string(span.statusMessage);
    }
    if (span.statusCode !== 0) {
      w.tag(3, WIRE_VARINT);
      w.int32(span.statusCode);
    }
    w.end(statusMark);
  }
  w.end(mark);
}

function writeTime(w: ProtoWriter, field: number, ns: bigint, what: string): void {
  if (ns < 0n || ns > UINT64_MAX) {
    throw new BetraceError(
      'ERR_PROTO_ENCODE_VALUE',
      `span ${what} time ${ns} is outside 0..2^64-1`,
    );
  }
  if (ns === 0n) return;
  w.tag(field, WIRE_FIXED64);
  w.fixed64(ns);
}

function toIdBytes(hex: string, pattern: RegExp, what: string): Buffer {
  if (!pattern.test(hex)) {
    const digits = pattern === HEX_32 ? 32 : 16;
    throw new BetraceError(
      'ERR_PROTO_ENCODE_VALUE',
      `${what} ${JSON.stringify(hex)} is not ${digits} hex characters`,
    );
  }
  return Buffer.from(hex, 'hex');
}

function writeKeyValue(w: ProtoWriter, field: number, key: string, value: AttributeValue): void {
  w.tag(field, WIRE_LEN);
  const mark = w.begin();
  w.tag(1, WIRE_LEN);
  w.string(key);
  w.tag(2, WIRE_LEN);
  const valueMark = w.begin();
  if (typeof value === 'string') {
    w.tag(1, WIRE_LEN);
    w.string(value);
  } else if (typeof value === 'boolean') {
    w.tag(2, WIRE_VARINT);
    w.uint32(value ? 1 : 0);
  } else if (typeof value === 'number') {
    w.tag(4, WIRE_FIXED64);
    w.double(value);
  } else if (typeof value === 'bigint') {
    if (value < INT64_MIN || value > INT64_MAX) {
      throw new BetraceError(
        'ERR_PROTO_ENCODE_VALUE',
        `attribute ${JSON.stringify(key)}: ${value} is outside int64`,
      );
    }
    w.tag(3, WIRE_VARINT);
    w.varint64(value);
  } else {
    w.tag(5, WIRE_LEN);
    const arrayMark = w.begin();
    for (const item of value) {
      w.tag(1, WIRE_LEN);
      const itemMark = w.begin();
      w.tag(1, WIRE_LEN);
      w.string(item);
      w.end(itemMark);
    }
    w.end(arrayMark);
  }
  w.end(valueMark);
  w.end(mark);
}
