import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import fc from 'fast-check';

import { DURATION_MISSING } from '../../dsl/trace-model';
import { decodeTraceRequest } from '../../proto/decode-request';
import { otlpJsonToProtobuf } from '../../proto/otlp-json';
import { decodeRequestFull, encodeRequestFull, otlpType } from '../helpers/otlp-decode';
import { requestArb, toProtobufjsObject } from './arbitraries';
import { actualSpans, allKeys, expectedSpans } from './expected-records';
import { createSdkSpans } from './sdk-spans';

import type { Projection } from '../../dsl/trace-model';
import type { PlainMessage } from '../helpers/otlp-decode';
import type { JsonRequest } from './arbitraries';

type CodedError = Error & { code?: string };

const TRACE = '5b8efff798038103d269b633813fc60c';
const TRACE_2 = '0af7651916cd43dd8448eb211c80319c';
const NO_KEYS: Projection = { spanAttributes: new Set(), resourceAttributes: new Set(), spanNames: null };

function projection(span: string[], resource: string[] = []): Projection {
  return { spanAttributes: new Set(span), resourceAttributes: new Set(resource), spanNames: null };
}

function spanId(n: number): string {
  return (n + 1).toString(16).padStart(16, '0');
}

/** A span in OTLP/JSON object form with the given extra fields. */
function span(n: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    traceId: n % 2 === 0 ? TRACE : TRACE_2,
    spanId: spanId(n),
    name: `op-${n}`,
    startTimeUnixNano: String(1_700_000_000_000_000_000n + BigInt(n) * 1000n),
    endTimeUnixNano: String(1_700_000_000_000_000_000n + BigInt(n) * 1000n + 500n),
    ...extra,
  };
}

function request(...resourceSpans: Array<Record<string, unknown>>): Uint8Array {
  return encodeRequestFull(toProtobufjsObject({ resourceSpans }) as JsonRequest);
}

type Json = Record<string, unknown>;

function block(spans: Json[], resource: Json | null = null, scope: Json = { name: 'app' }): Json {
  return { ...(resource === null ? {} : { resource }), scopeSpans: [{ scope, spans }] };
}

function attr(key: string, value: Record<string, unknown>): Record<string, unknown> {
  return { key, value };
}

/** Replaces the first occurrence of `marker` (same length) with raw bytes, e.g. invalid UTF-8. */
function patch(bytes: Uint8Array, marker: string, replacement: number[]): Uint8Array {
  const out = Buffer.from(bytes);
  const at = out.indexOf(marker);
  assert.notEqual(at, -1, `marker ${marker} not found`);
  assert.equal(replacement.length, Buffer.byteLength(marker));
  Buffer.from(replacement).copy(out, at);
  return out;
}

function expectMalformed(bytes: Uint8Array, message: string | RegExp): void {
  assert.throws(
    () => decodeTraceRequest(bytes, NO_KEYS),
    (err: CodedError) => {
      assert.equal(err.code, 'ERR_PROTO_MALFORMED');
      assert.equal((err as { retryable?: boolean }).retryable, false);
      if (typeof message === 'string') assert.equal(err.message, message);
      else assert.match(err.message, message);
      return true;
    },
  );
}

describe('decodeTraceRequest', () => {
  describe('records', () => {
    it('agrees with a full decode of what the OpenTelemetry SDK serializes', async () => {
      const bytes = ProtobufTraceSerializer.serializeRequest(await createSdkSpans()) as Uint8Array;
      const keys = allKeys(bytes);
      const batch = decodeTraceRequest(bytes, keys);
      assert.equal(batch.total, 4);
      assert.deepEqual(actualSpans(batch), expectedSpans(bytes, keys));
      assert.equal(batch.forward, bytes);
    });

    it('agrees with a full decode on random requests', () => {
      fc.assert(
        fc.property(requestArb, fc.boolean(), (req: JsonRequest, useJson) => {
          const bytes = useJson ? otlpJsonToProtobuf(JSON.stringify(req)) : encodeRequestFull(toProtobufjsObject(req) as JsonRequest);
          const keys = allKeys(bytes);
          const some: Projection = {
            spanAttributes: new Set([...keys.spanAttributes].filter((_k, i) => i % 2 === 0).concat(['not.present'])),
            resourceAttributes: keys.resourceAttributes,
            spanNames: null,
          };
          for (const p of [keys, some, NO_KEYS]) {
            const batch = decodeTraceRequest(bytes, p);
            assert.deepEqual(actualSpans(batch), expectedSpans(bytes, p));
            assert.equal(batch.rejected, 0);
            assert.equal(batch.rejectMessage, '');
            assert.equal(batch.forward, bytes);
          }
        }),
        { numRuns: 150 },
      );
    });

    it('reads attributes only of the span names the projection lists, and still validates the others', () => {
      const byName: Projection = { spanAttributes: new Set(['k']), resourceAttributes: new Set(), spanNames: new Set(['op-0']) };
      const bytes = request(block([
        span(0, { attributes: [attr('k', { stringValue: 'read' })] }),
        span(1, { attributes: [attr('k', { stringValue: 'skipped' })] }),
      ]));
      const batch = decodeTraceRequest(bytes, byName);
      assert.deepEqual(batch.spans.map((r) => [r.name, r.attrs]), [['op-0', ['k', 'read']], ['op-1', null]]);
      const broken = patch(request(block([span(1, { attributes: [attr('k', { stringValue: 'XX' })] })])), 'XX', [0xc3, 0x28]);
      const rejected = decodeTraceRequest(broken, byName);
      assert.equal(rejected.rejected, 1, 'invalid UTF-8 rejects a span even when no rule reads it');
    });

    it('gives text forms as DSL.md 2.2 and 13 say', () => {
      const attributes = [
        attr('s', { stringValue: 'GET /users' }),
        attr('empty', { stringValue: '' }),
        attr('big', { intValue: '9007199254740993' }),
        attr('neg', { intValue: '-9223372036854775808' }),
        attr('small', { intValue: '-3' }),
        attr('d', { doubleValue: 0.1 }),
        attr('e21', { doubleValue: 1e21 }),
        attr('nan', { doubleValue: NaN }),
        attr('inf', { doubleValue: -Infinity }),
        attr('t', { boolValue: true }),
        attr('f', { boolValue: false }),
        attr('b', { bytesValue: Buffer.from([0, 1, 2, 250, 255]).toString('base64') }),
        attr('arr', {
          arrayValue: {
            values: [
              { stringValue: 'a"b' },
              { intValue: '1234567890123456789' },
              { doubleValue: NaN },
              { boolValue: true },
              {},
            ],
          },
        }),
        attr('kv', {
          kvlistValue: {
            values: [
              { key: 'z', value: { doubleValue: 2.5 } },
              { key: 'a', value: { arrayValue: {} } },
              { key: 'n' },
            ],
          },
        }),
        attr('none', {}),
      ];
      const keys = attributes.map((a) => a.key as string);
      const bytes = request(block([span(0, { attributes })]));
      const batch = decodeTraceRequest(bytes, projection(keys));
      assert.deepEqual(batch.spans[0].attrs, [
        's', 'GET /users',
        'empty', '',
        'big', '9007199254740993',
        'neg', '-9223372036854775808',
        'small', '-3',
        'd', '0.1',
        'e21', '1e+21',
        'nan', 'NaN',
        'inf', '-Infinity',
        't', 'true',
        'f', 'false',
        'b', 'AAEC+v8=',
        'arr', '["a\\"b",1234567890123456789,"NaN",true,null]',
        'kv', '{"z":2.5,"a":[],"n":null}',
      ]);
    });

    it('lets the last of a repeated key win, an empty value included', () => {
      const attributes = [
        attr('k', { stringValue: 'first' }),
        attr('j', { stringValue: 'kept' }),
        attr('k', { stringValue: 'second' }),
        attr('j', {}),
      ];
      const batch = decodeTraceRequest(request(block([span(0, { attributes })])), projection(['k', 'j']));
      assert.deepEqual(batch.spans[0].attrs, ['k', 'second']);
    });

    it('reads times, kind, status and root exactly', () => {
      const start = 1_700_000_000_123_456_789n;
      const spans = [
        span(0, { startTimeUnixNano: String(start), endTimeUnixNano: String(start + 123_456_789n), kind: 3, status: { code: 2, message: 'boom' } }),
        span(1, { startTimeUnixNano: String(start), endTimeUnixNano: String(start - 1n), parentSpanId: spanId(9) }),
        span(2, { startTimeUnixNano: '0', parentSpanId: '0'.repeat(16) }),
        span(3, { endTimeUnixNano: '0' }),
        span(4, { startTimeUnixNano: String(start), endTimeUnixNano: String(start) }),
        span(5, { startTimeUnixNano: '4294967295', endTimeUnixNano: '4294967297' }),
      ];
      const batch = decodeTraceRequest(request(block(spans)), NO_KEYS);
      assert.deepEqual(
        batch.spans.map((s) => [s.durationNs, s.isRoot, s.kind, s.status]),
        [
          [123_456_789, true, 3, 2],
          [DURATION_MISSING, false, 0, 0],
          [DURATION_MISSING, true, 0, 0],
          [DURATION_MISSING, true, 0, 0],
          [0, true, 0, 0],
          [2, true, 0, 0],
        ],
      );
      assert.equal(batch.spans[0].startNs, Number(start));
      assert.deepEqual(batch.traceIds, [TRACE, TRACE_2, TRACE, TRACE_2, TRACE, TRACE_2]);
    });

    it('shares one resource record per block and across requests, with a copy of its bytes', () => {
      const resource = { attributes: [attr('service.name', { stringValue: 'checkout' }), attr('host', { stringValue: 'h1' })] };
      const bytes = Buffer.from(request(block([span(0), span(1)], resource), block([span(2)])));
      const p = projection([], ['service.name']);
      const first = decodeTraceRequest(bytes, p);
      const [a, b, c] = first.spans;
      assert.equal(a.resource, b.resource);
      assert.deepEqual(a.resource.attrs, ['service.name', 'checkout']);
      assert.deepEqual(c.resource, { attrs: null, raw: null });
      const type = otlpType('opentelemetry.proto.resource.v1.Resource');
      const resourceBytes = Buffer.from(type.encode(type.fromObject(resource)).finish());
      assert.deepEqual(Buffer.from(a.resource.raw as Uint8Array), resourceBytes);
      const again = decodeTraceRequest(Buffer.from(bytes), p);
      assert.equal(again.spans[0].resource, a.resource);
      bytes.fill(0);
      assert.deepEqual(Buffer.from(a.resource.raw as Uint8Array), resourceBytes);
    });

    it('forwards but does not buffer spans of the betrace scope', () => {
      const bytes = request(block([span(0), span(1)], null, { name: 'betrace', version: '0.1.0' }), block([span(2)]));
      const batch = decodeTraceRequest(bytes, NO_KEYS);
      assert.equal(batch.total, 3);
      assert.equal(batch.ownSpans, 2);
      assert.equal(batch.spans.length, 1);
      assert.equal(batch.spans[0].name, 'op-2');
      assert.equal(batch.forward, bytes);
    });

    it('skips unknown fields in every message', () => {
      const plain = request(
        block(
          [
            span(0, {
              attributes: [attr('k', { arrayValue: { values: [{ stringValue: 'v' }] } })],
              events: [{ name: 'e' }],
              links: [{ traceId: TRACE, spanId: spanId(7) }],
              status: { code: 1 },
            }),
          ],
          { attributes: [attr('service.name', { stringValue: 'svc' })] },
        ),
      );
      // Unknown field 99 in each of the five wire types appended to every
      // message: their bodies are re-encoded with the extra bytes.
      const extra = Buffer.from([
        ...[0x98, 0x06, 0x05],
        ...[0x99, 0x06, 1, 2, 3, 4, 5, 6, 7, 8],
        ...[0x9a, 0x06, 0x01, 0xff],
        ...[0x9d, 0x06, 1, 2, 3, 4],
        ...[0x9b, 0x06, 0x08, 0x01, 0x9c, 0x06],
      ]);
      const noisy = appendToEveryMessage(plain, extra);
      const p = projection(['k'], ['service.name']);
      assert.deepEqual(actualSpans(decodeTraceRequest(noisy, p)), actualSpans(decodeTraceRequest(plain, p)));
      assert.deepEqual(actualSpans(decodeTraceRequest(plain, p)), expectedSpans(plain, p));
    });
  });

  describe('rejected spans', () => {
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['an all-zero trace ID', { traceId: '0'.repeat(32) }, 'trace ID is all zero'],
      ['an all-zero span ID', { spanId: '0'.repeat(16) }, 'span ID is all zero'],
      ['a 15-byte trace ID', { traceId: TRACE.slice(2) }, 'trace ID of 15 bytes'],
      ['a 9-byte span ID', { spanId: `${spanId(1)}ab` }, 'span ID of 9 bytes'],
      ['no span ID', { spanId: '' }, 'no span ID'],
      ['a 4-byte parent span ID', { parentSpanId: 'abcdef01' }, 'parent span ID of 4 bytes'],
    ];
    for (const [what, fields, reason] of cases) {
      it(`rejects a span with ${what} and forwards the rest byte for byte`, () => {
        const spans = [span(0), span(1, fields), span(2)];
        const bytes = request(block(spans, { attributes: [attr('service.name', { stringValue: 'a' })] }), block([span(3)]));
        const batch = decodeTraceRequest(bytes, NO_KEYS);
        assert.equal(batch.rejected, 1);
        assert.equal(batch.total, 4);
        assert.deepEqual(batch.spans.map((s) => s.name), ['op-0', 'op-2', 'op-3']);
        assert.equal(batch.rejectMessage, `1 of 4 spans rejected: resourceSpans[0].scopeSpans[0].spans[1]: ${reason}`);
        const expected = request(block([span(0), span(2)], { attributes: [attr('service.name', { stringValue: 'a' })] }), block([span(3)]));
        assert.deepEqual(Buffer.from(batch.forward as Uint8Array), Buffer.from(expected));
      });
    }

    const utf8Cases: Array<[string, Record<string, unknown>, string]> = [
      ['the name', { name: 'BADX' }, 'invalid UTF-8 in the name'],
      ['an unprojected attribute key', { attributes: [attr('BADX', { stringValue: 'v' })] }, 'invalid UTF-8 in an attribute'],
      ['a projected attribute value', { attributes: [attr('k', { stringValue: 'BADX' })] }, 'invalid UTF-8 in an attribute'],
      ['an unprojected attribute value', { attributes: [attr('other', { stringValue: 'BADX' })] }, 'invalid UTF-8 in an attribute'],
      [
        'a nested array string',
        { attributes: [attr('k', { arrayValue: { values: [{ kvlistValue: { values: [attr('BADX', {})] } }] } })] },
        'invalid UTF-8 in an attribute',
      ],
      ['an event name', { events: [{ name: 'BADX' }] }, 'invalid UTF-8 in an event'],
      ['an event attribute', { events: [{ name: 'e', attributes: [attr('x', { stringValue: 'BADX' })] }] }, 'invalid UTF-8 in an event'],
      ['a link trace state', { links: [{ traceId: TRACE, spanId: spanId(5), traceState: 'BADX' }] }, 'invalid UTF-8 in a link'],
      ['the trace state', { traceState: 'BADX' }, 'invalid UTF-8 in the trace_state'],
      ['the status message', { status: { message: 'BADX', code: 2 } }, 'invalid UTF-8 in the status message'],
    ];
    for (const [what, fields, reason] of utf8Cases) {
      it(`rejects a span with invalid UTF-8 in ${what}`, () => {
        const good = request(block([span(0), span(1, fields), span(2)]));
        const bytes = patch(good, 'BADX', [0x41, 0xc3, 0x28, 0x42]);
        const batch = decodeTraceRequest(bytes, projection(['k']));
        assert.equal(batch.rejected, 1);
        assert.equal(batch.rejectMessage, `1 of 3 spans rejected: resourceSpans[0].scopeSpans[0].spans[1]: ${reason}`);
        assert.deepEqual(batch.spans.map((s) => s.name), ['op-0', 'op-2']);
        assert.deepEqual(Buffer.from(batch.forward as Uint8Array), Buffer.from(request(block([span(0), span(2)]))));
      });
    }

    it('accepts valid multi-byte UTF-8 everywhere', () => {
      const text = 'naïve ☕ 𝄞 日本';
      const attributes = [attr('k', { stringValue: text }), attr(text, { stringValue: text })];
      const resource = { attributes: [attr(text, { stringValue: text })] };
      const bytes = request(block([span(0, { name: text, attributes })], resource));
      const batch = decodeTraceRequest(bytes, projection(['k', text], [text]));
      assert.equal(batch.rejected, 0);
      assert.equal(batch.spans[0].name, text);
      assert.deepEqual(batch.spans[0].attrs, ['k', text, text, text]);
      assert.deepEqual(batch.spans[0].resource.attrs, [text, text]);
    });

    it('rejects a whole block for invalid UTF-8 in its resource or scope', () => {
      const bytes = patch(
        request(
          block([span(0), span(1)], { attributes: [attr('service.name', { stringValue: 'BADX' })] }),
          { scopeSpans: [{ scope: { name: 'lib', version: 'BADY' }, spans: [span(2)] }, { scope: { name: 'ok' }, spans: [span(3)] }] },
        ),
        'BADX',
        [0xff, 0x41, 0x41, 0x41],
      );
      const badScope = patch(bytes, 'BADY', [0xed, 0xa0, 0x80, 0x41]);
      const batch = decodeTraceRequest(badScope, projection([], ['service.name']));
      assert.equal(batch.rejected, 3);
      assert.equal(
        batch.rejectMessage,
        '3 of 4 spans rejected: resourceSpans[0].scopeSpans[0]: invalid UTF-8 in the resource (2 spans); ' +
          'resourceSpans[1].scopeSpans[0]: invalid UTF-8 in the instrumentation scope (1 span)',
      );
      assert.deepEqual(batch.spans.map((s) => s.name), ['op-3']);
      const expected = request({ scopeSpans: [{ scope: { name: 'ok' }, spans: [span(3)] }] });
      assert.deepEqual(Buffer.from(batch.forward as Uint8Array), Buffer.from(expected));
    });

    it('forwards nothing when every span is rejected', () => {
      const batch = decodeTraceRequest(request(block([span(0, { traceId: '0'.repeat(32) })])), NO_KEYS);
      assert.equal(batch.rejected, 1);
      assert.equal(batch.forward, null);
      assert.equal(batch.spans.length, 0);
    });

    it('lists the first five reasons and counts the rest', () => {
      const spans = Array.from({ length: 8 }, (_v, i) => span(i, { spanId: '0'.repeat(16) }));
      const batch = decodeTraceRequest(request(block([...spans, span(9)])), NO_KEYS);
      assert.equal(batch.rejected, 8);
      const reasons = [0, 1, 2, 3, 4].map((i) => `resourceSpans[0].scopeSpans[0].spans[${i}]: span ID is all zero`);
      assert.equal(batch.rejectMessage, `8 of 9 spans rejected: ${reasons.join('; ')}; and 3 more`);
    });

    it('rejects through partial success what OTLP/JSON carried as invalid UTF-8', () => {
      const json = Buffer.concat([
        Buffer.from(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${TRACE}","spanId":"${spanId(1)}","name":"a`),
        Buffer.from([0xfe]),
        Buffer.from(`"},{"traceId":"${TRACE}","spanId":"${spanId(2)}","name":"\\ud800"},{"traceId":"${TRACE}","spanId":"${spanId(3)}","name":"ok"}]}]}]}`),
      ]);
      const batch = decodeTraceRequest(otlpJsonToProtobuf(json), NO_KEYS);
      assert.equal(batch.rejected, 2);
      assert.deepEqual(batch.spans.map((s) => s.name), ['ok']);
      const forwarded = decodeRequestFull(batch.forward as Uint8Array);
      assert.deepEqual(forwarded.resourceSpans[0].scopeSpans[0].spans.map((s: PlainMessage) => s.spanId), [spanId(3)]);
    });
  });

  describe('malformed requests', () => {
    const good = () => request(block([span(0, { attributes: [attr('k', { stringValue: 'value' })] }), span(1)]));

    it('names truncation with the field path and byte offset', () => {
      const bytes = good();
      expectMalformed(bytes.subarray(0, bytes.length - 1), /^request: length \d+ past the end of the message \(\d+ bytes left\) at byte 1$/);
      const full = decodeRequestFull(bytes);
      assert.equal(full.resourceSpans.length, 1);
    });

    it('names the span and part where a nested length runs past its message', () => {
      // Grow the first attribute's declared length by one inside an intact span.
      const bytes = Buffer.from(good());
      // After the name come the two times (key and 8 bytes each), then the attribute.
      const at = bytes.indexOf('op-0') + 4 + 9 + 9;
      assert.equal(bytes[at], 0x4a);
      bytes[at + 1] += 1;
      const where = 'resourceSpans\\[0\\]\\.scopeSpans\\[0\\]\\.spans\\[0\\]';
      const problem = `length ${bytes[at + 1]} past the end of the message \\(\\d+ bytes left\\)`;
      expectMalformed(bytes, new RegExp(`^${where}: ${problem} at byte ${at + 1}$`));
    });

    it('refuses a known field with the wrong wire type', () => {
      const bytes = Buffer.from(good());
      const at = bytes.indexOf('op-0') - 2; // the key of Span.name
      bytes[at] = 0x28; // field 5 as a varint
      expectMalformed(bytes, `resourceSpans[0].scopeSpans[0].spans[0]: Span field 5 has wire type 0, expected 2 at byte ${at + 1}`);
    });

    it('refuses invalid wire types, field number 0 and stray group ends', () => {
      expectMalformed(Buffer.from([0x16]), 'request: invalid wire type 6 (field 2) at byte 1');
      expectMalformed(Buffer.from([0x08]), 'request: ExportTraceServiceRequest field 1 has wire type 0, expected 2 at byte 1');
      expectMalformed(Buffer.from([0x00, 0x01]), 'request: field number 0 (key 0) at byte 0');
      expectMalformed(Buffer.from([0x14]), 'request: end of group without a start (field 2) at byte 1');
      expectMalformed(Buffer.from([0x13, 0x08, 0x01]), 'request: unterminated group (field 2) at byte 3');
      expectMalformed(Buffer.alloc(100000, 0x13), 'request: groups nested deeper than 100 levels at byte 101');
      assert.equal(decodeTraceRequest(Buffer.from([0x13, 0x1b, 0x1c, 0x08, 0x05, 0x14]), NO_KEYS).total, 0);
      expectMalformed(Buffer.from([0x10, 0xff, 0xff]), 'request: truncated varint at byte 3');
      expectMalformed(Buffer.from([0x10, ...new Array(10).fill(0xff), 0x01]), 'request: varint longer than ten bytes at byte 1');
    });

    it('refuses values nested deeper than the limit', () => {
      const field = (key: number, body: Buffer): Buffer => {
        const len: number[] = [];
        for (let n = body.length; ; n >>>= 7) {
          if (n < 0x80) {
            len.push(n);
            break;
          }
          len.push((n & 0x7f) | 0x80);
        }
        return Buffer.concat([Buffer.from([key, ...len]), body]);
      };
      let value = field(0x0a, Buffer.from('x'));
      for (let i = 0; i < 60; i++) value = field(0x2a, field(0x0a, value)); // array_value { values: [value] }
      const keyValue = Buffer.concat([field(0x0a, Buffer.from('k')), field(0x12, value)]);
      const ids = Buffer.concat([field(0x0a, Buffer.from(TRACE, 'hex')), field(0x12, Buffer.from(spanId(0), 'hex'))]);
      const spanBytes = Buffer.concat([ids, field(0x4a, keyValue)]);
      const bytes = field(0x0a, field(0x12, field(0x12, spanBytes)));
      expectMalformed(bytes, /^resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.attributes: messages nested deeper than 100 levels at byte \d+$/);
      const flat = Buffer.concat([field(0x0a, Buffer.from('k')), field(0x12, field(0x0a, Buffer.from('x')))]);
      const shallow = field(0x0a, field(0x12, field(0x12, Buffer.concat([ids, field(0x4a, flat)]))));
      assert.equal(decodeTraceRequest(shallow, NO_KEYS).spans.length, 1);
    });

    it('never fails on random or damaged bytes except as malformed', () => {
      const base = Buffer.from(good());
      const damaged = fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 })).map(([at, b]) => {
        const copy = Buffer.from(base);
        copy[at] = b;
        return copy;
      });
      const truncated = fc.nat(base.length).map((n) => base.subarray(0, n));
      fc.assert(
        fc.property(fc.oneof(fc.uint8Array({ maxLength: 200 }), damaged, truncated), (bytes) => {
          try {
            const batch = decodeTraceRequest(bytes, projection(['k']));
            assert.equal(batch.spans.length + batch.rejected + batch.ownSpans, batch.total);
          } catch (err) {
            assert.equal((err as CodedError).code, 'ERR_PROTO_MALFORMED', String(err));
          }
        }),
        { numRuns: 2000 },
      );
    });
  });
});

/**
 * Re-encodes a request with `extra` appended to the body of every message
 * (every length-delimited field that protobufjs decodes as a message).
 */
function appendToEveryMessage(bytes: Uint8Array, extra: Buffer): Uint8Array {
  const messageFields: Record<string, Record<number, string>> = {
    request: { 1: 'rs' },
    rs: { 1: 'resource', 2: 'ss' },
    resource: { 1: 'kv' },
    ss: { 1: 'scope', 2: 'span' },
    scope: { 3: 'kv' },
    span: { 9: 'kv', 11: 'event', 13: 'link', 15: 'status' },
    event: { 3: 'kv' },
    link: { 4: 'kv' },
    status: {},
    kv: { 2: 'any' },
    any: { 5: 'list', 6: 'kvlist' },
    list: { 1: 'any' },
    kvlist: { 1: 'kv' },
  };
  const varint = (n: number): number[] => {
    const out: number[] = [];
    while (n >= 0x80) {
      out.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    out.push(n);
    return out;
  };
  const rewrite = (buf: Buffer, type: string): Buffer => {
    const parts: Buffer[] = [];
    let p = 0;
    while (p < buf.length) {
      const start = p;
      let key = 0;
      let shift = 0;
      let b: number;
      do {
        b = buf[p++];
        key |= (b & 0x7f) << shift;
        shift += 7;
      } while (b >= 0x80);
      const wt = key & 7;
      if (wt === 0) {
        while (buf[p++] >= 0x80);
      } else if (wt === 1) p += 8;
      else if (wt === 5) p += 4;
      else {
        let len = 0;
        shift = 0;
        do {
          b = buf[p++];
          len |= (b & 0x7f) << shift;
          shift += 7;
        } while (b >= 0x80);
        const child = messageFields[type][key >>> 3];
        if (child !== undefined) {
          const body = rewrite(buf.subarray(p, p + len), child);
          parts.push(Buffer.from([...varint(key), ...varint(body.length)]), body);
          p += len;
          continue;
        }
        p += len;
      }
      parts.push(buf.subarray(start, p));
    }
    if (type !== 'request') parts.push(extra);
    return Buffer.concat(parts);
  };
  return rewrite(Buffer.from(bytes), 'request');
}
