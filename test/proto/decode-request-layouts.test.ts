import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import { decodeTraceRequest } from '../../proto/decode-request';

import type { Projection } from '../../dsl/trace-model';

type CodedError = Error & { code?: string };

// Requests are written byte by byte here, so that the same content can be
// laid out as encoders usually write it and in the other ways protobuf
// allows; the decoder must read every layout alike. What it must produce is
// worked out from the content alone: UTF-8 validity through a strict
// TextDecoder, text forms as DSL.md 13 gives them.

type ValueSpec =
  | { readonly kind: 'string'; readonly bytes: Uint8Array }
  | { readonly kind: 'int'; readonly value: bigint }
  | { readonly kind: 'bool'; readonly value: boolean }
  | { readonly kind: 'double'; readonly value: number }
  | { readonly kind: 'none' };

interface AttrSpec {
  readonly key: Uint8Array;
  readonly value: ValueSpec;
}

interface EventSpec {
  readonly name: Uint8Array;
  readonly attributes: readonly AttrSpec[];
}

interface SpanSpec {
  readonly name: Uint8Array;
  readonly attributes: readonly AttrSpec[];
  readonly events: readonly EventSpec[];
}

/**
 * usual: fields in number order, shortest lengths. key-last: the value of
 * each KeyValue before its key. unknown-field: an unknown field appended to
 * every KeyValue, AnyValue and Event. wide-lengths: every length of a span's
 * fields and below written one byte longer than needed. name-last: the span
 * name after the attributes, which are then read whatever the name.
 */
type Layout = 'usual' | 'key-last' | 'unknown-field' | 'wide-lengths' | 'name-last';

const LAYOUTS: readonly Layout[] = ['usual', 'key-last', 'unknown-field', 'wide-lengths', 'name-last'];
const TRACE_ID = Buffer.from('4bf92f3577b34da6a3ce929d0e0e4736', 'hex');
const UNKNOWN_FIELD = [0x98, 0x06, 0x05]; // field 99, varint 5
const KEY_POOL = ['http.route', 'user.id', 'db.statement', 'k', 'payment.amount', 'ключ', 'x'.repeat(130)];
const NAME_POOL = ['GET /users', 'payment.step_2', 'SELECT payments', 'имя'];
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function utf8(text: string): Uint8Array {
  return Buffer.from(text, 'utf8');
}

function varint(n: bigint): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, n);
  while (v >= 0x80n) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

/** A length prefix; `wide` spends one byte more than needed (a zero continuation). */
function lengthPrefix(n: number, wide: boolean): number[] {
  const bytes = varint(BigInt(n));
  if (!wide) return bytes;
  bytes[bytes.length - 1] |= 0x80;
  return [...bytes, 0x00];
}

function field(key: number, body: ArrayLike<number>, wide = false): number[] {
  return [key, ...lengthPrefix(body.length, wide), ...Array.from(body)];
}

function encodeValue(value: ValueSpec, layout: Layout): number[] {
  const wide = layout === 'wide-lengths';
  let body: number[];
  switch (value.kind) {
    case 'string':
      body = field(0x0a, value.bytes, wide);
      break;
    case 'int':
      body = [0x18, ...varint(value.value)];
      break;
    case 'bool':
      body = [0x10, value.value ? 1 : 0];
      break;
    case 'double': {
      const bytes = Buffer.alloc(8);
      bytes.writeDoubleLE(value.value);
      body = [0x21, ...bytes];
      break;
    }
    default:
      body = [];
  }
  return layout === 'unknown-field' ? [...body, ...UNKNOWN_FIELD] : body;
}

function encodeKeyValue(attr: AttrSpec, layout: Layout): number[] {
  const wide = layout === 'wide-lengths';
  const key = field(0x0a, attr.key, wide);
  const value = field(0x12, encodeValue(attr.value, layout), wide);
  if (layout === 'key-last') return [...value, ...key];
  return layout === 'unknown-field' ? [...key, ...value, ...UNKNOWN_FIELD] : [...key, ...value];
}

function encodeEvent(event: EventSpec, layout: Layout): number[] {
  const wide = layout === 'wide-lengths';
  const body = [0x09, 1, 0, 0, 0, 0, 0, 0, 0, ...field(0x12, event.name, wide)];
  for (const attr of event.attributes) body.push(...field(0x1a, encodeKeyValue(attr, layout), wide));
  return layout === 'unknown-field' ? [...body, ...UNKNOWN_FIELD] : body;
}

function spanIdOf(index: number): Buffer {
  const id = Buffer.alloc(8);
  id.writeUInt32BE(index + 1, 4);
  return id;
}

function encodeSpan(span: SpanSpec, index: number, layout: Layout): number[] {
  const wide = layout === 'wide-lengths';
  const times = Buffer.alloc(18);
  times[0] = 0x39;
  times.writeBigUInt64LE(1_700_000_000_000_000_000n, 1);
  times[9] = 0x41;
  times.writeBigUInt64LE(1_700_000_000_000_001_000n, 10);
  const name = field(0x2a, span.name, wide);
  const body = [...field(0x0a, TRACE_ID), ...field(0x12, spanIdOf(index)), ...(layout === 'name-last' ? [] : name), ...times];
  for (const attr of span.attributes) body.push(...field(0x4a, encodeKeyValue(attr, layout), wide));
  for (const event of span.events) body.push(...field(0x5a, encodeEvent(event, layout), wide));
  return layout === 'name-last' ? [...body, ...name] : body;
}

function encodeRequest(spans: readonly SpanSpec[], layout: Layout): Uint8Array {
  const scopeSpans = [...field(0x0a, field(0x0a, utf8('app')))];
  spans.forEach((span, i) => scopeSpans.push(...field(0x12, encodeSpan(span, i, layout))));
  return Buffer.from(field(0x0a, field(0x12, scopeSpans)));
}

function decodeText(bytes: Uint8Array): string | null {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return null;
  }
}

function isValidAttr(attr: AttrSpec): boolean {
  return decodeText(attr.key) !== null && (attr.value.kind !== 'string' || decodeText(attr.value.bytes) !== null);
}

function textOf(value: ValueSpec): string | undefined {
  switch (value.kind) {
    case 'string':
      return decodeText(value.bytes) as string;
    case 'int':
      return BigInt.asIntN(64, value.value).toString();
    case 'bool':
      return value.value ? 'true' : 'false';
    case 'double':
      return String(value.value);
    default:
      return undefined;
  }
}

/** Why the decoder must reject the span, or null when it must keep it. */
function rejectionOf(span: SpanSpec): string | null {
  // The span's own problems are noted in wire order; the name is checked last.
  if (!span.attributes.every(isValidAttr)) return 'invalid UTF-8 in an attribute';
  const badEvent = span.events.some((e) => decodeText(e.name) === null || !e.attributes.every(isValidAttr));
  if (badEvent) return 'invalid UTF-8 in an event';
  return decodeText(span.name) === null ? 'invalid UTF-8 in the name' : null;
}

function expectedAttrs(span: SpanSpec, projection: Projection, layout: Layout): string[] | null {
  const name = decodeText(span.name) as string;
  const isNameFirst = layout !== 'name-last';
  if (isNameFirst && projection.spanNames !== null && !projection.spanNames.has(name)) return null;
  const last = new Map<string, string | undefined>();
  for (const attr of span.attributes) last.set(decodeText(attr.key) as string, textOf(attr.value));
  const out: string[] = [];
  for (const key of projection.spanAttributes) {
    const text = last.get(key);
    if (text !== undefined) out.push(key, text);
  }
  return out.length === 0 ? null : out;
}

function assertDecodes(spans: readonly SpanSpec[], projection: Projection, layout: Layout): void {
  const bytes = encodeRequest(spans, layout);
  const batch = decodeTraceRequest(bytes, projection);
  const reasons: string[] = [];
  const kept: Array<[string, string, string[] | null]> = [];
  spans.forEach((span, i) => {
    const reason = rejectionOf(span);
    if (reason !== null) reasons.push(`resourceSpans[0].scopeSpans[0].spans[${i}]: ${reason}`);
    else kept.push([spanIdOf(i).toString('hex'), decodeText(span.name) as string, expectedAttrs(span, projection, layout)]);
  });
  assert.equal(batch.total, spans.length, layout);
  assert.equal(batch.rejected, reasons.length, layout);
  const message = reasons.length === 0 ? '' : `${reasons.length} of ${spans.length} spans rejected: ${reasons.join('; ')}`;
  assert.equal(batch.rejectMessage, message, layout);
  const actual = batch.spans.map((r) => [r.spanId, r.name, r.attrs === null ? null : [...r.attrs]]);
  assert.deepEqual(actual, kept, layout);
  if (reasons.length === 0) assert.equal(batch.forward, bytes, layout);
}

const asciiText = fc.string({ unit: 'grapheme-ascii', maxLength: 20 }).map(utf8);
const stringBytes = fc.oneof(
  { weight: 4, arbitrary: asciiText },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 120, maxLength: 300 }).map(utf8) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 60 }).map(utf8) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 140 }) },
);
const valueArb: fc.Arbitrary<ValueSpec> = fc.oneof(
  stringBytes.map((bytes) => ({ kind: 'string' as const, bytes })),
  fc.oneof(fc.bigInt({ min: 0n, max: 1n << 29n }), fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }))
    .map((value) => ({ kind: 'int' as const, value })),
  fc.boolean().map((value) => ({ kind: 'bool' as const, value })),
  fc.double().map((value) => ({ kind: 'double' as const, value: Object.is(value, -0) ? 0 : value })),
  fc.constant({ kind: 'none' as const }),
);
const keyArb = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...KEY_POOL).map(utf8) }, { weight: 1, arbitrary: stringBytes });
const attrsArb = fc.array(fc.record({ key: keyArb, value: valueArb }), { maxLength: 6 });
const nameArb = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...NAME_POOL).map(utf8) }, { weight: 1, arbitrary: stringBytes });
const spanSpecArb: fc.Arbitrary<SpanSpec> = fc.record({
  name: nameArb,
  attributes: attrsArb,
  events: fc.array(fc.record({ name: stringBytes, attributes: fc.array(fc.record({ key: keyArb, value: valueArb }), { maxLength: 3 }) }), {
    maxLength: 2,
  }),
});
const projectionArb: fc.Arbitrary<Projection> = fc.record({
  spanAttributes: fc.subarray(KEY_POOL).map((keys) => new Set(keys)),
  resourceAttributes: fc.constant(new Set<string>()),
  spanNames: fc.option(fc.subarray(NAME_POOL).map((names) => new Set(names)), { nil: null }),
});

function attr(key: string, value: ValueSpec): AttrSpec {
  return { key: utf8(key), value };
}

function str(text: string): ValueSpec {
  return { kind: 'string', bytes: utf8(text) };
}

describe('decodeTraceRequest on every layout of the same spans', () => {
  it('agrees with the content on random spans, long and multi-byte strings and wide integers included', () => {
    fc.assert(
      fc.property(fc.array(spanSpecArb, { minLength: 1, maxLength: 4 }), projectionArb, (spans, projection) => {
        for (const layout of LAYOUTS) assertDecodes(spans, projection, layout);
      }),
      { numRuns: 300 },
    );
  });

  it('reads and checks values longer than 127 bytes', () => {
    const long = 'v'.repeat(200);
    const bad: ValueSpec = { kind: 'string', bytes: Buffer.concat([utf8(long), Buffer.from([0xc3, 0x28])]) };
    const spans: SpanSpec[] = [
      { name: utf8('GET /users'), attributes: [attr('k', str(long)), attr('user.id', str(`${long}é`))], events: [] },
      { name: utf8('GET /users'), attributes: [attr('k', bad)], events: [] },
      { name: utf8('GET /users'), attributes: [attr('user.id', bad)], events: [] },
      { name: utf8('SELECT payments'), attributes: [attr('k', bad)], events: [] },
      { name: utf8('GET /users'), attributes: [], events: [{ name: utf8('exception'), attributes: [attr('m', bad)] }] },
    ];
    const projection: Projection = { spanAttributes: new Set(['k']), resourceAttributes: new Set(), spanNames: new Set(['GET /users']) };
    for (const layout of LAYOUTS) assertDecodes(spans, projection, layout);
    const batch = decodeTraceRequest(encodeRequest(spans, 'usual'), projection);
    assert.deepEqual(batch.spans[0].attrs, ['k', long]);
    assert.equal(batch.rejected, 4);
  });

  it('reads integers of every width and booleans written on several bytes', () => {
    const ints = [0n, 127n, 128n, (1n << 28n) - 1n, 1n << 28n, (1n << 53n) + 1n, -1n, -(1n << 63n)];
    const attributes = ints.map((value, i) => attr(`i${i}`, { kind: 'int', value }));
    const projection: Projection = {
      spanAttributes: new Set([...attributes.map((a) => Buffer.from(a.key).toString()), 'b1', 'b0']),
      resourceAttributes: new Set(),
      spanNames: null,
    };
    const spans: SpanSpec[] = [{ name: utf8('n'), attributes, events: [] }];
    for (const layout of LAYOUTS) assertDecodes(spans, projection, layout);
    const plain = Buffer.from(encodeRequest(spans, 'usual'));
    assert.deepEqual(decodeTraceRequest(plain, projection).spans[0].attrs, ints.flatMap((v, i) => [`i${i}`, String(v)]));

    // bool_value varints of two bytes: 0x80 0x01 is 128 (true), 0x80 0x00 is 0 (false).
    const wideBools = [...field(0x4a, [...field(0x0a, utf8('b1')), ...field(0x12, [0x10, 0x80, 0x01])]),
      ...field(0x4a, [...field(0x0a, utf8('b0')), ...field(0x12, [0x10, 0x80, 0x00])])];
    const span = [...encodeSpan({ name: utf8('n'), attributes: [], events: [] }, 0, 'usual'), ...wideBools];
    const bytes = Buffer.from(field(0x0a, field(0x12, field(0x12, span))));
    assert.deepEqual(decodeTraceRequest(bytes, projection).spans[0].attrs, ['b1', 'true', 'b0', 'false']);
  });

  it('matches projected keys on every byte', () => {
    const near = ['user.ix', 'xser.id', 'user.i', 'payment.amounT', 'Payment.amount', 'db.statemenT'];
    const attributes = [...near, 'user.id'].map((key) => attr(key, str(key)));
    const projection: Projection = {
      spanAttributes: new Set(['user.id', 'payment.amount', 'db.statement']),
      resourceAttributes: new Set(),
      spanNames: null,
    };
    const spans: SpanSpec[] = [{ name: utf8('n'), attributes, events: [] }];
    for (const layout of LAYOUTS) assertDecodes(spans, projection, layout);
    assert.deepEqual(decodeTraceRequest(encodeRequest(spans, 'usual'), projection).spans[0].attrs, ['user.id', 'user.id']);
  });

  it('reports a truncated or misplaced value inside an attribute as malformed, naming the attributes', () => {
    const cases: Array<[number[], string]> = [
      [[0x18, 0x80], 'truncated varint'],
      [[0x21, 1, 2, 3, 4, 5, 6, 7], 'truncated fixed64'],
      [[0x0a, 0x05, 0x41], 'length 5 past the end of the message'],
      // A one-byte int, then string_value's key with the varint wire type.
      [[0x18, 0x05, 0x08], 'AnyValue field 1 has wire type 0, expected 2'],
      [[0x21, 1, 2, 3, 4, 5, 6, 7, 8, 0x00], 'field number 0 \\(key 0\\)'],
    ];
    for (const [value, problem] of cases) {
      for (const projected of [true, false]) {
        const kv = [...field(0x0a, utf8('k')), ...field(0x12, value)];
        const span = [...encodeSpan({ name: utf8('n'), attributes: [], events: [] }, 0, 'usual'), ...field(0x4a, kv)];
        const bytes = Buffer.from(field(0x0a, field(0x12, field(0x12, span))));
        const projection: Projection = {
          spanAttributes: new Set(projected ? ['k'] : []),
          resourceAttributes: new Set(),
          spanNames: null,
        };
        assert.throws(
          () => decodeTraceRequest(bytes, projection),
          (err: CodedError) => {
            assert.equal(err.code, 'ERR_PROTO_MALFORMED');
            assert.match(err.message, new RegExp(`^resourceSpans\\[0\\]\\.scopeSpans\\[0\\]\\.spans\\[0\\]\\.attributes: ${problem}`));
            return true;
          },
        );
      }
    }
  });
});

describe('decodeTraceRequest on scope blocks in any field order', () => {
  const plainSpan = (i: number): number[] => field(0x12, encodeSpan({ name: utf8(`op-${i}`), attributes: [], events: [] }, i, 'usual'));
  const scope = (name: string, version: ArrayLike<number> = utf8('1.0')): number[] =>
    field(0x0a, [...field(0x0a, utf8(name)), ...field(0x12, version)]);
  const requestOf = (scopeSpans: number[]): Buffer => Buffer.from(field(0x0a, field(0x12, scopeSpans)));
  const noKeys: Projection = { spanAttributes: new Set(), resourceAttributes: new Set(), spanNames: null };

  it('takes a scope that follows the spans into account', () => {
    const batch = decodeTraceRequest(requestOf([...plainSpan(0), ...plainSpan(1), ...scope('betrace')]), noKeys);
    assert.equal(batch.total, 2);
    assert.equal(batch.ownSpans, 2);
    assert.equal(batch.spans.length, 0);
  });

  it('rejects the whole block for a bad schema_url or scope after its spans, and only that reason', () => {
    const zeroId = field(0x12, [...field(0x0a, TRACE_ID), ...field(0x12, Buffer.alloc(8)), ...field(0x2a, utf8('z'))]);
    const cases: Array<[number[], string]> = [
      [field(0x1a, [0x68, 0xff, 0x74]), 'invalid UTF-8 in the scope schema_url'],
      [scope('lib', [0xed, 0xa0, 0x80]), 'invalid UTF-8 in the instrumentation scope'],
    ];
    for (const [late, reason] of cases) {
      const bytes = requestOf([...scope('lib'), ...zeroId, ...plainSpan(1), ...late]);
      const batch = decodeTraceRequest(bytes, noKeys);
      assert.equal(batch.rejected, 2);
      assert.equal(batch.spans.length, 0);
      assert.equal(batch.rejectMessage, `2 of 2 spans rejected: resourceSpans[0].scopeSpans[0]: ${reason} (2 spans)`);
      assert.equal(batch.forward, null);
    }
  });

  it('reports a malformed block field before a malformed span that comes first', () => {
    const badSpan = field(0x12, [...field(0x0a, TRACE_ID), 0x28, 0x01]); // name (field 5) as a varint
    const bytes = requestOf([...badSpan, ...plainSpan(1), 0x27]); // field 4, wire type 7, last
    assert.throws(
      () => decodeTraceRequest(bytes, noKeys),
      (err: CodedError) => {
        assert.equal(err.code, 'ERR_PROTO_MALFORMED');
        assert.equal(err.message, `resourceSpans[0].scopeSpans[0]: invalid wire type 7 (field 4) at byte ${bytes.length}`);
        return true;
      },
    );
  });
});
