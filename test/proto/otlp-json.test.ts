import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import fc from 'fast-check';

import { otlpJsonToProtobuf, parseLosslessJson, protobufToOtlpJson } from '../../proto/otlp-json';
import { decodeRequestFull, encodeRequestFull } from '../helpers/otlp-decode';
import { requestArb, toProtoNames, toProtobufjsObject } from './arbitraries';
import { createSdkSpans } from './sdk-spans';

import type { JsonRequest } from './arbitraries';

type CodedError = Error & { code?: string };

function expectError(fn: () => unknown, code: string, message: string | RegExp): void {
  assert.throws(fn, (err: CodedError) => {
    assert.equal(err.code, code);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

function oneSpan(span: Record<string, unknown>, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans: [span] }], ...extra }] });
}

const TRACE = '5b8efff798038103d269b633813fc60c';
const SPAN = 'eee19b7ec3c1b174';

function firstSpan(bytes: Uint8Array): Record<string, unknown> {
  return decodeRequestFull(bytes).resourceSpans[0].scopeSpans[0].spans[0];
}

describe('otlpJsonToProtobuf', () => {
  it('encodes what the SDK JSON serializer writes as the SDK protobuf serializer does', async () => {
    const spans = await createSdkSpans();
    const json = JsonTraceSerializer.serializeRequest(spans) as Uint8Array;
    const proto = ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array;
    assert.deepEqual(decodeRequestFull(otlpJsonToProtobuf(json)), decodeRequestFull(proto));
    assert.deepEqual(decodeRequestFull(otlpJsonToProtobuf(Buffer.from(json).toString('utf8'))), decodeRequestFull(proto));
  });

  it('matches protobufjs byte for byte on random requests', () => {
    fc.assert(
      fc.property(requestArb, (request: JsonRequest) => {
        const ours = otlpJsonToProtobuf(JSON.stringify(request));
        const reference = encodeRequestFull(toProtobufjsObject(request) as JsonRequest);
        assert.deepEqual(Buffer.from(ours), Buffer.from(reference));
      }),
      { numRuns: 200 },
    );
  });

  it('accepts the proto field names', () => {
    fc.assert(
      fc.property(requestArb, (request: JsonRequest) => {
        const camel = otlpJsonToProtobuf(JSON.stringify(request));
        const snake = otlpJsonToProtobuf(JSON.stringify(toProtoNames(request)));
        assert.deepEqual(Buffer.from(snake), Buffer.from(camel));
      }),
      { numRuns: 50 },
    );
  });

  it('accepts IDs in hex of either case', () => {
    const lower = otlpJsonToProtobuf(oneSpan({ traceId: TRACE, spanId: SPAN, parentSpanId: 'abcdef0123456789' }));
    const upper = otlpJsonToProtobuf(
      oneSpan({ traceId: TRACE.toUpperCase(), spanId: SPAN.toUpperCase(), parentSpanId: 'ABCDEF0123456789' }),
    );
    assert.deepEqual(Buffer.from(upper), Buffer.from(lower));
    assert.equal(firstSpan(upper).traceId, TRACE);
  });

  it('refuses a trace ID in base64, naming the field', () => {
    const base64 = Buffer.from(TRACE, 'hex').toString('base64');
    const body = JSON.stringify({
      resourceSpans: [{ scopeSpans: [{ spans: [{ traceId: TRACE, spanId: SPAN }, {}, {}, { traceId: base64, spanId: SPAN }] }] }],
    });
    expectError(
      () => otlpJsonToProtobuf(body),
      'ERR_PROTO_JSON_FIELD',
      'resourceSpans[0].scopeSpans[0].spans[3].traceId: expected 32 hex characters, got base64',
    );
  });

  it('refuses IDs in base64 or of the wrong length', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ traceId: Buffer.from(TRACE, 'hex').toString('base64'), spanId: SPAN }, 'traceId: expected 32 hex characters, got base64'],
      [{ traceId: TRACE, spanId: Buffer.from(SPAN, 'hex').toString('base64') }, 'spanId: expected 16 hex characters, got base64'],
      [{ traceId: TRACE.slice(2), spanId: SPAN }, 'traceId: expected 32 hex characters, got 30'],
      [{ traceId: TRACE, spanId: `${SPAN}00` }, 'spanId: expected 16 hex characters, got 18'],
      [{ traceId: TRACE, spanId: '' }, 'spanId: expected 16 hex characters, got 0'],
      [{ traceId: TRACE, spanId: SPAN, parentSpanId: 'abc' }, 'parentSpanId: expected 16 hex characters or an empty string, got 3'],
      [{ traceId: 12, spanId: SPAN }, 'traceId: expected 32 hex characters, got number 12'],
      [{ traceId: `${TRACE.slice(1)}g`, spanId: SPAN }, `traceId: expected 32 hex characters, got a string "${TRACE.slice(1, 41)}g"`],
    ];
    for (const [span, message] of cases) {
      expectError(() => otlpJsonToProtobuf(oneSpan(span)), 'ERR_PROTO_JSON_FIELD', `resourceSpans[0].scopeSpans[0].spans[0].${message}`);
    }
    const link = { traceId: TRACE, spanId: SPAN, links: [{ traceId: TRACE, spanId: 'zz' }] };
    expectError(
      () => otlpJsonToProtobuf(oneSpan(link)),
      'ERR_PROTO_JSON_FIELD',
      'resourceSpans[0].scopeSpans[0].spans[0].links[0].spanId: expected 16 hex characters, got a string "zz"',
    );
  });

  it('passes all-zero IDs of the right length through', () => {
    const span = firstSpan(otlpJsonToProtobuf(oneSpan({ traceId: '0'.repeat(32), spanId: '0'.repeat(16) })));
    assert.equal(span.traceId, '0'.repeat(32));
    assert.equal(span.spanId, '0'.repeat(16));
  });

  it('keeps 64-bit integers exact, as strings and as numbers beyond 2^53', () => {
    const body =
      `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TRACE}","spanId":"${SPAN}",` +
      '"startTimeUnixNano":1700000000123456789,"endTimeUnixNano":"18446744073709551615",' +
      '"attributes":[{"key":"a","value":{"intValue":9007199254740993}},' +
      '{"key":"b","value":{"intValue":"-9223372036854775808"}},' +
      '{"key":"c","value":{"intValue":-9007199254740993}},{"key":"d","value":{"intValue":"0"}}]}]}]}]}';
    const span = firstSpan(otlpJsonToProtobuf(body));
    assert.equal(span.startTimeUnixNano, '1700000000123456789');
    assert.equal(span.endTimeUnixNano, '18446744073709551615');
    const ints = (span.attributes as Array<{ value: { intValue: string } }>).map((a) => a.value.intValue);
    assert.deepEqual(ints, ['9007199254740993', '-9223372036854775808', '-9007199254740993', '0']);
  });

  it('refuses integers out of range or with a fraction', () => {
    const cases: Array<[string, string]> = [
      [
        '"startTimeUnixNano":"18446744073709551616"',
        'startTimeUnixNano: expected an unsigned 64-bit integer, got 18446744073709551616 (out of range)',
      ],
      ['"startTimeUnixNano":-1', 'startTimeUnixNano: expected an unsigned 64-bit integer, got -1 (out of range)'],
      ['"droppedAttributesCount":1.5', 'droppedAttributesCount: expected an unsigned 32-bit integer, got number 1.5'],
      ['"droppedAttributesCount":"x1"', 'droppedAttributesCount: expected an unsigned 32-bit integer, got a string "x1"'],
      [
        '"attributes":[{"key":"k","value":{"intValue":"9223372036854775808"}}]',
        'attributes[0].value.intValue: expected a 64-bit integer, got 9223372036854775808 (out of range)',
      ],
    ];
    for (const [field, message] of cases) {
      const body = `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TRACE}","spanId":"${SPAN}",${field}}]}]}]}`;
      expectError(() => otlpJsonToProtobuf(body), 'ERR_PROTO_JSON_FIELD', `resourceSpans[0].scopeSpans[0].spans[0].${message}`);
    }
  });

  it('keeps NaN and infinities', () => {
    const attributes = ['NaN', 'Infinity', '-Infinity', '1.5', 2.25].map((d, i) => ({ key: `d${i}`, value: { doubleValue: d } }));
    const span = firstSpan(otlpJsonToProtobuf(oneSpan({ traceId: TRACE, spanId: SPAN, attributes })));
    const doubles = (span.attributes as Array<{ value: { doubleValue: number } }>).map((a) => a.value.doubleValue);
    assert.deepEqual(doubles, [NaN, Infinity, -Infinity, 1.5, 2.25]);
  });

  it('reads enums as numbers or names', () => {
    const named = { kind: 'SPAN_KIND_PRODUCER', status: { code: 'STATUS_CODE_OK' } };
    const byName = otlpJsonToProtobuf(oneSpan({ traceId: TRACE, spanId: SPAN, ...named }));
    const byNumber = otlpJsonToProtobuf(oneSpan({ traceId: TRACE, spanId: SPAN, kind: 4, status: { code: 1 } }));
    assert.deepEqual(Buffer.from(byName), Buffer.from(byNumber));
    assert.equal(firstSpan(byName).kind, 4);
    expectError(
      () => otlpJsonToProtobuf(oneSpan({ traceId: TRACE, spanId: SPAN, kind: 'SERVER' })),
      'ERR_PROTO_JSON_FIELD',
      /spans\[0\]\.kind: expected a number or one of SPAN_KIND_UNSPECIFIED, .*, got a string "SERVER"$/,
    );
  });

  it('ignores unknown fields at every level', () => {
    const plain = otlpJsonToProtobuf(oneSpan({ traceId: TRACE, spanId: SPAN, attributes: [{ key: 'k', value: { stringValue: 'v' } }] }));
    const noisy = otlpJsonToProtobuf(
      JSON.stringify({
        extra: [1, { deep: true }],
        resourceSpans: [
          {
            futureField: 'x',
            scopeSpans: [
              {
                spans: [
                  {
                    traceId: TRACE,
                    spanId: SPAN,
                    newThing: {},
                    attributes: [{ key: 'k', value: { stringValue: 'v', why: 1 }, note: null }],
                  },
                ],
              },
            ],
          },
        ],
      }),
    );
    assert.deepEqual(Buffer.from(noisy), Buffer.from(plain));
  });

  it('refuses a field given under both names, and two values in one AnyValue', () => {
    expectError(
      () => otlpJsonToProtobuf(JSON.stringify({ resourceSpans: [], resource_spans: [] })),
      'ERR_PROTO_JSON_FIELD',
      'resource_spans: given twice, as "resourceSpans" and "resource_spans"',
    );
    const attributes = [{ key: 'k', value: { stringValue: 'a', intValue: 1 } }];
    expectError(
      () => otlpJsonToProtobuf(oneSpan({ traceId: TRACE, spanId: SPAN, attributes })),
      'ERR_PROTO_JSON_FIELD',
      'resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value: more than one value given ("stringValue" and "intValue")',
    );
  });

  it('refuses values of the wrong JSON type with their path', () => {
    expectError(() => otlpJsonToProtobuf('[]'), 'ERR_PROTO_JSON_FIELD', 'request: expected an object, got an array');
    expectError(
      () => otlpJsonToProtobuf('{"resourceSpans":{}}'),
      'ERR_PROTO_JSON_FIELD',
      'resourceSpans: expected an array, got an object',
    );
    expectError(
      () => otlpJsonToProtobuf(oneSpan({ traceId: TRACE, spanId: SPAN, name: 5 })),
      'ERR_PROTO_JSON_FIELD',
      'resourceSpans[0].scopeSpans[0].spans[0].name: expected a string, got number 5',
    );
    expectError(
      () => otlpJsonToProtobuf(oneSpan({ traceId: TRACE, spanId: SPAN, attributes: [{ key: 'k', value: { bytesValue: '***' } }] })),
      'ERR_PROTO_JSON_FIELD',
      'resourceSpans[0].scopeSpans[0].spans[0].attributes[0].value.bytesValue: expected base64, got a string "***"',
    );
  });

  it('reports syntax errors with line and column', () => {
    expectError(
      () => otlpJsonToProtobuf('{\n  "resourceSpans": [\n    {,}\n  ]\n}'),
      'ERR_PROTO_JSON_SYNTAX',
      'unexpected character "," at line 3, column 6',
    );
    expectError(() => otlpJsonToProtobuf('{"resourceSpans": [1, 2'), 'ERR_PROTO_JSON_SYNTAX', 'unexpected end of input at line 1, column 24');
    expectError(() => otlpJsonToProtobuf(Buffer.from('{"a": "x\ny"}')), 'ERR_PROTO_JSON_SYNTAX', 'control character in a string at line 1, column 9');
    expectError(() => otlpJsonToProtobuf('{"a": 1} x'), 'ERR_PROTO_JSON_SYNTAX', 'unexpected text after the JSON value at line 1, column 10');
    expectError(() => otlpJsonToProtobuf(''), 'ERR_PROTO_JSON_SYNTAX', 'unexpected end of input at line 1, column 1');
  });

  it('carries bytes that are not UTF-8 into the protobuf strings unchanged', () => {
    const head = Buffer.from(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TRACE}","spanId":"${SPAN}","name":"a`);
    const tail = Buffer.from('b"}]}]}]}');
    const bad = Buffer.from([0xff, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0xf0, 0x9f, 0x98]);
    const bytes = otlpJsonToProtobuf(Buffer.concat([head, bad, tail]));
    const expected = Buffer.concat([Buffer.from('a'), bad, Buffer.from('b')]);
    assert.notEqual(Buffer.from(bytes).indexOf(expected), -1);
  });

  it('never fails on random text except with a JSON code', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.json(), requestArb.map((r) => JSON.stringify(r).slice(0, -3))), (body) => {
        try {
          otlpJsonToProtobuf(body);
        } catch (err) {
          assert.ok(['ERR_PROTO_JSON_SYNTAX', 'ERR_PROTO_JSON_FIELD'].includes((err as CodedError).code ?? ''), String(err));
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('parseLosslessJson', () => {
  it('agrees with JSON.parse on ordinary JSON', () => {
    fc.assert(
      fc.property(fc.json(), (text) => {
        // fc.json writes some doubles of 2^53 and above as plain digits; those
        // come back as bigint, so compare them as numbers.
        const bigints: bigint[] = [];
        const asNumbers = (v: unknown): unknown => {
          if (typeof v === 'bigint') {
            bigints.push(v);
            return Number(v);
          }
          if (Array.isArray(v)) return v.map(asNumbers);
          if (v !== null && typeof v === 'object') {
            return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, asNumbers(x)]));
          }
          return v;
        };
        assert.deepEqual(asNumbers(parseLosslessJson(text)), JSON.parse(text));
        for (const b of bigints) assert.ok(!Number.isSafeInteger(Number(b)), String(b));
        // The same text with a long integer added takes the exact path.
        const wrapped = `[${text}, 12345678901234567890]`;
        const [inner, big] = parseLosslessJson(wrapped) as [unknown, unknown];
        assert.equal(big, 12345678901234567890n);
        assert.deepEqual(asNumbers(inner), JSON.parse(text));
      }),
    );
  });

  it('returns integers beyond 2^53 as bigint and keeps the rest as numbers', () => {
    const text = '[9007199254740991, 9007199254740992, -9007199254740993, 1.5e300, 12345678901234567890.5, -0]';
    assert.deepEqual(parseLosslessJson(text), [
      9007199254740991,
      9007199254740992n,
      -9007199254740993n,
      1.5e300,
      12345678901234567890.5,
      -0,
    ]);
  });

  it('makes __proto__ an own property, like JSON.parse', () => {
    const value = parseLosslessJson('{"__proto__": {"x": 1}, "n": 12345678901234567890}') as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(value), Object.prototype);
    assert.deepEqual(Object.keys(value), ['__proto__', 'n']);
  });

  it('refuses nesting beyond its limit with a syntax error', () => {
    const deep = `${'['.repeat(2000)}12345678901234567890${']'.repeat(2000)}`;
    expectError(() => parseLosslessJson(deep), 'ERR_PROTO_JSON_SYNTAX', /nesting deeper than 1000 levels/);
  });
});

describe('protobufToOtlpJson', () => {
  it('round-trips random requests through JSON', () => {
    fc.assert(
      fc.property(requestArb, (request: JsonRequest) => {
        const bytes = otlpJsonToProtobuf(JSON.stringify(request));
        const again = otlpJsonToProtobuf(protobufToOtlpJson(bytes));
        assert.deepEqual(Buffer.from(again), Buffer.from(bytes));
      }),
      { numRuns: 200 },
    );
  });

  it('writes hex IDs, integer strings and non-finite doubles as OTLP/JSON does', async () => {
    const spans = await createSdkSpans();
    const json = JSON.parse(protobufToOtlpJson(ProtobufTraceSerializer.serializeRequest(spans) as Uint8Array));
    const span = json.resourceSpans[0].scopeSpans[0].spans[0];
    assert.match(span.traceId, /^[0-9a-f]{32}$/);
    assert.match(span.startTimeUnixNano, /^[0-9]{19}$/);
    const attributes = [{ key: 'n', value: { doubleValue: 'NaN' } }];
    const nan = protobufToOtlpJson(otlpJsonToProtobuf(oneSpan({ traceId: TRACE, spanId: SPAN, attributes })));
    assert.match(nan, /"doubleValue":"NaN"/);
  });

  it('refuses malformed protobuf with the field path', () => {
    const bytes = otlpJsonToProtobuf(oneSpan({ traceId: TRACE, spanId: SPAN, name: 'checkout' }));
    expectError(() => protobufToOtlpJson(bytes.subarray(0, bytes.length - 3)), 'ERR_PROTO_MALFORMED', /^resourceSpans: length \d+ past the end/);
  });
});
