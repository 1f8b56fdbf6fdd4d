import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { EXAMPLE_TRACE_ID, parseExampleTrace, toTraceView } from '../../dsl/example-trace';
import { toAttributeText } from '../../dsl/text-form';
import { DURATION_MISSING, lookupAttr } from '../../dsl/trace-model';

describe('toTraceView', () => {
  it('gives spans distinct IDs, increasing starts in list order and the first span as root', () => {
    const view = toTraceView({ trace: [{ span: 'a' }, { span: 'b' }, { span: 'a' }] });
    assert.equal(view.traceId, EXAMPLE_TRACE_ID);
    assert.deepEqual(view.spans.map((s) => s.spanId), ['0000000000000001', '0000000000000002', '0000000000000003']);
    assert.deepEqual(view.spans.map((s) => s.isRoot), [true, false, false]);
    assert.ok(view.spans[0].startNs < view.spans[1].startNs && view.spans[1].startNs < view.spans[2].startNs);
    assert.equal(view.byName.get('a')?.length, 2);
    assert.equal(toTraceView({ trace: [] }, 'ab'.repeat(16)).traceId, 'ab'.repeat(16));
  });

  it('reads status, kind, duration, duration_ms and resource', () => {
    const view = toTraceView({
      trace: [
        { span: 'a', status: 'error', kind: 'client', duration: '1.5s', resource: { 'service.name': 'pay' } },
        { span: 'b', status: 'OK', kind: 'SPAN_KIND_SERVER', duration_ms: 2.5 },
        { span: 'c' },
      ],
    });
    const [a, b, c] = view.spans;
    assert.deepEqual([a.status, a.kind, a.durationNs], [2, 3, 1.5e9]);
    assert.deepEqual([b.status, b.kind, b.durationNs], [1, 2, 2.5e6]);
    assert.deepEqual([c.status, c.kind, c.durationNs], [0, 0, DURATION_MISSING]);
    assert.equal(lookupAttr(a.resource.attrs, 'service.name'), 'pay');
    assert.equal(c.resource.attrs, null);
  });

  it('turns typed attribute values into their text forms and drops nulls', () => {
    const [s] = toTraceView({
      trace: [{ span: 'a', attributes: { n: 5, d: 12.5, b: true, l: ['x', 1], e: '', z: null, big: 2n ** 64n } }],
    }).spans;
    assert.deepEqual(s.attrs, ['n', '5', 'd', '12.5', 'b', 'true', 'l', '["x",1]', 'e', '', 'big', '18446744073709551616']);
  });

  it('throws ERR_DSL_BAD_EXAMPLE for a status, kind or duration it cannot read', () => {
    for (const bad of [{ span: 'a', status: 'broken' }, { span: 'a', kind: 'remote' }, { span: 'a', duration: '5' }]) {
      assert.throws(() => toTraceView({ trace: [bad] }), (err: { code?: string; message?: string }) => {
        assert.equal(err.code, 'ERR_DSL_BAD_EXAMPLE');
        assert.match(err.message ?? '', /not/);
        return true;
      });
    }
  });
});

describe('parseExampleTrace', () => {
  it('reads an example given as JSON', () => {
    const { example, diagnostics } = parseExampleTrace({ trace: [{ span: 'a', attributes: { k: 'v' }, status: 'STATUS_CODE_ERROR' }] });
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(example, { trace: [{ span: 'a', attributes: { k: 'v' }, status: 'error' }] });
  });

  it('reports shape problems naming the field', () => {
    const { example, diagnostics } = parseExampleTrace({ trace: [{ span: 'a', kind: 'x' }, { attributes: 1 }] });
    assert.equal(example, null);
    assert.deepEqual(diagnostics.map((d) => d.code), ['ERR_DSL_BAD_EXAMPLE', 'ERR_DSL_MISSING_FIELD', 'ERR_DSL_BAD_EXAMPLE']);
    assert.match(diagnostics[0].message, /example\.trace\[0\]\.kind/);
  });
});

describe('toAttributeText', () => {
  it('writes strings unchanged and an empty string as empty text', () => {
    assert.equal(toAttributeText('a b'), 'a b');
    assert.equal(toAttributeText(''), '');
  });

  it('writes doubles in their shortest round-trip form, and NaN and infinities by name', () => {
    assert.deepEqual([0.1, 12.5, 1e21, -0, 5, NaN, Infinity, -Infinity].map(toAttributeText),
      ['0.1', '12.5', '1e+21', '0', '5', 'NaN', 'Infinity', '-Infinity']);
  });

  it('writes integers beyond 2^53 with every digit', () => {
    assert.equal(toAttributeText(9007199254740993n), '9007199254740993');
    assert.equal(toAttributeText(-(2n ** 63n)), '-9223372036854775808');
  });

  it('writes booleans, bytes, arrays and maps', () => {
    assert.equal(toAttributeText(false), 'false');
    assert.equal(toAttributeText(new Uint8Array([0xde, 0xad, 0xbe, 0xef])), '3q2+7w==');
    assert.equal(toAttributeText(['a', 1, true, null, [2.5], NaN]), '["a",1,true,null,[2.5],"NaN"]');
    assert.equal(toAttributeText(new Map<string, unknown>([['z', 1], ['a', 'x']])), '{"z":1,"a":"x"}');
    assert.equal(toAttributeText({ k: new Uint8Array([1]), n: 10n }), '{"k":"AQ==","n":10}');
  });

  it('stops at a fixed depth on cyclic values', () => {
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    assert.match(toAttributeText(cyclic), /null/);
  });
});
