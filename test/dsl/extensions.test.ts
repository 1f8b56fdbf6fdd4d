/** The product's extensions of DSL.md section 13. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { compile, holds, outcomeOf, reject, rejectCode, span, trace } from './support';

describe('span:duration', () => {
  it('compares the span duration with duration literals of every unit', () => {
    assert.equal(holds('span:duration > 2s', {}, { duration: '2500ms' }), true);
    assert.equal(holds('span:duration > 2s', {}, { duration: '2s' }), false);
    assert.equal(holds('span:duration >= 2s', {}, { duration: '2s' }), true);
    assert.equal(holds('span:duration == 1500us', {}, { duration: '1.5ms' }), true);
    assert.equal(holds('span:duration < 1m', {}, { duration: '59s' }), true);
    assert.equal(holds('span:duration <= 1h', {}, { duration: '60m' }), true);
    assert.equal(holds('span:duration != 10ns', {}, { duration_ms: 1 }), true);
  });

  it('compares with a plain number of nanoseconds', () => {
    assert.equal(holds('span:duration == 1000000', {}, { duration_ms: 1 }), true);
  });

  it('treats a missing duration as MISSING: false except for !=', () => {
    assert.equal(holds('span:duration < 1h', {}), false);
    assert.equal(holds('span:duration >= 0', {}), false);
    assert.equal(holds('span:duration != 5s', {}), true);
  });

  it('rejects text, words and operators that durations do not take', () => {
    assert.equal(rejectCode('when { a.where(span:duration > "5s") } always { b }'), 'ERR_DSL_BAD_VALUE');
    assert.equal(rejectCode('when { a.where(span:duration > slow) } always { b }'), 'ERR_DSL_BAD_VALUE');
    assert.equal(rejectCode('when { a.where(span:duration contains 5s) } always { b }'), 'ERR_DSL_OPERATOR_NOT_ALLOWED');
    assert.equal(rejectCode('when { a.where(span:duration in [5s]) } always { b }'), 'ERR_DSL_OPERATOR_NOT_ALLOWED');
  });

  it('rejects duration literals anywhere but beside span:duration', () => {
    const d = reject('when { a.where(duration_ms > 5s) } always { b }')[0];
    assert.equal(d.code, 'ERR_DSL_BAD_VALUE');
    assert.match(d.message, /duration "5s" cannot be compared with attribute "duration_ms"/);
    assert.equal(rejectCode('when { count(a) > 5s } always { b }'), 'ERR_DSL_BAD_VALUE');
    assert.equal(rejectCode('when { a.where(x in [5s]) } always { b }'), 'ERR_DSL_BAD_VALUE');
  });
});

describe('span:status and span:kind', () => {
  it('compare the status with unset, ok and error', () => {
    assert.equal(holds('span:status == error', {}, { status: 'error' }), true);
    assert.equal(holds('span:status == unset', {}), true);
    assert.equal(holds('span:status != ok', {}, { status: 'error' }), true);
    assert.equal(holds('span:status in [ok, error]', {}, { status: 'ok' }), true);
    assert.equal(holds('span:status in [ok, "error"]', {}, { status: 'unset' }), false);
  });

  it('compare the kind with the six OTLP kinds', () => {
    const kinds = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];
    for (const kind of kinds) assert.equal(holds(`span:kind == ${kind}`, {}, { kind }), true, kind);
    assert.equal(holds('span:kind in [server, consumer]', {}, { kind: 'client' }), false);
  });

  it('reject other values, with a suggestion for near misses', () => {
    const d = reject('when { a.where(span:status == ERROR) } always { b }')[0];
    assert.equal(d.code, 'ERR_DSL_BAD_VALUE');
    assert.match(d.hint ?? '', /did you mean error/);
    assert.equal(rejectCode('when { a.where(span:kind == SPAN_KIND_SERVER) } always { b }'), 'ERR_DSL_BAD_VALUE');
    assert.equal(rejectCode('when { a.where(span:kind in [server, 2]) } always { b }'), 'ERR_DSL_BAD_VALUE');
  });

  it('reject ordering and text operators', () => {
    for (const op of ['<', '>=', 'matches', 'contains']) {
      assert.equal(rejectCode(`when { a.where(span:status ${op} ok) } always { b }`), 'ERR_DSL_OPERATOR_NOT_ALLOWED', op);
    }
  });
});

describe('span:name and resource:KEY', () => {
  it('span:name takes every text operator', () => {
    const t = trace(span('payment.charge'), span('audit'));
    assert.equal(compile('when { *.where(span:name matches "^payment\\.") } always { z }').evaluate(t), 'violation');
    assert.equal(compile('when { *.where(span:name contains "aud") } always { z }').evaluate(t), 'violation');
    assert.equal(compile('when { *.where(span:name in [audit, x]) } always { z }').evaluate(t), 'violation');
    assert.equal(compile('when { *.where(span:name > "q") } always { z }').evaluate(t), 'not_applicable');
  });

  it('resource:KEY reads the resource attributes of the span, dotted or quoted', () => {
    const extra = { resource: { 'service.name': 'payments', 'odd key': 'v1', 'k8s.replicas': 3 } };
    assert.equal(holds('resource:service.name == payments', {}, extra), true);
    assert.equal(holds('resource:"odd key" == v1', {}, extra), true);
    assert.equal(holds('resource:k8s.replicas >= 2', {}, extra), true);
    assert.equal(holds('resource:region != eu', {}, extra), true);
    assert.equal(holds('resource:region == eu', {}, extra), false);
    assert.equal(holds('resource:service.name == payments', { 'service.name': 'payments' }), false);
  });

  it('records the keys a rule reads in its projection', () => {
    const p = compile('when { a.where(x == 1 and resource:service.name == s and span:kind == server) } always { b.where(flag) }');
    assert.deepEqual([...p.projection.spanAttributes].sort(), ['flag', 'x']);
    assert.deepEqual([...p.projection.resourceAttributes], ['service.name']);
  });

  it('records the span names a rule reads, or null when it reads any span', () => {
    const named = compile('when { a.x > 1 or count(c) > count(d) } never { not b.where(flag) }');
    assert.deepEqual([...named.projection.spanNames!].sort(), ['a', 'b', 'c', 'd']);
    assert.equal(compile('when { a } always { *.where(span:status == error) }').projection.spanNames, null);
    assert.equal(compile('when { count(*) > 3 } always { b }').projection.spanNames, null);
    assert.deepEqual([...compile('trace.has(a) and trace.count(b) > 1', 'legacy').projection.spanNames!].sort(), ['a', 'b']);
  });
});

describe('scoped names: errors', () => {
  it('rejects unknown span: fields and unknown scopes', () => {
    const d = reject('when { a.where(span:latency > 5s) } always { b }')[0];
    assert.equal(d.code, 'ERR_DSL_UNKNOWN_INTRINSIC');
    assert.match(d.message, /unknown span field "latency"/);
    assert.equal(rejectCode('when { a.where(trace:id == x) } always { b }'), 'ERR_DSL_UNKNOWN_SCOPE');
    assert.equal(rejectCode('when { trace:id } always { b }'), 'ERR_DSL_UNKNOWN_SCOPE');
  });

  it('rejects scoped names outside .where(...)', () => {
    const d = reject('when { span:duration > 2s } always { b }')[0];
    assert.equal(d.code, 'ERR_DSL_SCOPE_OUTSIDE_WHERE');
    assert.match(d.hint ?? '', /\*\.where\(span:/);
    assert.equal(rejectCode('when { a } always { resource:x == 1 }'), 'ERR_DSL_SCOPE_OUTSIDE_WHERE');
  });

  it('requires a comparison after a scoped name', () => {
    const d = reject('when { a.where(span:status) } always { b }')[0];
    assert.equal(d.code, 'ERR_DSL_UNEXPECTED_TOKEN');
    assert.match(d.hint ?? '', /compared/);
  });
});

describe('the any-span *', () => {
  it('*.where(...) holds when some span of any name satisfies the filter', () => {
    const rule = 'when { *.where(span:status == error) } always { z }';
    assert.equal(outcomeOf(rule, span('a'), span('b', {}, { status: 'error' })), 'violation');
    assert.equal(outcomeOf(rule, span('a')), 'not_applicable');
  });

  it('count(*) counts every span and * alone holds on a non-empty trace', () => {
    assert.equal(outcomeOf('when { count(*) == 3 } always { z }', span('a'), span('b'), span('c')), 'violation');
    assert.equal(outcomeOf('when { count(a) < count(*) } always { z }', span('a'), span('b')), 'violation');
    assert.equal(compile('when { not * } always { z }').evaluate(trace()), 'violation');
    assert.equal(outcomeOf('when { * } always { z }', span('a')), 'violation');
  });

  it('is not indexed, so it runs on every trace', () => {
    assert.equal(compile('when { *.where(x == 1) } always { z }').indexNames, null);
    assert.equal(compile('when { count(*) > 1 } always { z }').indexNames, null);
  });

  it('takes .where(...) only and stands nowhere else', () => {
    assert.equal(rejectCode('when { *.amount > 5 } always { b }'), 'ERR_DSL_UNEXPECTED_TOKEN');
    assert.equal(rejectCode('when { *.x } always { b }'), 'ERR_DSL_UNEXPECTED_TOKEN');
    assert.equal(rejectCode('when { a.where(* == 1) } always { b }'), 'ERR_DSL_UNEXPECTED_TOKEN');
  });
});

describe('base rules keep their meaning', () => {
  it('reads attributes named like intrinsics as attributes', () => {
    const rule = 'when { a.where(duration > 100 and status == error and kind == server) } always { z }';
    const attrs = { duration: 500, status: 'error', kind: 'server' };
    assert.equal(outcomeOf(rule, span('a', attrs)), 'violation');
    assert.equal(outcomeOf(rule, span('a', {}, { duration: '1s', status: 'error', kind: 'server' })), 'not_applicable');
  });
});
