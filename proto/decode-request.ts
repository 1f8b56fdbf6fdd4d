/**
 * The selective OTLP trace decoder: reads an ExportTraceServiceRequest on its
 * raw bytes and keeps only what rules need (PERF-NOTES.md): one compact
 * SpanRecord per span, attribute texts of projected keys only. Attribute keys
 * are compared as bytes, so keys and values no rule names never become
 * strings, and no decoded tree is built. Field numbers are those of
 * proto/otlp/*.proto, written here as wire keys (field * 8 + wire type).
 *
 * Speed: span fields are read in one loop over locals; attributes and
 * events in the layout encoders write are recognised and checked by
 * plain-layout.ts without the general readers, which run only for other
 * layouts, non-ASCII strings and malformed bytes, and decide those; texts
 * and keys are compared and hashed as 32-bit words (byte-words.ts). The
 * part named in error messages is noted only around the general readers,
 * the only nested readers that can fail.
 */

import { isUtf8 } from 'node:buffer';

import { LRUCache } from 'lru-cache';

import { DURATION_MISSING } from '../dsl/trace-model';
import { BetraceError } from '../processor/errors';
import { hashBytes, isSameWords, toWords } from './byte-words';
import { toDoubleText } from './double-text';
import { MAX_MESSAGE_DEPTH } from './otlp-schema';
import {
  isAscii,
  isPlainEvent,
  isPlainKeyValue,
  plainBodyStart,
  plainValueStart,
} from './plain-layout';
import { ProtoWriter } from './proto-writer';
import { toInt64Text } from './wire-reader';

import type { Projection, ResourceRecord, SpanRecord } from '../dsl/trace-model';

/** What a request holds for the buffer, and what to forward. */
export interface DecodedBatch {
  /** Per buffered span, its trace ID (32 lower-case hex). Same length as spans. */
  readonly traceIds: string[];
  readonly spans: SpanRecord[];
  /** Spans in the request. */
  readonly total: number;
  /** Spans not buffered because their instrumentation scope name is "betrace" (still forwarded). */
  readonly ownSpans: number;
  /**
   * Spans rejected (all-zero or wrong-length trace/span ID, invalid UTF-8 in
   * any string of the span); not forwarded.
   */
  readonly rejected: number;
  /**
   * Why, for the partial-success error_message (first few reasons, with
   * their positions); '' when none.
   */
  readonly rejectMessage: string;
  /**
   * What to forward: the input bytes themselves (same object) when nothing
   * was rejected; the request re-stitched from raw slices without the
   * rejected spans otherwise (empty scopes/resources dropped); null when no
   * span is left.
   */
  readonly forward: Uint8Array | null;
}

/** Scope name of the processor's own spans, which are forwarded but never buffered. */
export const OWN_SCOPE_NAME = 'betrace';

/** Rejection reasons spelled out in `rejectMessage`; the rest are counted. */
const MAX_REASONS = 5;
/** Distinct resources remembered per projection, so steady senders share records. */
const RESOURCE_CACHE_SIZE = 256;
/** Span names remembered (direct-mapped by hash; a power of two). */
const NAME_CACHE_SIZE = 4096;
/** Projected string values remembered (direct-mapped by hash; a power of two). */
const VALUE_CACHE_SIZE = 4096;
/** Texts longer than this are decoded every time rather than cached. */
const TEXT_CACHE_MAX_BYTES = 128;
/** Trace IDs remembered (direct-mapped by their first bytes; a power of two). */
const TRACE_ID_CACHE_SIZE = 1024;

const TWO_POW_32 = 4294967296;
const OWN_SCOPE_BYTES = Buffer.from(OWN_SCOPE_NAME, 'latin1');
const NO_VALUE = undefined;

// Wire keys (field number * 8 + wire type) of the fields read here.
const K1_LEN = 0x0a;
const K2_LEN = 0x12;
const K3_LEN = 0x1a;
const K4_LEN = 0x22;

/**
 * Expected wire types by field number, per message: a known field arriving
 * with another wire type makes the request malformed; fields not listed
 * are unknown and skipped.
 */
const REQUEST_TYPES = [-1, 2];
const RESOURCE_SPANS_TYPES = [-1, 2, 2, 2];
const SCOPE_SPANS_TYPES = [-1, 2, 2, 2];
const RESOURCE_TYPES = [-1, 2, 0, 2];
const ENTITY_REF_TYPES = [-1, 2, 2, 2, 2];
const SCOPE_TYPES = [-1, 2, 2, 2, 0];
const SPAN_TYPES = [-1, 2, 2, 2, 2, 2, 0, 1, 1, 2, 0, 2, 0, 2, 0, 2, 5];
const EVENT_TYPES = [-1, 1, 2, 2, 0];
const LINK_TYPES = [-1, 2, 2, 2, 2, 0, 5];
const STATUS_TYPES = [-1, -1, 2, 0];
const KEY_VALUE_TYPES = [-1, 2, 2];
const ANY_VALUE_TYPES = [-1, 2, 0, 0, 1, 2, 2, 2];
const LIST_TYPES = [-1, 2];
const NO_TYPES: number[] = [];

/** Projected keys of one kind, prepared for byte comparison. */
interface KeyTable {
  readonly keys: readonly string[];
  /** Each key's UTF-8 bytes as toWords() gives them. */
  readonly words: readonly Int32Array[];
  /** Key indices by UTF-8 length; empty lists where none. */
  readonly byLength: ReadonlyArray<readonly number[]>;
}

interface CompiledProjection {
  readonly span: KeyTable;
  readonly resource: KeyTable;
  /** Span names whose attributes are read; null: every span's. */
  readonly spanNames: ReadonlySet<string> | null;
  readonly resources: LRUCache<string, ResourceRecord>;
}

const compiledProjections = new WeakMap<Projection, CompiledProjection>();

function compileKeys(keys: ReadonlySet<string>): KeyTable {
  const list = [...keys];
  const bytes = list.map((k) => Buffer.from(k, 'utf8'));
  const words = bytes.map((b) => {
    return toWords(b, new DataView(b.buffer, b.byteOffset, b.length), 0, b.length);
  });
  const maxLength = bytes.reduce((m, b) => Math.max(m, b.length), -1);
  const byLength: number[][] = [];
  for (let len = 0; len <= maxLength; len++) byLength.push([]);
  bytes.forEach((b, i) => byLength[b.length].push(i));
  return { keys: list, words, byLength };
}

function compileProjection(projection: Projection): CompiledProjection {
  let compiled = compiledProjections.get(projection);
  if (compiled === undefined) {
    compiled = {
      span: compileKeys(projection.spanAttributes),
      resource: compileKeys(projection.resourceAttributes),
      spanNames: projection.spanNames,
      resources: new LRUCache<string, ResourceRecord>({ max: RESOURCE_CACHE_SIZE }),
    };
    compiledProjections.set(projection, compiled);
  }
  return compiled;
}

/** A cached text and its UTF-8 bytes (length, and words as toWords() gives them). */
interface TextEntry {
  readonly length: number;
  readonly words: Int32Array;
  readonly text: string;
}

/**
 * A cached span name, with whether the projection it was last asked about
 * reads spans of that name: a Set lookup compares the strings' characters,
 * and the answer rarely changes.
 */
interface NameEntry {
  readonly length: number;
  readonly words: Int32Array;
  readonly text: string;
  spanNames: ReadonlySet<string> | undefined;
  isLookedAt: boolean;
}

const NO_WORDS = new Int32Array(0);

const nameCache: Array<NameEntry | undefined> = new Array(NAME_CACHE_SIZE).fill(undefined);
const valueCache: Array<TextEntry | undefined> = new Array(VALUE_CACHE_SIZE).fill(undefined);
const traceIdCache: Array<TextEntry | undefined> = new Array(TRACE_ID_CACHE_SIZE).fill(undefined);

interface BufferSlices {
  utf8Slice?(start: number, end: number): string;
}

// Buffer's own slice method skips toString()'s argument checks and encoding
// lookup, which cost about as much as the conversion of a short text; fall
// back to toString() where a runtime does not have it.
const nativeUtf8 = (Buffer.prototype as BufferSlices).utf8Slice;

function utf8Slice(buf: Buffer, start: number, end: number): string {
  return nativeUtf8 !== undefined
    ? nativeUtf8.call(buf, start, end)
    : buf.toString('utf8', start, end);
}

/** Character codes of the high and low hex digit of each byte value. */
const HEX_HIGH = new Uint8Array(256);
const HEX_LOW = new Uint8Array(256);
for (let b = 0; b < 256; b++) {
  HEX_HIGH[b] = '0123456789abcdef'.charCodeAt(b >>> 4);
  HEX_LOW[b] = '0123456789abcdef'.charCodeAt(b & 15);
}

/**
 * The 16 hex digits of the 8 bytes from `start`. Built with one
 * String.fromCharCode call, which makes the same flat one-byte string as
 * Buffer's hex conversion in about half the time, the native call's own
 * cost being most of the latter for so few bytes.
 */
function toHex8(buf: Uint8Array, start: number): string {
  const b0 = buf[start];
  const b1 = buf[start + 1];
  const b2 = buf[start + 2];
  const b3 = buf[start + 3];
  const b4 = buf[start + 4];
  const b5 = buf[start + 5];
  const b6 = buf[start + 6];
  const b7 = buf[start + 7];
  return String.fromCharCode(
    HEX_HIGH[b0], HEX_LOW[b0], HEX_HIGH[b1], HEX_LOW[b1],
    HEX_HIGH[b2], HEX_LOW[b2], HEX_HIGH[b3], HEX_LOW[b3],
    HEX_HIGH[b4], HEX_LOW[b4], HEX_HIGH[b5], HEX_LOW[b5],
    HEX_HIGH[b6], HEX_LOW[b6], HEX_HIGH[b7], HEX_LOW[b7],
  );
}

/**
 * Decodes a request for the buffer. Throws ERR_PROTO_MALFORMED (not
 * retryable) naming the byte offset and field path when the bytes are not a
 * valid protobuf request; bad spans are rejected instead (`rejected`).
 * Resource records are cached per projection object, so pass the same
 * object for as long as the rule set does not change.
 */
export function decodeTraceRequest(bytes: Uint8Array, projection: Projection): DecodedBatch {
  const d = new RequestDecoder(bytes, compileProjection(projection));
  try {
    d.decodeRequest();
  } catch (err) {
    throw d.describe(err);
  }
  const forward = d.rejected === 0 ? bytes : restitch(d.buf, d.rejectedAt);
  return {
    traceIds: d.traceIds,
    spans: d.spans,
    total: d.total,
    ownSpans: d.ownSpans,
    rejected: d.rejected,
    rejectMessage: d.rejectMessage(),
    forward,
  };
}

/** Thrown inside the decoder; becomes ERR_PROTO_MALFORMED with the path. */
class WireFault {
  constructor(
    readonly reason: string,
    readonly offset: number,
  ) {}
}

function fault(reason: string, offset: number): never {
  throw new WireFault(reason, offset);
}

// Out of line so that the message text does not weigh on the hot functions,
// which the compiler then inlines more readily.
function faultLength(len: number, left: number, offset: number): never {
  throw new WireFault(`length ${len} past the end of the message (${left} bytes left)`, offset);
}

function sameBytes(buf: Uint8Array, start: number, other: Uint8Array): boolean {
  for (let i = other.length - 1; i >= 0; i--) if (buf[start + i] !== other[i]) return false;
  return true;
}

/** Whether the 16 bytes of a trace ID or the 8 of a span ID from `start` are all zero. */
function isZeroId(view: DataView, start: number, bytes: 8 | 16): boolean {
  let acc = view.getInt32(start, true) | view.getInt32(start + 4, true);
  if (bytes === 16) acc |= view.getInt32(start + 8, true) | view.getInt32(start + 12, true);
  return acc === 0;
}

/** The index of the projected key in these bytes; -1 when none. */
function findKey(
  table: KeyTable,
  buf: Uint8Array,
  view: DataView,
  start: number,
  end: number,
): number {
  const len = end - start;
  if (len >= table.byLength.length) return -1;
  const candidates = table.byLength[len];
  for (let i = 0; i < candidates.length; i++) {
    const index = candidates[i];
    if (isSameWords(buf, view, start, end, table.words[index])) return index;
  }
  return -1;
}

class RequestDecoder {
  readonly buf: Buffer;
  /** The request's bytes, for reads of several bytes at once. */
  private readonly view: DataView;
  readonly traceIds: string[] = [];
  readonly spans: SpanRecord[] = [];
  total = 0;
  ownSpans = 0;
  rejected = 0;
  /** Offsets of the keys of rejected span fields, for restitching. */
  readonly rejectedAt = new Set<number>();

  private pos = 0;
  /** Low and high halves (as signed 32-bit values) of the last varint64(). */
  private lo = 0;
  private hi = 0;
  private readonly reasons: string[] = [];
  /** Spans covered by the reasons listed. */
  private reasonSpans = 0;
  private readonly span: KeyTable;
  private readonly spanNames: ReadonlySet<string> | null;
  private readonly resourceKeys: KeyTable;
  private readonly resources: LRUCache<string, ResourceRecord>;
  /** Texts of the projected span attributes of the current span, by key index. */
  private readonly slots: Array<string | undefined>;
  /** The current span's first problem, or '' while it is valid. */
  private problem = '';

  // Where decoding is, for error messages.
  private rsIndex = -1;
  private ssIndex = -1;
  private spanIndex = -1;
  private part = '';
  /** The oneof member of the last AnyValue read by valueText (field number; 0 for none). */
  private member = 0;
  /** Unknown groups being skipped, one inside the other. */
  private groupDepth = 0;

  constructor(bytes: Uint8Array, compiled: CompiledProjection) {
    this.buf = Buffer.isBuffer(bytes)
      ? bytes
      : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.span = compiled.span;
    this.spanNames = compiled.spanNames;
    this.resourceKeys = compiled.resource;
    this.resources = compiled.resources;
    this.slots = new Array(compiled.span.keys.length).fill(NO_VALUE);
  }

  /** The malformed-request error for a fault, with the field path. */
  describe(err: unknown): unknown {
    if (!(err instanceof WireFault)) return err;
    let path = 'request';
    if (this.rsIndex >= 0) path = `resourceSpans[${this.rsIndex}]`;
    if (this.ssIndex >= 0) path += `.scopeSpans[${this.ssIndex}]`;
    if (this.spanIndex >= 0) path += `.spans[${this.spanIndex}]`;
    if (this.part !== '') path += `.${this.part}`;
    return new BetraceError('ERR_PROTO_MALFORMED', `${path}: ${err.reason} at byte ${err.offset}`);
  }

  rejectMessage(): string {
    if (this.rejected === 0) return '';
    let message = this.reasons.join('; ');
    const listed = this.reasonSpans;
    if (listed < this.rejected) message += `; and ${this.rejected - listed} more`;
    return `${this.rejected} of ${this.total} spans rejected: ${message}`;
  }

  private reject(reason: string, spans: number): void {
    this.rejected += spans;
    if (this.reasons.length < MAX_REASONS) {
      this.reasons.push(reason);
      this.reasonSpans += spans;
    }
  }

  // ---- wire primitives -------------------------------------------------

  private varint(end: number): number {
    const buf = this.buf;
    let p = this.pos;
    if (p >= end) fault('truncated varint', p);
    let b = buf[p++];
    if (b < 0x80) {
      this.pos = p;
      return b;
    }
    let v = b & 0x7f;
    for (let shift = 7; shift < 35; shift += 7) {
      if (p >= end) fault('truncated varint', p);
      b = buf[p++];
      v |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.pos = p;
        return v >>> 0;
      }
    }
    for (let i = 5; i < 10; i++) {
      if (p >= end) fault('truncated varint', p);
      if (buf[p++] < 0x80) {
        this.pos = p;
        return v >>> 0;
      }
    }
    return fault('varint longer than ten bytes', this.pos);
  }

  private varint64(end: number): void {
    const buf = this.buf;
    const start = this.pos;
    let p = start;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < 10; i++) {
      if (p >= end) fault('truncated varint', p);
      const b = buf[p++];
      const bits = b & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= bits << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (7 * i - 32);
      if (b < 0x80) {
        // Kept as signed 32-bit values: unsigned ones of 2^31 and above would
        // not fit a small integer and make every store to these fields box.
        this.lo = lo | 0;
        this.hi = hi | 0;
        this.pos = p;
        return;
      }
    }
    fault('varint longer than ten bytes', start);
  }

  private tag(end: number): number {
    const p = this.pos;
    const b = this.buf[p];
    let key: number;
    // One-byte keys (fields 1 to 15) are by far the most common.
    if (b < 0x80) {
      this.pos = p + 1;
      key = b;
    } else {
      key = this.varint(end);
    }
    if (key < 8) fault(`field number 0 (key ${key})`, p);
    return key;
  }

  /** Reads a length and returns where the body ends; the body starts at `pos`. */
  private lengthEnd(end: number): number {
    const at = this.pos;
    let len: number;
    const buf = this.buf;
    const b = buf[at];
    if (at < end && b < 0x80) {
      len = b;
      this.pos = at + 1;
    } else if (at + 1 < end && buf[at + 1] < 0x80) {
      // Two bytes (128 B to 16 KiB: spans, resources) without the 64-bit reader.
      len = (b & 0x7f) | (buf[at + 1] << 7);
      this.pos = at + 2;
    } else {
      this.varint64(end);
      if (this.hi !== 0) fault('length past the end of the message', at);
      len = this.lo >>> 0;
    }
    const bodyEnd = this.pos + len;
    if (bodyEnd > end) faultLength(len, end - this.pos, at);
    return bodyEnd;
  }

  /** Skips a field that this decoder does not read, checking known fields' wire types. */
  private skip(key: number, end: number, types: readonly number[], message: string): void {
    const field = key >>> 3;
    const wireType = key & 7;
    const expected = field < types.length ? types[field] : -1;
    if (expected !== -1 && expected !== wireType) {
      fault(`${message} field ${field} has wire type ${wireType}, expected ${expected}`, this.pos);
    }
    const at = this.pos;
    switch (wireType) {
      case 0:
        this.varint64(end);
        return;
      case 1:
        if (at + 8 > end) fault('truncated fixed64', at);
        this.pos = at + 8;
        return;
      case 2:
        this.pos = this.lengthEnd(end);
        return;
      case 5:
        if (at + 4 > end) fault('truncated fixed32', at);
        this.pos = at + 4;
        return;
      case 3:
        this.skipGroup(field, end);
        return;
      case 4:
        return fault(`end of group without a start (field ${field})`, at);
      default:
        return fault(`invalid wire type ${wireType} (field ${field})`, at);
    }
  }

  private skipGroup(field: number, end: number): void {
    // Groups nest; each level is a recursion through skip(), so the depth is bounded.
    if (++this.groupDepth > MAX_MESSAGE_DEPTH) {
      fault(`groups nested deeper than ${MAX_MESSAGE_DEPTH} levels`, this.pos);
    }
    for (;;) {
      const at = this.pos;
      if (at >= end) fault(`unterminated group (field ${field})`, at);
      const key = this.tag(end);
      if ((key & 7) === 4) {
        if (key >>> 3 !== field) fault(`mismatched end of group (field ${key >>> 3})`, at);
        this.groupDepth--;
        return;
      }
      this.skip(key, end, NO_TYPES, 'group');
    }
  }

  private checkDepth(depth: number): void {
    if (depth > MAX_MESSAGE_DEPTH) {
      fault(`messages nested deeper than ${MAX_MESSAGE_DEPTH} levels`, this.pos);
    }
  }

  /** Whether bytes are UTF-8; the native check runs only when a byte is 0x80 or above. */
  private isUtf8At(start: number, end: number): boolean {
    return (
      isAscii(this.buf, this.view, start, end) ||
      isUtf8(this.buf.subarray(start, end))
    );
  }

  // ---- request, resource and scope blocks ------------------------------

  decodeRequest(): void {
    const end = this.buf.length;
    while (this.pos < end) {
      const key = this.tag(end);
      if (key === K1_LEN) {
        const rsEnd = this.lengthEnd(end);
        this.rsIndex++;
        this.decodeResourceSpans(this.pos, rsEnd);
        this.pos = rsEnd;
      } else {
        this.skip(key, end, REQUEST_TYPES, 'ExportTraceServiceRequest');
      }
    }
    this.rsIndex = -1;
  }

  private decodeResourceSpans(start: number, end: number): void {
    // First pass: the resource and schema_url may follow the scopes on the wire.
    let resourceStart = -1;
    let resourceEnd = -1;
    let pieces: Array<[number, number]> | null = null;
    let problem = '';
    for (this.pos = start; this.pos < end; ) {
      const key = this.tag(end);
      if (key === K1_LEN) {
        const e = this.lengthEnd(end);
        if (resourceStart !== -1) (pieces ??= [[resourceStart, resourceEnd]]).push([this.pos, e]);
        resourceStart = this.pos;
        resourceEnd = e;
        this.pos = e;
      } else if (key === K3_LEN) {
        const e = this.lengthEnd(end);
        if (!this.isUtf8At(this.pos, e)) problem = 'invalid UTF-8 in the schema_url';
        this.pos = e;
      } else {
        this.skip(key, end, RESOURCE_SPANS_TYPES, 'ResourceSpans');
      }
    }
    this.part = 'resource';
    const resource =
      resourceStart === -1
        ? EMPTY_RESOURCE
        : this.resourceRecord(resourceStart, resourceEnd, pieces);
    this.part = '';
    if (resource === null) problem = 'invalid UTF-8 in the resource';

    for (this.pos = start; this.pos < end; ) {
      const key = this.tag(end);
      if (key === K2_LEN) {
        const e = this.lengthEnd(end);
        this.ssIndex++;
        this.decodeScopeSpans(this.pos, e, resource ?? EMPTY_RESOURCE, problem);
        this.pos = e;
      } else {
        this.skip(key, end, RESOURCE_SPANS_TYPES, 'ResourceSpans');
      }
    }
    this.ssIndex = -1;
  }

  private decodeScopeSpans(
    start: number,
    end: number,
    resource: ResourceRecord,
    blockProblem: string,
  ): void {
    if (blockProblem === '' && this.decodeScopeSpansInOnePass(start, end, resource)) return;
    this.decodeScopeSpansInTwoPasses(start, end, resource, blockProblem);
  }

  /**
   * Decodes a ScopeSpans whose scope comes before its spans, as encoders
   * write it, in one pass: a first pass that only looks for the scope
   * would touch every span once more, out of order for the memory
   * prefetcher, which costs most when the request is no longer in the CPU
   * caches. Returns false, with everything undone, when the block needs the
   * two-pass reading: a scope field after a span, a problem in the scope or
   * its schema_url, or malformed bytes (which the two passes then report,
   * whatever this pass met first).
   */
  private decodeScopeSpansInOnePass(start: number, end: number, resource: ResourceRecord): boolean {
    const spansBefore = this.spans.length;
    const totalBefore = this.total;
    const ownBefore = this.ownSpans;
    const rejectedBefore = this.rejected;
    const reasonsBefore = this.reasons.length;
    const reasonSpansBefore = this.reasonSpans;
    let rejectedHere: number[] | null = null;
    let own = false;
    let sawSpan = false;
    let usual = true;
    try {
      for (this.pos = start; this.pos < end; ) {
        const keyAt = this.pos;
        const key = this.tag(end);
        if (key === K2_LEN) {
          const e = this.lengthEnd(end);
          sawSpan = true;
          this.spanIndex++;
          this.total++;
          if (!this.decodeSpan(this.pos, e, resource, !own)) {
            (rejectedHere ??= []).push(keyAt);
            this.rejectedAt.add(keyAt);
            this.reject(`${this.spanPath()}: ${this.problem}`, 1);
          } else if (own) {
            this.ownSpans++;
          }
          this.pos = e;
        } else if (key === K1_LEN) {
          const e = this.lengthEnd(end);
          this.part = 'scope';
          const result: number = sawSpan ? -1 : this.readScope(this.pos, e, own);
          this.part = '';
          if (result < 0) {
            usual = false;
            break;
          }
          own = result === 1;
          this.pos = e;
        } else if (key === K3_LEN) {
          const e = this.lengthEnd(end);
          if (!this.isUtf8At(this.pos, e)) {
            usual = false;
            break;
          }
          this.pos = e;
        } else {
          this.skip(key, end, SCOPE_SPANS_TYPES, 'ScopeSpans');
        }
      }
    } catch (err) {
      if (!(err instanceof WireFault)) throw err;
      usual = false;
    }
    this.spanIndex = -1;
    if (usual) return true;

    this.spans.length = spansBefore;
    this.traceIds.length = spansBefore;
    this.total = totalBefore;
    this.ownSpans = ownBefore;
    this.rejected = rejectedBefore;
    this.reasons.length = reasonsBefore;
    this.reasonSpans = reasonSpansBefore;
    if (rejectedHere !== null) for (const at of rejectedHere) this.rejectedAt.delete(at);
    this.part = '';
    this.groupDepth = 0;
    this.clearSlots();
    return false;
  }

  /**
   * Decodes a ScopeSpans in any layout: first its scope and schema_url,
   * which decide how its spans are taken, then the spans.
   */
  private decodeScopeSpansInTwoPasses(
    start: number,
    end: number,
    resource: ResourceRecord,
    blockProblem: string,
  ): void {
    let own = false;
    let problem = blockProblem;
    let scopeProblem = '';
    for (this.pos = start; this.pos < end; ) {
      const key = this.tag(end);
      if (key === K1_LEN) {
        const e = this.lengthEnd(end);
        this.part = 'scope';
        // Occurrences of a message field merge: the last name read wins.
        const result = this.readScope(this.pos, e, own);
        this.part = '';
        if (result < 0) scopeProblem = 'invalid UTF-8 in the instrumentation scope';
        else own = result === 1;
        this.pos = e;
      } else if (key === K3_LEN) {
        const e = this.lengthEnd(end);
        if (!this.isUtf8At(this.pos, e)) scopeProblem = 'invalid UTF-8 in the scope schema_url';
        this.pos = e;
      } else {
        this.skip(key, end, SCOPE_SPANS_TYPES, 'ScopeSpans');
      }
    }
    if (problem === '') problem = scopeProblem;

    let blockRejected = 0;
    for (this.pos = start; this.pos < end; ) {
      const keyAt = this.pos;
      const key = this.tag(end);
      if (key !== K2_LEN) {
        this.skip(key, end, SCOPE_SPANS_TYPES, 'ScopeSpans');
        continue;
      }
      const e = this.lengthEnd(end);
      this.spanIndex++;
      this.total++;
      const spanStart = this.pos;
      if (problem !== '') {
        // The block is refused as a whole; its spans are still parsed so
        // that a malformed request is reported as such.
        this.decodeSpan(spanStart, e, resource, false);
        this.rejectedAt.add(keyAt);
        blockRejected++;
      } else if (!this.decodeSpan(spanStart, e, resource, !own)) {
        this.rejectedAt.add(keyAt);
        this.reject(`${this.spanPath()}: ${this.problem}`, 1);
      } else if (own) {
        this.ownSpans++;
      }
      this.pos = e;
    }
    if (blockRejected > 0) {
      const where = `resourceSpans[${this.rsIndex}].scopeSpans[${this.ssIndex}]`;
      const spans = blockRejected === 1 ? 'span' : 'spans';
      this.reject(`${where}: ${problem} (${blockRejected} ${spans})`, blockRejected);
    }
    this.spanIndex = -1;
  }

  private spanPath(): string {
    return `resourceSpans[${this.rsIndex}].scopeSpans[${this.ssIndex}].spans[${this.spanIndex}]`;
  }

  /**
   * Reads an InstrumentationScope: 1 when its name is "betrace", 0 when it
   * is another name, -1 when a string in it is not UTF-8. `own` is the
   * answer so far (a later occurrence without a name keeps it).
   */
  private readScope(start: number, end: number, own: boolean): number {
    let isOwn = own;
    let valid = true;
    for (this.pos = start; this.pos < end; ) {
      const key = this.tag(end);
      if (key === K1_LEN || key === K2_LEN) {
        const e = this.lengthEnd(end);
        if (!this.isUtf8At(this.pos, e)) valid = false;
        if (key === K1_LEN) {
          isOwn =
            e - this.pos === OWN_SCOPE_BYTES.length &&
            sameBytes(this.buf, this.pos, OWN_SCOPE_BYTES);
        }
        this.pos = e;
      } else if (key === K3_LEN) {
        const e = this.lengthEnd(end);
        if (!this.validKeyValue(this.pos, e, 4)) valid = false;
        this.pos = e;
      } else {
        this.skip(key, end, SCOPE_TYPES, 'InstrumentationScope');
      }
    }
    if (!valid) return -1;
    return isOwn ? 1 : 0;
  }

  /**
   * The shared record of a Resource message (several pieces when the field
   * occurs more than once, which protobuf merges); null when a string in it
   * is not UTF-8.
   */
  private resourceRecord(
    start: number,
    end: number,
    pieces: Array<[number, number]> | null,
  ): ResourceRecord | null {
    const buf = this.buf;
    const cacheKey =
      pieces === null
        ? buf.toString('latin1', start, end)
        : pieces.map(([s, e]) => buf.toString('latin1', s, e)).join('');
    const cached = this.resources.get(cacheKey);
    if (cached !== undefined) return cached;

    const table = this.resourceKeys;
    const values: Array<string | undefined> = new Array(table.keys.length).fill(NO_VALUE);
    let valid = true;
    for (const [s, e] of pieces ?? [[start, end]]) {
      if (!this.readResource(s, e, table, values)) valid = false;
    }
    if (!valid) return null;
    // A copy, so that a cached record never pins a request's memory.
    let raw: Uint8Array;
    if (pieces === null) {
      raw = new Uint8Array(buf.subarray(start, end));
    } else {
      raw = new Uint8Array(pieces.reduce((n, [s, e]) => n + e - s, 0));
      let at = 0;
      for (const [s, e] of pieces) {
        raw.set(buf.subarray(s, e), at);
        at += e - s;
      }
    }
    const record: ResourceRecord = { attrs: toAttrs(table.keys, values), raw };
    this.resources.set(cacheKey, record);
    return record;
  }

  private readResource(
    start: number,
    end: number,
    table: KeyTable,
    values: Array<string | undefined>,
  ): boolean {
    let valid = true;
    for (this.pos = start; this.pos < end; ) {
      const key = this.tag(end);
      if (key === K1_LEN) {
        const e = this.lengthEnd(end);
        if (!this.readKeyValue(this.pos, e, table, values, 3)) valid = false;
        this.pos = e;
      } else if (key === K3_LEN) {
        const e = this.lengthEnd(end);
        if (!this.validEntityRef(this.pos, e)) valid = false;
        this.pos = e;
      } else {
        this.skip(key, end, RESOURCE_TYPES, 'Resource');
      }
    }
    return valid;
  }

  private validEntityRef(start: number, end: number): boolean {
    let valid = true;
    for (this.pos = start; this.pos < end; ) {
      const key = this.tag(end);
      if (key === K1_LEN || key === K2_LEN || key === K3_LEN || key === K4_LEN) {
        const e = this.lengthEnd(end);
        if (!this.isUtf8At(this.pos, e)) valid = false;
        this.pos = e;
      } else {
        this.skip(key, end, ENTITY_REF_TYPES, 'EntityRef');
      }
    }
    return valid;
  }

  // ---- spans -----------------------------------------------------------

  /**
   * Reads one span; when `keep`, buffers its record. Returns false with
   * `problem` set when the span must be rejected.
   */
  private decodeSpan(start: number, end: number, resource: ResourceRecord, keep: boolean): boolean {
    // The loop keeps its cursor and every field in locals and reads one-byte
    // keys and lengths inline: this is the per-span hot path, and a call or
    // a property write per field would cost more than the parsing itself.
    const buf = this.buf;
    const view = this.view;
    let traceStart = -1;
    let traceLen = 0;
    let spanStart = -1;
    let spanLen = 0;
    let parentStart = -1;
    let parentLen = 0;
    let nameStart = 0;
    let nameEnd = 0;
    let kind = 0;
    let status = 0;
    let startLo = 0;
    let startHi = 0;
    let endLo = 0;
    let endHi = 0;
    // Whether attributes become texts: 1 yes, 0 no, -1 not asked yet for
    // the name read last (asked once per span, not once per attribute).
    let readAttributes = keep ? -1 : 0;
    // The last name's entry once looked up; undefined before.
    let name: NameEntry | null | undefined;
    let slotsUsed = false;
    this.problem = '';
    let p = start;
    while (p < end) {
      let key = buf[p];
      if (key < 0x80) p++;
      else if (p + 1 < end && buf[p + 1] < 0x80) {
        // Two-byte keys: fields 16 to 2047, such as flags on every span.
        key = (key & 0x7f) | (buf[p + 1] << 7);
        p += 2;
      } else {
        this.pos = p;
        key = this.varint(end);
        p = this.pos;
      }
      if (key < 8) fault(`field number 0 (key ${key})`, p - 1);
      if ((key & 7) === 2) {
        if (p >= end) fault('truncated length', p);
        let len = buf[p];
        if (len < 0x80) p++;
        else {
          this.pos = p;
          len = this.lengthEnd(end) - this.pos;
          p = this.pos;
        }
        const e = p + len;
        if (e > end) faultLength(len, end - p, p - 1);
        switch (key) {
          case 0x4a: // attributes
            // Attributes of a span no rule looks at are only validated, when
            // its name came first (as encoders write fields in number order).
            if (readAttributes === -1) {
              const names = this.spanNames;
              if (nameEnd === 0 || names === null) readAttributes = 1;
              else {
                name = this.nameEntry(nameStart, nameEnd);
                readAttributes = name !== null && this.isLookedAt(name, names) ? 1 : 0;
              }
            }
            if (readAttributes === 1) {
              slotsUsed = true;
              if (!this.readPlainAttribute(p, e) && !this.readAttribute(p, e)) {
                this.setProblem('invalid UTF-8 in an attribute');
              }
            } else if (!isPlainKeyValue(buf, view, p, e) && !this.validAttribute(p, e)) {
              this.setProblem('invalid UTF-8 in an attribute');
            }
            break;
          case 0x0a: // trace_id
            traceStart = p;
            traceLen = len;
            break;
          case 0x12: // span_id
            spanStart = p;
            spanLen = len;
            break;
          case 0x22: // parent_span_id
            parentStart = p;
            parentLen = len;
            break;
          case 0x2a: // name
            nameStart = p;
            nameEnd = e;
            name = undefined;
            if (keep) readAttributes = -1;
            break;
          case 0x1a: // trace_state
            if (!this.isUtf8At(p, e)) this.setProblem('invalid UTF-8 in the trace_state');
            break;
          case 0x5a: // events
            if (!isPlainEvent(buf, view, p, e) && !this.validPart(p, e, 'events')) {
              this.setProblem('invalid UTF-8 in an event');
            }
            break;
          case 0x6a: // links
            if (!this.validPart(p, e, 'links')) this.setProblem('invalid UTF-8 in a link');
            break;
          case 0x7a: { // status
            // An empty Status (the usual one) leaves the code as it is.
            if (len === 0) break;
            this.part = 'status';
            const code = this.readStatus(p, e, status);
            this.part = '';
            if (code === null) this.setProblem('invalid UTF-8 in the status message');
            else status = code;
            break;
          }
          default:
            this.checkWireType(key, SPAN_TYPES, 'Span', p);
        }
        p = e;
        continue;
      }
      switch (key) {
        case 0x39: // start_time_unix_nano
        case 0x41: { // end_time_unix_nano
          if (p + 8 > end) fault('truncated fixed64', p);
          if (key === 0x39) {
            startLo = view.getUint32(p, true);
            startHi = view.getUint32(p + 4, true);
          } else {
            endLo = view.getUint32(p, true);
            endHi = view.getUint32(p + 4, true);
          }
          p += 8;
          break;
        }
        case 0x85: // flags (field 16, fixed32)
          if (p + 4 > end) fault('truncated fixed32', p);
          p += 4;
          break;
        case 0x30: // kind
          if (p < end && buf[p] < 0x80) kind = buf[p++];
          else {
            this.pos = p;
            kind = this.varint(end) | 0;
            p = this.pos;
          }
          break;
        default:
          this.pos = p;
          this.skip(key, end, SPAN_TYPES, 'Span');
          p = this.pos;
      }
    }

    if (traceLen !== 16) {
      this.setProblem(traceLen === 0 ? 'no trace ID' : `trace ID of ${traceLen} bytes`);
    }
    else if (isZeroId(view, traceStart, 16)) this.setProblem('trace ID is all zero');
    if (spanLen !== 8) {
      this.setProblem(spanLen === 0 ? 'no span ID' : `span ID of ${spanLen} bytes`);
    }
    else if (isZeroId(view, spanStart, 8)) this.setProblem('span ID is all zero');
    if (parentStart !== -1 && parentLen !== 0 && parentLen !== 8) {
      this.setProblem(`parent span ID of ${parentLen} bytes`);
    }
    if (this.problem === '') {
      if (name === undefined) name = this.nameEntry(nameStart, nameEnd);
      if (name === null) this.setProblem('invalid UTF-8 in the name');
    }

    if (this.problem !== '' || !keep) {
      if (slotsUsed) this.clearSlots();
      return this.problem === '';
    }

    this.traceIds.push(this.traceIdText(traceStart));
    let durationNs = DURATION_MISSING;
    const timesSet = (startLo | startHi) !== 0 && (endLo | endHi) !== 0;
    if (timesSet && (endHi > startHi || (endHi === startHi && endLo >= startLo))) {
      // Exact: the halves are subtracted as integers, never as rounded doubles.
      durationNs = (endHi - startHi) * TWO_POW_32 + (endLo - startLo);
    }
    const record: SpanRecord = {
      spanId: toHex8(buf, spanStart),
      name: (name as NameEntry).text,
      isRoot: parentLen === 0 || isZeroId(view, parentStart, 8),
      startNs: startHi * TWO_POW_32 + startLo,
      durationNs,
      status,
      kind,
      attrs: slotsUsed ? this.takeSlots() : null,
      resource,
    };
    this.spans.push(record);
    return true;
  }

  /**
   * Reads a span attribute of the usual layout (see isPlainKeyValue) into
   * the slots; false, with nothing stored, when readAttribute must run.
   */
  private readPlainAttribute(start: number, end: number): boolean {
    const buf = this.buf;
    const value = plainValueStart(buf, start, end);
    if (value === -1) return false;
    const keyStart = start + 2;
    const index = findKey(this.span, buf, this.view, keyStart, keyStart + buf[start + 1]);
    if (index === -1) return isPlainKeyValue(buf, this.view, start, end);
    // A projected key is valid UTF-8: its bytes are those of the projection's string.
    const text = this.plainValueText(value, end);
    if (text === null) return false;
    this.slots[index] = text;
    return true;
  }

  /**
   * The text of an AnyValue that is empty (undefined) or one ASCII string,
   * bool, int below 2^28 or double member; null for any other, which
   * valueText then reads.
   */
  private plainValueText(value: number, end: number): string | null | undefined {
    const buf = this.buf;
    if (value === end) return NO_VALUE;
    const member = buf[value];
    if (member === 0x0a) { // string_value
      const text = plainBodyStart(buf, value + 1, end);
      if (text === -1 || !isAscii(buf, this.view, text, end)) return null;
      return this.valueTextOf(text, end);
    }
    if (member === 0x21) { // double_value
      return end - value === 9 ? toDoubleText(this.view.getFloat64(value + 1, true)) : null;
    }
    if (member !== 0x10 && member !== 0x18) return null;
    // bool_value or int_value of up to four bytes, which fit 28 bits.
    const last = end - 1;
    if (last === value || last - value > 4 || buf[last] >= 0x80) return null;
    let v = 0;
    for (let i = value + 1, shift = 0; i <= last; i++, shift += 7) {
      const b = buf[i];
      if (i < last && b < 0x80) return null;
      v |= (b & 0x7f) << shift;
    }
    if (member === 0x10) return v !== 0 ? 'true' : 'false';
    return String(v);
  }

  /** The general reader for a span attribute into the slots; false when a string is not UTF-8. */
  private readAttribute(start: number, end: number): boolean {
    // Set only here: a fault in the plain paths cannot happen, so the error
    // path needs the part only for the general readers.
    this.part = 'attributes';
    const valid = this.readKeyValue(start, end, this.span, this.slots, 4);
    this.part = '';
    return valid;
  }

  /** The general check of a span attribute; false when a string is not UTF-8. */
  private validAttribute(start: number, end: number): boolean {
    this.part = 'attributes';
    const valid = this.validKeyValue(start, end, 4);
    this.part = '';
    return valid;
  }

  /** The general check of an event or link; false when a string is not UTF-8. */
  private validPart(start: number, end: number, part: 'events' | 'links'): boolean {
    this.part = part;
    const valid = part === 'events' ? this.validEvent(start, end) : this.validLink(start, end);
    this.part = '';
    return valid;
  }

  /** Fails when a known field came with another wire type than `wireType`. */
  private checkWireType(key: number, types: readonly number[], message: string, at: number): void {
    const field = key >>> 3;
    const expected = field < types.length ? types[field] : -1;
    if (expected !== -1 && expected !== (key & 7)) {
      fault(`${message} field ${field} has wire type ${key & 7}, expected ${expected}`, at);
    }
  }

  private setProblem(problem: string): void {
    if (this.problem === '') this.problem = problem;
  }

  private clearSlots(): void {
    const slots = this.slots;
    for (let i = 0; i < slots.length; i++) slots[i] = NO_VALUE;
  }

  /** The attributes of the slots as a record's list, leaving the slots empty. */
  private takeSlots(): string[] | null {
    const slots = this.slots;
    const attrs = toAttrs(this.span.keys, slots);
    // A plain loop: Array.prototype.fill costs more than the few stores.
    if (attrs !== null) for (let i = 0; i < slots.length; i++) slots[i] = NO_VALUE;
    return attrs;
  }

  /** True when some rule reads spans of this name. */
  private isLookedAt(entry: NameEntry, names: ReadonlySet<string>): boolean {
    if (entry.spanNames !== names) {
      entry.spanNames = names;
      entry.isLookedAt = names.has(entry.text);
    }
    return entry.isLookedAt;
  }

  /**
   * The span name in these bytes, interned as valueTextOf() interns values
   * (in a cache of its own); null when it is not UTF-8.
   */
  private nameEntry(start: number, end: number): NameEntry | null {
    const buf = this.buf;
    const view = this.view;
    const len = end - start;
    if (len === 0 || len > TEXT_CACHE_MAX_BYTES) {
      if (!this.isUtf8At(start, end)) return null;
      const text = len === 0 ? '' : utf8Slice(buf, start, end);
      return { length: len, words: NO_WORDS, text, spanNames: undefined, isLookedAt: false };
    }
    const slot = hashBytes(buf, view, start, end) & (NAME_CACHE_SIZE - 1);
    const entry = nameCache[slot];
    const sameLength = entry !== undefined && entry.length === len;
    if (sameLength && isSameWords(buf, view, start, end, entry.words)) return entry;
    if (!this.isUtf8At(start, end)) return null;
    const words = toWords(buf, view, start, end);
    const text = utf8Slice(buf, start, end);
    const fresh = { length: len, words, text, spanNames: undefined, isLookedAt: false };
    nameCache[slot] = fresh;
    return fresh;
  }

  /**
   * The UTF-8 text of an attribute value already checked, through a
   * direct-mapped cache (a hash of the bytes picks the slot): repeated texts
   * then cost a hash and a compare instead of a new string, and buffered
   * records share them.
   */
  private valueTextOf(start: number, end: number): string {
    const buf = this.buf;
    const view = this.view;
    const len = end - start;
    if (len === 0) return '';
    if (len > TEXT_CACHE_MAX_BYTES) return utf8Slice(buf, start, end);
    const slot = hashBytes(buf, view, start, end) & (VALUE_CACHE_SIZE - 1);
    const entry = valueCache[slot];
    const sameLength = entry !== undefined && entry.length === len;
    if (sameLength && isSameWords(buf, view, start, end, entry.words)) return entry.text;
    const text = utf8Slice(buf, start, end);
    valueCache[slot] = { length: len, words: toWords(buf, view, start, end), text };
    return text;
  }

  /** The trace ID in hex, shared between spans of one trace while it stays in the cache. */
  private traceIdText(start: number): string {
    const buf = this.buf;
    const slot = ((buf[start] << 8) | buf[start + 1]) & (TRACE_ID_CACHE_SIZE - 1);
    const entry = traceIdCache[slot];
    const view = this.view;
    if (entry !== undefined && isSameWords(buf, view, start, start + 16, entry.words)) {
      return entry.text;
    }
    // Once per trace, so Buffer's conversion is fast enough; joining two
    // toHex8() texts would keep a two-piece string in every record.
    const text = buf.toString('hex', start, start + 16);
    traceIdCache[slot] = { length: 16, words: toWords(buf, view, start, start + 16), text };
    return text;
  }

  /**
   * Reads a Status message: its code (the last one read wins), or null when
   * the message is not UTF-8.
   */
  private readStatus(start: number, end: number, code: number): number | null {
    let result = code;
    let valid = true;
    for (this.pos = start; this.pos < end; ) {
      const key = this.tag(end);
      if (key === K2_LEN) {
        const e = this.lengthEnd(end);
        if (!this.isUtf8At(this.pos, e)) valid = false;
        this.pos = e;
      } else if (key === 0x18) {
        result = this.varint(end) | 0;
      } else {
        this.skip(key, end, STATUS_TYPES, 'Status');
      }
    }
    return valid ? result : null;
  }

  private validEvent(start: number, end: number): boolean {
    let valid = true;
    for (this.pos = start; this.pos < end; ) {
      const key = this.tag(end);
      if (key === K2_LEN) {
        const e = this.lengthEnd(end);
        if (!this.isUtf8At(this.pos, e)) valid = false;
        this.pos = e;
      } else if (key === K3_LEN) {
        const e = this.lengthEnd(end);
        if (!this.validKeyValue(this.pos, e, 5)) valid = false;
        this.pos = e;
      } else {
        this.skip(key, end, EVENT_TYPES, 'Event');
      }
    }
    return valid;
  }

  private validLink(start: number, end: number): boolean {
    let valid = true;
    for (this.pos = start; this.pos < end; ) {
      const key = this.tag(end);
      if (key === K3_LEN) {
        const e = this.lengthEnd(end);
        if (!this.isUtf8At(this.pos, e)) valid = false;
        this.pos = e;
      } else if (key === K4_LEN) {
        const e = this.lengthEnd(end);
        if (!this.validKeyValue(this.pos, e, 5)) valid = false;
        this.pos = e;
      } else {
        this.skip(key, end, LINK_TYPES, 'Link');
      }
    }
    return valid;
  }

  // ---- attributes ------------------------------------------------------

  /**
   * Reads one KeyValue: when its key is projected, stores the value's text
   * in `values` (the last occurrence of a key wins; an empty value clears
   * it). Returns false when a string in it is not UTF-8.
   */
  private readKeyValue(
    start: number,
    end: number,
    table: KeyTable,
    values: Array<string | undefined>,
    depth: number,
  ): boolean {
    const buf = this.buf;
    let keyStart = start;
    let keyEnd = start;
    let valueStart = -1;
    let valueEnd = -1;
    let p = start;
    while (p < end) {
      const key = buf[p++];
      if (key === K1_LEN || key === K2_LEN) {
        if (p >= end) fault('truncated length', p);
        let len = buf[p];
        if (len < 0x80) p++;
        else {
          this.pos = p;
          len = this.lengthEnd(end) - this.pos;
          p = this.pos;
        }
        const e = p + len;
        if (e > end) faultLength(len, end - p, p - 1);
        if (key === K1_LEN) {
          keyStart = p;
          keyEnd = e;
        } else {
          valueStart = p;
          valueEnd = e;
        }
        p = e;
      } else {
        this.pos = p - 1;
        this.skip(this.tag(end), end, KEY_VALUE_TYPES, 'KeyValue');
        p = this.pos;
      }
    }
    const index = findKey(table, buf, this.view, keyStart, keyEnd);
    if (index === -1) {
      // Not projected: only checked, never turned into strings.
      if (!this.isUtf8At(keyStart, keyEnd)) return false;
      return valueStart === -1 || this.validAnyValue(valueStart, valueEnd, depth + 1);
    }
    return this.storeValue(values, index, valueStart, valueEnd, depth + 1);
  }

  /**
   * Stores the text of a projected key's value (none when `start` is -1);
   * false when a string in it is not UTF-8.
   */
  private storeValue(
    values: Array<string | undefined>,
    index: number,
    start: number,
    end: number,
    depth: number,
  ): boolean {
    if (start === -1) {
      values[index] = NO_VALUE;
      return true;
    }
    const text = this.valueText(start, end, depth);
    if (text === null) return false;
    values[index] = text;
    return true;
  }

  /** Checks the strings of a KeyValue without keeping anything. */
  private validKeyValue(start: number, end: number, depth: number): boolean {
    this.checkDepth(depth);
    let valid = true;
    for (this.pos = start; this.pos < end; ) {
      const key = this.tag(end);
      if (key === K1_LEN) {
        const e = this.lengthEnd(end);
        if (!this.isUtf8At(this.pos, e)) valid = false;
        this.pos = e;
      } else if (key === K2_LEN) {
        const e = this.lengthEnd(end);
        if (!this.validAnyValue(this.pos, e, depth + 1)) valid = false;
        this.pos = e;
      } else {
        this.skip(key, end, KEY_VALUE_TYPES, 'KeyValue');
      }
    }
    return valid;
  }

  /** Checks the strings of an AnyValue without keeping anything. */
  private validAnyValue(start: number, end: number, depth: number): boolean {
    this.checkDepth(depth);
    const buf = this.buf;
    let valid = true;
    let p = start;
    while (p < end) {
      const key = buf[p++];
      switch (key) {
        case 0x0a: // string_value
        case 0x3a: // bytes_value
        case 0x2a: // array_value
        case 0x32: { // kvlist_value
          if (p >= end) fault('truncated length', p);
          let len = buf[p];
          if (len < 0x80) p++;
          else {
            this.pos = p;
            len = this.lengthEnd(end) - this.pos;
            p = this.pos;
          }
          const e = p + len;
          if (e > end) faultLength(len, end - p, p - 1);
          if (key === 0x0a) {
            if (!this.isUtf8At(p, e)) valid = false;
          } else if (key !== 0x3a) {
            if (!this.validList(p, e, depth + 1, key === 0x32)) valid = false;
          }
          p = e;
          break;
        }
        case 0x21: // double_value
          if (p + 8 > end) fault('truncated fixed64', p);
          p += 8;
          break;
        default:
          this.pos = p - 1;
          this.skip(this.tag(end), end, ANY_VALUE_TYPES, 'AnyValue');
          p = this.pos;
      }
    }
    return valid;
  }

  private validList(start: number, end: number, depth: number, ofKeyValues: boolean): boolean {
    this.checkDepth(depth);
    let valid = true;
    for (this.pos = start; this.pos < end; ) {
      const key = this.tag(end);
      if (key === K1_LEN) {
        const e = this.lengthEnd(end);
        const ok = ofKeyValues
          ? this.validKeyValue(this.pos, e, depth + 1)
          : this.validAnyValue(this.pos, e, depth + 1);
        if (!ok) valid = false;
        this.pos = e;
      } else {
        this.skip(key, end, LIST_TYPES, ofKeyValues ? 'KeyValueList' : 'ArrayValue');
      }
    }
    return valid;
  }

  /**
   * The text form of an AnyValue (DSL.md 2.2 and 13): undefined when no
   * member is set, null when a string in it is not UTF-8.
   */
  private valueText(start: number, end: number, depth: number): string | null | undefined {
    this.checkDepth(depth);
    const buf = this.buf;
    let member = 0;
    let s = 0;
    let e = 0;
    let lo = 0;
    let hi = 0;
    let valid = true;
    // Every member is read (and checked) as it comes; the last one wins.
    for (this.pos = start; this.pos < end; ) {
      const key = this.tag(end);
      switch (key) {
        case 0x0a: // string_value
        case 0x3a: // bytes_value
          e = this.lengthEnd(end);
          s = this.pos;
          if (key === 0x0a && !this.isUtf8At(s, e)) valid = false;
          this.pos = e;
          member = key >>> 3;
          break;
        case 0x2a: // array_value
        case 0x32: // kvlist_value
          e = this.lengthEnd(end);
          s = this.pos;
          if (!this.validList(s, e, depth + 1, key === 0x32)) valid = false;
          this.pos = e;
          member = key >>> 3;
          break;
        case 0x10: // bool_value
        case 0x18: // int_value
          this.varint64(end);
          lo = this.lo;
          hi = this.hi;
          member = key >>> 3;
          break;
        case 0x21: // double_value
          // Read in place at the end: going through the 32-bit halves costs
          // more than the conversion to text.
          if (this.pos + 8 > end) fault('truncated fixed64', this.pos);
          s = this.pos;
          this.pos += 8;
          member = 4;
          break;
        default:
          this.skip(key, end, ANY_VALUE_TYPES, 'AnyValue');
      }
    }
    if (!valid) return null;
    let text: string | undefined;
    switch (member) {
      case 1:
        text = this.valueTextOf(s, e);
        break;
      case 2:
        text = (lo | hi) !== 0 ? 'true' : 'false';
        break;
      case 3:
        text = toInt64Text(lo >>> 0, hi >>> 0);
        break;
      case 4:
        text = toDoubleText(buf.readDoubleLE(s));
        break;
      case 5:
      case 6:
        text = this.listJson(s, e, depth + 1, member === 6);
        break;
      case 7:
        text = buf.toString('base64', s, e);
        break;
      default:
        text = NO_VALUE;
    }
    // Set last: listJson above reads nested values through this method.
    this.member = member;
    return text;
  }

  /** Compact JSON of an ArrayValue or KeyValueList whose strings were checked already. */
  private listJson(start: number, end: number, depth: number, ofKeyValues: boolean): string {
    const parts: string[] = [];
    for (this.pos = start; this.pos < end; ) {
      const key = this.tag(end);
      if (key !== K1_LEN) {
        this.skip(key, end, LIST_TYPES, ofKeyValues ? 'KeyValueList' : 'ArrayValue');
        continue;
      }
      const e = this.lengthEnd(end);
      parts.push(
        ofKeyValues
          ? this.keyValueJson(this.pos, e, depth + 1)
          : this.anyValueJson(this.pos, e, depth + 1),
      );
      this.pos = e;
    }
    return ofKeyValues ? `{${parts.join(',')}}` : `[${parts.join(',')}]`;
  }

  private keyValueJson(start: number, end: number, depth: number): string {
    let name = '';
    let value = 'null';
    for (this.pos = start; this.pos < end; ) {
      const key = this.tag(end);
      if (key === K1_LEN) {
        const e = this.lengthEnd(end);
        name = this.buf.toString('utf8', this.pos, e);
        this.pos = e;
      } else if (key === K2_LEN) {
        const e = this.lengthEnd(end);
        value = this.anyValueJson(this.pos, e, depth + 1);
        this.pos = e;
      } else {
        this.skip(key, end, KEY_VALUE_TYPES, 'KeyValue');
      }
    }
    return `${JSON.stringify(name)}:${value}`;
  }

  /** One value inside array or kvlist JSON: strings quoted, numbers and booleans bare. */
  private anyValueJson(start: number, end: number, depth: number): string {
    const text = this.valueText(start, end, depth);
    if (text === undefined || text === null) return 'null';
    switch (this.member) {
      case 1:
      case 7:
        return JSON.stringify(text);
      case 4:
        // NaN and the infinities have no JSON number form.
        return text === 'NaN' || text === 'Infinity' || text === '-Infinity' ? `"${text}"` : text;
      default:
        return text;
    }
  }
}

const EMPTY_RESOURCE: ResourceRecord = { attrs: null, raw: null };

function toAttrs(
  keys: readonly string[],
  values: ReadonlyArray<string | undefined>,
): string[] | null {
  // Exactly sized: an array grown by push() keeps room for about 19
  // elements, which would triple the memory of every buffered record.
  let count = 0;
  let first = -1;
  for (let i = 0; i < values.length; i++) {
    if (values[i] !== undefined) {
      if (count === 0) first = i;
      count++;
    }
  }
  if (count === 0) return null;
  if (count === 1) return [keys[first], values[first] as string];
  const out = new Array<string>(count * 2);
  let at = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v !== undefined) {
      out[at++] = keys[i];
      out[at++] = v;
    }
  }
  return out;
}

/**
 * Rebuilds the request without the span fields whose keys start at
 * `rejectedAt`, copying everything else as raw slices; scopes and resources
 * left without spans are dropped. Null when no span is left.
 */
function restitch(buf: Buffer, rejectedAt: ReadonlySet<number>): Uint8Array | null {
  const w = new ProtoWriter(buf.length);
  const r = new SliceReader(buf);
  let kept = 0;
  while (r.pos < buf.length) {
    const at = r.pos;
    const key = r.varint();
    if (key !== K1_LEN) {
      w.raw(buf, at, r.skipValue(key));
      continue;
    }
    const bodyEnd = r.lengthEnd();
    kept += restitchBlock(w, r, bodyEnd, rejectedAt, 1);
    r.pos = bodyEnd;
  }
  return kept === 0 ? null : w.finish();
}

/**
 * Copies one ResourceSpans (level 1) or ScopeSpans (level 2) body from `r`
 * up to `end` as field `1` or `2` of its parent; returns the spans kept.
 */
function restitchBlock(
  w: ProtoWriter,
  r: SliceReader,
  end: number,
  rejectedAt: ReadonlySet<number>,
  level: number,
): number {
  const buf = r.buf;
  const outer = w.length;
  w.tag(level, 2);
  const mark = w.begin();
  let kept = 0;
  while (r.pos < end) {
    const at = r.pos;
    const key = r.varint();
    if (key !== K2_LEN) {
      w.raw(buf, at, r.skipValue(key));
    } else if (level === 1) {
      const scopeEnd = r.lengthEnd();
      kept += restitchBlock(w, r, scopeEnd, rejectedAt, 2);
      r.pos = scopeEnd;
    } else {
      const spanEnd = r.skipValue(key);
      if (rejectedAt.has(at)) continue;
      kept++;
      w.raw(buf, at, spanEnd);
    }
  }
  if (kept === 0) w.truncate(outer);
  else w.end(mark);
  return kept;
}

/** Just enough of a reader to cut up a request that has already parsed once. */
class SliceReader {
  pos = 0;

  constructor(readonly buf: Buffer) {}

  varint(): number {
    let v = 0;
    let scale = 1;
    let b: number;
    do {
      b = this.buf[this.pos++];
      v += (b & 0x7f) * scale;
      scale *= 0x80;
    } while (b >= 0x80);
    return v;
  }

  /** Skips the value of a field whose key was just read; returns where it ends. */
  skipValue(key: number): number {
    switch (key & 7) {
      case 0:
        this.varint();
        break;
      case 1:
        this.pos += 8;
        break;
      case 2:
        this.pos = this.lengthEnd();
        break;
      case 5:
        this.pos += 4;
        break;
      case 3:
        for (let k = this.varint(); (k & 7) !== 4; k = this.varint()) this.skipValue(k);
        break;
    }
    return this.pos;
  }

  /** Reads a length prefix; `pos` is then the body start, and the body end is returned. */
  lengthEnd(): number {
    const len = this.varint();
    return this.pos + len;
  }
}
