import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { decodeTraceRequest } from '../../proto/decode-request';
import { encodeSpansRequest } from '../../proto/encode-spans';
import { decodeRequestFull, otlpType } from '../helpers/otlp-decode';

import type { OutputSpan } from '../../proto/encode-spans';

type CodedError = Error & { code?: string };

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SCOPE = { name: 'betrace', version: '0.1.0' };
const EXTRA = [['betrace.processor.version', '0.1.0']] as const;

function resourceBytes(attributes: Record<string, string>): Uint8Array {
  const type = otlpType('opentelemetry.proto.resource.v1.Resource');
  const object = { attributes: Object.entries(attributes).map(([key, v]) => ({ key, value: { stringValue: v } })) };
  return type.encode(type.fromObject(object)).finish();
}

function outputSpan(n: number, resource: Uint8Array | null, extra: Partial<OutputSpan> = {}): OutputSpan {
  return {
    traceId: TRACE,
    spanId: `00000000000000${n.toString(16).padStart(2, '0')}`,
    parentSpanId: '00f067aa0ba902b7',
    name: 'betrace.violation',
    kind: 1,
    startNs: 1_700_000_000_123_456_789n,
    endNs: 1_700_000_000_124_456_789n,
    statusCode: 2,
    statusMessage: 'payments need a fraud check',
    attributes: [
      ['betrace.violation', true],
      ['betrace.violation.rule_id', 'fraud-check'],
      ['betrace.violation.span_ids', ['00f067aa0ba902b7', 'b7ad6b7169203331']],
      ['count', 9_007_199_254_740_993n],
      ['ratio', 0.25],
    ],
    resource,
    ...extra,
  };
}

describe('encodeSpansRequest', () => {
  it('writes every field so that a full decoder reads it back', () => {
    const resource = resourceBytes({ 'service.name': 'checkout' });
    const decoded = decodeRequestFull(encodeSpansRequest([outputSpan(1, resource)], SCOPE, EXTRA));
    assert.equal(decoded.resourceSpans.length, 1);
    const rs = decoded.resourceSpans[0];
    assert.deepEqual(
      rs.resource.attributes.map((kv: { key: string; value: { stringValue: string } }) => [kv.key, kv.value.stringValue]),
      [['service.name', 'checkout'], ['betrace.processor.version', '0.1.0']],
    );
    assert.deepEqual(rs.scopeSpans[0].scope, { name: 'betrace', version: '0.1.0', attributes: [], droppedAttributesCount: 0 });
    const span = rs.scopeSpans[0].spans[0];
    assert.equal(span.traceId, TRACE);
    assert.equal(span.spanId, '0000000000000001');
    assert.equal(span.parentSpanId, '00f067aa0ba902b7');
    assert.equal(span.name, 'betrace.violation');
    assert.equal(span.kind, 1);
    assert.equal(span.startTimeUnixNano, '1700000000123456789');
    assert.equal(span.endTimeUnixNano, '1700000000124456789');
    assert.deepEqual(span.status, { message: 'payments need a fraud check', code: 2 });
    assert.deepEqual(span.attributes, [
      { key: 'betrace.violation', value: { boolValue: true } },
      { key: 'betrace.violation.rule_id', value: { stringValue: 'fraud-check' } },
      {
        key: 'betrace.violation.span_ids',
        value: { arrayValue: { values: [{ stringValue: '00f067aa0ba902b7' }, { stringValue: 'b7ad6b7169203331' }] } },
      },
      { key: 'count', value: { intValue: '9007199254740993' } },
      { key: 'ratio', value: { doubleValue: 0.25 } },
    ]);
  });

  it('groups spans by resource bytes, not by object', () => {
    const a = resourceBytes({ 'service.name': 'a' });
    const aCopy = new Uint8Array(a);
    const b = resourceBytes({ 'service.name': 'b' });
    const spans = [outputSpan(1, a), outputSpan(2, b), outputSpan(3, aCopy), outputSpan(4, null), outputSpan(5, b)];
    const decoded = decodeRequestFull(encodeSpansRequest(spans, SCOPE, EXTRA));
    type Block = {
      resource: { attributes: Array<{ key: string; value: { stringValue: string } }> };
      scopeSpans: Array<{ spans: Array<{ spanId: string }> }>;
    };
    const groups = decoded.resourceSpans.map((rs: Block) => [
      rs.resource.attributes.map((kv) => `${kv.key}=${kv.value.stringValue}`),
      rs.scopeSpans[0].spans.map((s) => s.spanId.slice(-1)),
    ]);
    assert.deepEqual(groups, [
      [['service.name=a', 'betrace.processor.version=0.1.0'], ['1', '3']],
      [['service.name=b', 'betrace.processor.version=0.1.0'], ['2', '5']],
      [['betrace.processor.version=0.1.0'], ['4']],
    ]);
  });

  it('replaces a resource attribute that an extra one names, keeping the other fields', () => {
    const type = otlpType('opentelemetry.proto.resource.v1.Resource');
    const raw = type
      .encode(
        type.fromObject({
          attributes: [
            { key: 'betrace.processor.version', value: { stringValue: 'old' } },
            { key: 'service.name', value: { stringValue: 'svc' } },
          ],
          droppedAttributesCount: 2,
          entityRefs: [{ type: 'service', idKeys: ['service.name'] }],
        }),
      )
      .finish();
    const bytes = encodeSpansRequest([outputSpan(1, raw)], SCOPE, EXTRA);
    const resource = decodeRequestFull(bytes).resourceSpans[0].resource;
    assert.deepEqual(
      resource.attributes.map((kv: { key: string; value: { stringValue: string } }) => [kv.key, kv.value.stringValue]),
      [['service.name', 'svc'], ['betrace.processor.version', '0.1.0']],
    );
    assert.equal(resource.droppedAttributesCount, 2);
    assert.deepEqual(resource.entityRefs, [{ schemaUrl: '', type: 'service', idKeys: ['service.name'], descriptionKeys: [] }]);
  });

  it('is read back by the span decoder, as the processor\'s own spans', () => {
    const resource = resourceBytes({ 'service.name': 'checkout' });
    const root = { parentSpanId: '', statusCode: 0, statusMessage: '' };
    const bytes = encodeSpansRequest([outputSpan(1, resource), outputSpan(2, resource, root)], SCOPE, EXTRA);
    const own = decodeTraceRequest(bytes, { spanAttributes: new Set(), resourceAttributes: new Set(), spanNames: null });
    assert.equal(own.total, 2);
    assert.equal(own.ownSpans, 2);
    assert.equal(own.spans.length, 0);
    const other = encodeSpansRequest([outputSpan(2, resource, root)], { name: 'rules', version: '' }, []);
    const keys = {
      spanAttributes: new Set(['betrace.violation.span_ids', 'count']),
      resourceAttributes: new Set(['service.name']),
      spanNames: null,
    };
    const [record] = decodeTraceRequest(other, keys).spans;
    assert.equal(record.isRoot, true);
    assert.equal(record.durationNs, 1_000_000);
    assert.equal(record.status, 0);
    assert.deepEqual(record.attrs, [
      'betrace.violation.span_ids',
      '["00f067aa0ba902b7","b7ad6b7169203331"]',
      'count',
      '9007199254740993',
    ]);
    assert.deepEqual(record.resource.attrs, ['service.name', 'checkout']);
    assert.deepEqual(Buffer.from(record.resource.raw as Uint8Array), Buffer.from(resource));
    const scope = decodeRequestFull(other).resourceSpans[0].scopeSpans[0].scope;
    assert.deepEqual(scope, { name: 'rules', version: '', attributes: [], droppedAttributesCount: 0 });
  });

  it('refuses IDs that are not hex of the right length and integers outside int64', () => {
    const cases: Array<[Partial<OutputSpan>, string]> = [
      [{ traceId: 'abc' }, 'trace ID "abc" is not 32 hex characters'],
      [{ spanId: 'zz'.repeat(8) }, `span ID "${'zz'.repeat(8)}" is not 16 hex characters`],
      [{ parentSpanId: '00' }, 'parent span ID "00" is not 16 hex characters'],
      [{ attributes: [['n', 1n << 63n]] }, 'attribute "n": 9223372036854775808 is outside int64'],
      [{ startNs: -1n }, 'span start time -1 is outside 0..2^64-1'],
    ];
    for (const [fields, message] of cases) {
      assert.throws(
        () => encodeSpansRequest([outputSpan(1, null, fields)], SCOPE, []),
        (err: CodedError) => {
          assert.equal(err.code, 'ERR_PROTO_ENCODE_VALUE');
          assert.equal(err.message, message);
          return true;
        },
      );
    }
  });

  it('gives an empty request for no spans', () => {
    assert.equal(encodeSpansRequest([], SCOPE, EXTRA).length, 0);
  });
});
