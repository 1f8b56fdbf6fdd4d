/**
 * fast-check generators of valid OTLP/JSON export requests (camelCase names,
 * hex IDs, 64-bit integers as strings). Scalars that are not oneof members
 * never hold their default value, so protobufjs (which writes every field it
 * is given) and proto3 encoders (which leave defaults out) agree byte for byte.
 */

import fc from 'fast-check';

/** One request in OTLP/JSON object form. */
export type JsonRequest = Record<string, unknown>;

const text = fc.oneof(
  fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 12 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }),
);
const anyText = fc.oneof(fc.constant(''), text);

const hex = (bytes: number) =>
  fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString('hex'));
// Never all zero: the span decoder rejects those, and this generator makes valid spans.
const nonZeroHex = (bytes: number) => hex(bytes).filter((h) => /[^0]/.test(h));

const int64 = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }).map(String);
const fixed64 = fc
  .oneof(
    fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }),
    fc.bigInt({ min: 1_600_000_000_000_000_000n, max: 1_800_000_000_000_000_000n }),
  )
  .map(String);
const count = fc.integer({ min: 1, max: 0xffffffff });
const doubleValue = fc.double().map((d) => (Number.isFinite(d) ? (Object.is(d, -0) ? 0 : d) : String(d)));
const base64 = fc.uint8Array({ maxLength: 8 }).map((b) => Buffer.from(b).toString('base64'));

const list = (item: fc.Arbitrary<unknown>) =>
  fc.record({ values: fc.array(item, { maxLength: 3 }) }, { requiredKeys: [] });

const values = fc.letrec((tie) => ({
  anyValue: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ stringValue: anyText }),
    fc.record({ boolValue: fc.boolean() }),
    fc.record({ intValue: int64 }),
    fc.record({ doubleValue }),
    fc.record({ bytesValue: base64 }),
    fc.constant({}),
    fc.record({ arrayValue: list(tie('anyValue')) }),
    fc.record({ kvlistValue: list(tie('keyValue')) }),
  ),
  keyValue: fc.record({ key: text, value: tie('anyValue') }, { requiredKeys: [] }),
}));

/** An attribute value in OTLP/JSON form. */
export const anyValueArb = values.anyValue as fc.Arbitrary<Record<string, unknown>>;
/** An attribute list. */
export const attributesArb = fc.array(values.keyValue, { maxLength: 4 });

const eventArb = fc.record(
  { timeUnixNano: fixed64, name: text, attributes: attributesArb, droppedAttributesCount: count },
  { requiredKeys: [] },
);

const linkArb = fc.record(
  {
    traceId: nonZeroHex(16),
    spanId: nonZeroHex(8),
    traceState: text,
    attributes: attributesArb,
    droppedAttributesCount: count,
    flags: count,
  },
  { requiredKeys: ['traceId', 'spanId'] },
);

/** A valid span (trace and span IDs present and not zero). */
export const spanArb = fc.record(
  {
    traceId: nonZeroHex(16),
    spanId: nonZeroHex(8),
    traceState: text,
    parentSpanId: nonZeroHex(8),
    flags: count,
    name: text,
    kind: fc.constantFrom(1, 2, 3, 4, 5, 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT'),
    startTimeUnixNano: fixed64,
    endTimeUnixNano: fixed64,
    attributes: attributesArb,
    droppedAttributesCount: count,
    events: fc.array(eventArb, { maxLength: 2 }),
    droppedEventsCount: count,
    links: fc.array(linkArb, { maxLength: 2 }),
    droppedLinksCount: count,
    status: fc.record({ message: text, code: fc.constantFrom(1, 2, 'STATUS_CODE_ERROR') }, { requiredKeys: [] }),
  },
  { requiredKeys: ['traceId', 'spanId'] },
);

const scopeArb = fc.record(
  { name: text, version: text, attributes: attributesArb, droppedAttributesCount: count },
  { requiredKeys: [] },
);

const entityRefArb = fc.record(
  {
    schemaUrl: text,
    type: text,
    idKeys: fc.array(anyText, { maxLength: 2 }),
    descriptionKeys: fc.array(anyText, { maxLength: 2 }),
  },
  { requiredKeys: [] },
);

const resourceArb = fc.record(
  { attributes: attributesArb, droppedAttributesCount: count, entityRefs: fc.array(entityRefArb, { maxLength: 2 }) },
  { requiredKeys: [] },
);

/** A valid export request. */
export const requestArb: fc.Arbitrary<JsonRequest> = fc.record(
  {
    resourceSpans: fc.array(
      fc.record(
        {
          resource: resourceArb,
          scopeSpans: fc.array(
            fc.record(
              { scope: scopeArb, spans: fc.array(spanArb, { maxLength: 4 }), schemaUrl: text },
              { requiredKeys: [] },
            ),
            { maxLength: 3 },
          ),
          schemaUrl: text,
        },
        { requiredKeys: [] },
      ),
      { maxLength: 3 },
    ),
  },
  { requiredKeys: [] },
);

/** The same request with every object key in the .proto spelling (`resource_spans`). */
export function toProtoNames(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toProtoNames);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)] = toProtoNames(v);
  return out;
}

/**
 * The request in protobufjs's object form: IDs as bytes (protobufjs reads
 * strings in bytes fields as base64), everything else as it is.
 */
export function toProtobufjsObject(value: unknown, key = ''): unknown {
  if (Array.isArray(value)) return value.map((v) => toProtobufjsObject(v, key));
  if (typeof value === 'string' && (key === 'traceId' || key === 'spanId' || key === 'parentSpanId')) {
    return Buffer.from(value, 'hex');
  }
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = toProtobufjsObject(v, k);
  return out;
}
