/** Program.explain(): the verdict, the spans behind it and the failure text (PRODUCT.md 3). */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { compile, span, trace } from './support';

describe('explain', () => {
  it('names the missing required span', () => {
    const p = compile('when { payment.charge_card.where(amount > 1000) } always { payment.fraud_check }');
    const v = p.explain(trace(span('payment.charge_card', { amount: 5000 })));
    assert.equal(v.outcome, 'violation');
    assert.equal(v.clause, 'always');
    assert.equal(v.failure, 'required "payment.fraud_check" not found');
    assert.deepEqual(v.neverSpans, []);
  });

  it('names the forbidden span and lists the spans that matched never', () => {
    const p = compile('when { a } never { b.where(x > 1) }');
    const v = p.explain(trace(span('a'), span('b', { x: 0 }), span('b', { x: 5 })));
    assert.equal(v.clause, 'never');
    assert.equal(v.failure, 'forbidden "b" where (x > 1) found');
    assert.deepEqual(v.neverSpans.map((s) => s.spanId), ['0000000000000003']);
  });

  it('reports both when both clauses fail', () => {
    const p = compile('when { a } always { b } never { c }');
    const v = p.explain(trace(span('a'), span('c')));
    assert.equal(v.clause, 'both');
    assert.equal(v.failure, 'required "b" not found; forbidden "c" found');
  });

  it('lists the distinct spans that made when hold, earliest first', () => {
    const p = compile('when { x or (y and count(z) >= 1) } always { nothing }');
    const v = p.explain(trace(span('y'), span('x'), span('z'), span('x'), span('other')));
    assert.deepEqual(v.whenSpans.map((s) => `${s.name}@${s.spanId}`),
      ['y@0000000000000001', 'x@0000000000000002', 'z@0000000000000003', 'x@0000000000000004']);
  });

  it('names no span when when holds through not or a zero count', () => {
    assert.deepEqual(compile('when { not a } always { b }').explain(trace(span('c'))).whenSpans, []);
    assert.deepEqual(compile('when { count(a) == 0 } always { b }').explain(trace(span('c'))).whenSpans, []);
  });

  it('fills whenSpans for a pass too, for compliance evidence', () => {
    const v = compile('when { a } always { b }').explain(trace(span('a'), span('b')));
    assert.equal(v.outcome, 'pass');
    assert.equal(v.clause, null);
    assert.equal(v.failure, '');
    assert.deepEqual(v.whenSpans.map((s) => s.name), ['a']);
  });

  it('describes the failing part of an and, negations and counts', () => {
    assert.equal(compile('when { a } always { b and c }').explain(trace(span('a'), span('b'))).failure,
      'required "c" not found');
    assert.equal(compile('when { a } always { not b }').explain(trace(span('a'), span('b'))).failure,
      'forbidden "b" found');
    assert.equal(compile('when { a } never { count(r) > 2 }').explain(trace(span('a'), span('r'), span('r'), span('r'))).failure,
      'forbidden count(r) > 2 held, found 3');
    assert.equal(compile('when { a } always { count(r) >= count(q) }').explain(trace(span('a'), span('q'))).failure,
      'expected count(r) >= count(q), found 0 and 1');
    assert.equal(compile('when { a } always { b or c }').explain(trace(span('a'))).failure,
      'required "b" or "c" not found');
    assert.equal(compile('when { a } always { payment.amount > 5 }').explain(trace(span('a'))).failure,
      'required "payment" where (amount > 5) not found');
  });

  it('quotes the clause when no specific text fits, on one line without comments', () => {
    const p = compile('when { a } always {\n  b // first\n  or (c and d) }');
    assert.equal(p.explain(trace(span('a'), span('c'))).failure, 'always { b or (c and d) } did not hold');
    const never = compile('when { a } never { b and c }');
    assert.equal(never.explain(trace(span('a'), span('b'), span('c'))).failure, 'never { b and c } held');
  });

  it('agrees with evaluate on the outcome', () => {
    const p = compile('when { a.where(k in [1, 2]) } always { b } never { c }');
    const traces = [trace(), trace(span('a', { k: 1 })), trace(span('a', { k: 2 }), span('b')), trace(span('a', { k: 3 }))];
    for (const t of traces) assert.equal(p.explain(t).outcome, p.evaluate(t));
  });
});

describe('indexNames', () => {
  it('are the span names one of which when needs', () => {
    assert.deepEqual(compile('when { a } always { b }').indexNames, ['a']);
    assert.deepEqual(compile('when { a.x > 5 } always { b }').indexNames, ['a']);
    assert.deepEqual([...compile('when { a or b.where(x == 1) } always { c }').indexNames ?? []].sort(), ['a', 'b']);
    assert.deepEqual(compile('when { a and b and c.d } always { e }').indexNames?.length, 1);
    assert.deepEqual(compile('when { count(a) > 2 } always { b }').indexNames, ['a']);
    assert.deepEqual([...compile('when { count(a) > count(b) } always { c }').indexNames ?? []].sort(), ['a', 'b']);
  });

  it('are null when when can hold without any named span', () => {
    assert.equal(compile('when { not a } always { b }').indexNames, null);
    assert.equal(compile('when { a or not b } always { c }').indexNames, null);
    assert.equal(compile('when { count(a) < 2 } always { b }').indexNames, null);
    assert.equal(compile('when { count(a) == count(b) } always { c }').indexNames, null);
    assert.equal(compile('when { count(a) != 5 } always { b }').indexNames, null);
  });

  it('keep the index sound: a trace without those names is not_applicable', () => {
    const rules = ['when { a and not b } always { c }', 'when { count(a) >= 1 or d.x == 1 } always { c }',
      'when { (a or d) and e } always { c }'];
    for (const text of rules) {
      const p = compile(text);
      assert.ok(p.indexNames !== null);
      assert.equal(p.evaluate(trace(span('b'), span('c'), span('zzz'))), 'not_applicable', text);
    }
  });
});
