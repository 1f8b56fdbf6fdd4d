/**
 * A minimal walk over the spans of an ExportTraceServiceRequest, for the
 * end-to-end benchmark's load generator and sink. It reads only the nesting
 * (resource_spans → scope_spans → spans) and skips every other field by its
 * wire type, so it costs a few varint reads per span and allocates nothing.
 */

/** Wire types of the protobuf encoding. */
const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const FIXED32 = 5;

/** Field numbers on the path down to a span, and inside a span. */
const REQUEST_RESOURCE_SPANS = 1;
const RESOURCE_SCOPE_SPANS = 2;
const SCOPE_SPANS = 2;
const SPAN_TRACE_ID = 1;
const SPAN_NAME = 5;
/** start_time_unix_nano: fixed64, so its key byte is (7 << 3) | 1. */
const SPAN_START_KEY = 0x39;

/** Where one field of a message lies: its value bytes are `[start, end)`. */
export interface FieldRange {
  readonly start: number;
  readonly end: number;
}

/** Receives the byte range `[start, end)` of each span message, in order. */
export type SpanVisitor = (start: number, end: number) => void;

/** Calls `visit` for every span of the request; throws on malformed bytes. */
export function walkSpans(request: Uint8Array, visit: SpanVisitor): void {
  forEachLenField(request, 0, request.length, REQUEST_RESOURCE_SPANS, (rs, rsEnd) => {
    forEachLenField(request, rs, rsEnd, RESOURCE_SCOPE_SPANS, (ss, ssEnd) => {
      forEachLenField(request, ss, ssEnd, SCOPE_SPANS, visit);
    });
  });
}

/** The first length-delimited field `field` of the message in `[start, end)`, or null. */
export function findLenField(
  bytes: Uint8Array,
  start: number,
  end: number,
  field: number,
): FieldRange | null {
  let found: FieldRange | null = null;
  forEachLenField(bytes, start, end, field, (s, e) => {
    found ??= { start: s, end: e };
  });
  return found;
}

/** The trace ID bytes of the span in `[start, end)`, or null when it has none. */
export function findTraceId(bytes: Uint8Array, start: number, end: number): FieldRange | null {
  return findLenField(bytes, start, end, SPAN_TRACE_ID);
}

/** The name of the span in `[start, end)` ('' when absent). */
export function readSpanName(bytes: Uint8Array, start: number, end: number): string {
  const range = findLenField(bytes, start, end, SPAN_NAME);
  if (range === null) return '';
  return Buffer.from(bytes.buffer, bytes.byteOffset + range.start, range.end - range.start).toString('utf8');
}

/**
 * The start time of the span in `[start, end)` in epoch milliseconds
 * (fractional; exact to well under a microsecond), or NaN when absent.
 */
export function readSpanStartMs(bytes: Uint8Array, start: number, end: number): number {
  let pos = start;
  while (pos < end) {
    const tag = readVarint(bytes, pos);
    pos = tag.next;
    const wireType = tag.value & 7;
    if (tag.value === SPAN_START_KEY) {
      const view = Buffer.from(bytes.buffer, bytes.byteOffset + pos, 8);
      return Number(view.readBigUInt64LE(0)) / 1e6;
    }
    if (wireType === VARINT) pos = readVarint(bytes, pos).next;
    else if (wireType === FIXED64) pos += 8;
    else if (wireType === FIXED32) pos += 4;
    else if (wireType === LEN) {
      const length = readVarint(bytes, pos);
      pos = length.next + length.value;
    } else {
      throw new Error(`unsupported wire type ${wireType} at byte ${pos}`);
    }
  }
  return Number.NaN;
}

function forEachLenField(
  bytes: Uint8Array,
  start: number,
  end: number,
  field: number,
  visit: (start: number, end: number) => void,
): void {
  let pos = start;
  while (pos < end) {
    const tag = readVarint(bytes, pos);
    pos = tag.next;
    const wireType = tag.value & 7;
    const number = Math.floor(tag.value / 8);
    if (wireType === VARINT) {
      pos = readVarint(bytes, pos).next;
    } else if (wireType === FIXED64) {
      pos += 8;
    } else if (wireType === FIXED32) {
      pos += 4;
    } else if (wireType === LEN) {
      const length = readVarint(bytes, pos);
      const valueEnd = length.next + length.value;
      if (valueEnd > end) throw new Error(`field ${number} overruns its message at byte ${pos}`);
      if (number === field) visit(length.next, valueEnd);
      pos = valueEnd;
    } else {
      throw new Error(`unsupported wire type ${wireType} at byte ${pos}`);
    }
  }
  if (pos !== end) throw new Error(`message ends inside a field at byte ${end}`);
}

/** Reused result of readVarint, so the walk allocates nothing per field. */
const varint = { value: 0, next: 0 };

function readVarint(bytes: Uint8Array, start: number): { value: number; next: number } {
  let value = 0;
  let scale = 1;
  let pos = start;
  for (;;) {
    if (pos >= bytes.length) throw new Error(`truncated varint at byte ${start}`);
    const byte = bytes[pos++];
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) break;
    scale *= 128;
  }
  varint.value = value;
  varint.next = pos;
  return varint;
}
