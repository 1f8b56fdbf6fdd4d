import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { compile, holds, outcomeOf, span, trace } from './support';

describe('rule outcome (6.1)', () => {
  const rule = compile('when { a } always { b } never { c }');

  it('is not_applicable when when is false, without looking at the clauses', () => {
    assert.equal(rule.evaluate(trace(span('c'))), 'not_applicable');
  });

  it('is a violation when always fails or never holds, and a pass otherwise', () => {
    assert.equal(rule.evaluate(trace(span('a'))), 'violation');
    assert.equal(rule.evaluate(trace(span('a'), span('b'), span('c'))), 'violation');
    assert.equal(rule.evaluate(trace(span('a'), span('b'))), 'pass');
  });

  it('violates a never-only rule exactly when when and never both hold', () => {
    const neverOnly = compile('when { a } never { c }');
    assert.equal(neverOnly.evaluate(trace(span('a'), span('c'))), 'violation');
    assert.equal(neverOnly.evaluate(trace(span('a'))), 'pass');
  });

  it('reads a keyword right after a number as its own token: 5and is 5 and', () => {
    assert.equal(holds('x == 5and y == 1', { x: 5, y: 1 }), true);
    assert.equal(holds('x == 5and y == 1', { x: 5, y: 2 }), false);
    assert.equal(holds('x == 2.5or y == 1', { x: 0, y: 1 }), true);
    assert.equal(compile('when { count(a) == 2or b } always { c }').evaluate(trace(span('b'))), 'violation');
  });

  it('lets when hold on an empty trace', () => {
    assert.equal(compile('when { not heartbeat } always { z }').evaluate(trace()), 'violation');
    assert.equal(compile('when { count(x) == 0 } always { z }').evaluate(trace()), 'violation');
  });
});

describe('span tests (6.2, 6.3)', () => {
  it('match the exact joined name: no prefix, suffix or case folding', () => {
    const rule = 'when { billing.invoice } always { z }';
    assert.equal(outcomeOf(rule, span('billing.invoice')), 'violation');
    assert.equal(outcomeOf(rule, span('billing.invoice.create')), 'not_applicable');
    assert.equal(outcomeOf(rule, span('Billing.Invoice')), 'not_applicable');
  });

  it('require one single span to satisfy every filter of a chain', () => {
    const chain = 'when { x.where(a == 1).where(b == 2) } always { z }';
    assert.equal(outcomeOf(chain, span('x', { a: 1 }), span('x', { b: 2 })), 'not_applicable');
    assert.equal(outcomeOf(chain, span('x', { a: 1, b: 2 })), 'violation');
    const separate = 'when { x.where(a == 1) and x.where(b == 2) } always { z }';
    assert.equal(outcomeOf(separate, span('x', { a: 1 }), span('x', { b: 2 })), 'violation');
  });

  it('read a bare name as a flag that is true only for the text true', () => {
    assert.equal(holds('flag', { flag: true }), true);
    assert.equal(holds('flag', { flag: 'true' }), true);
    for (const v of ['yes', 1, 'TRUE', 'True', false]) assert.equal(holds('flag', { flag: v }), false, String(v));
    assert.equal(holds('flag', {}), false);
    assert.equal(holds('not flag', {}), true);
  });

  it('read direct comparisons as the last segment of the span name (C6)', () => {
    assert.equal(outcomeOf('when { payment.amount > 1000 } always { z }', span('payment', { amount: 5000 })), 'violation');
    assert.equal(outcomeOf('when { payment.amount > 1000 } always { z }', span('payment.amount')), 'not_applicable');
    const two = 'when { order.a == 1 and order.b == 2 } always { z }';
    assert.equal(outcomeOf(two, span('order', { a: 1 }), span('order', { b: 2 })), 'violation');
  });

  it('range over the whole trace with no link between clauses (C24)', () => {
    const rule = 'when { order.where(total > 100) } always { invoice.where(total > 100) }';
    assert.equal(outcomeOf(rule, span('order', { total: 150 }), span('order', { total: 5 }), span('invoice', { total: 900 })), 'pass');
  });
});

describe('comparisons (6.5)', () => {
  it('== compares numbers numerically and other texts exactly', () => {
    assert.equal(holds('x == 42', { x: '42.0' }), true);
    assert.equal(holds('x == 42', { x: '4.2e1' }), true);
    assert.equal(holds('x == abc', { x: 'abc' }), true);
    assert.equal(holds('x == abc', { x: 'ABC' }), false);
    assert.equal(holds('x == "a b"', { x: 'a b' }), true);
  });

  it('!= is the negation of ==', () => {
    assert.equal(holds('x != 42', { x: '42.0' }), false);
    assert.equal(holds('x != abc', { x: 'abd' }), true);
  });

  it('orders numbers numerically, not as text', () => {
    assert.equal(holds('x > 9', { x: 10 }), true);
    assert.equal(holds('x < 9', { x: 10 }), false);
    assert.equal(holds('x >= 10', { x: '10.0' }), true);
    assert.equal(holds('x <= -1', { x: -3 }), true);
  });

  it('orders two non-numeric texts by code point', () => {
    assert.equal(holds('x > "apple"', { x: 'banana' }), true);
    assert.equal(holds('x < "Banana"', { x: 'apple' }), false);
    assert.equal(holds('x <= "b"', { x: 'b' }), true);
  });

  it('in holds when the attribute equals an item by the == rule', () => {
    assert.equal(holds('x in [PUT, "POST", 3]', { x: 'POST' }), true);
    assert.equal(holds('x in [PUT, "POST", 3]', { x: '3.0' }), true);
    assert.equal(holds('x in [PUT, "POST", 3]', { x: 'GET' }), false);
  });

  it('matches searches with RE2 anywhere in the text (C18)', () => {
    assert.equal(holds('x matches "b+"', { x: 'abbbc' }), true);
    assert.equal(holds('x matches "^b"', { x: 'ab' }), false);
    assert.equal(holds('x matches "(?i)^abc$"', { x: 'ABC' }), true);
    assert.equal(holds('x matches "^ORD-\\d{6}$"', { x: 'ORD-123456' }), true);
    assert.equal(holds('x matches "\\x22"', { x: 'say "hi"' }), true);
  });

  it('matches takes bare words and numbers as patterns', () => {
    assert.equal(holds('x matches abc', { x: 'xabcx' }), true);
    assert.equal(holds('x matches 50', { x: '1500' }), true);
  });

  it('contains looks for the value text, case-sensitively', () => {
    assert.equal(holds('x contains "refund"', { x: 'order refunded' }), true);
    assert.equal(holds('x contains "Refund"', { x: 'order refunded' }), false);
  });

  it('does not stall on a pattern that backtracking engines cannot run', () => {
    // ^(a+)+$ on a long non-matching text is linear in RE2.
    assert.equal(holds('x matches "^(a+)+$"', { x: `${'a'.repeat(100000)}!` }), false);
    assert.equal(holds('x matches "^(a+)+$"', { x: 'a'.repeat(100000) }), true);
  });

  it('never coerces booleans: 1 is not true and True is not true', () => {
    assert.equal(holds('x == true', { x: 1 }), false);
    assert.equal(holds('x == true', { x: 'True' }), false);
    assert.equal(holds('x == true', { x: true }), true);
  });
});

describe('count (6.7)', () => {
  it('counts spans with exactly that name', () => {
    const rule = 'when { count(retry) > 2 } always { z }';
    assert.equal(outcomeOf(rule, span('retry'), span('retry'), span('retry')), 'violation');
    assert.equal(outcomeOf(rule, span('retry'), span('retry'), span('retry.x')), 'not_applicable');
  });

  it('compares a count with another count', () => {
    const rule = 'when { count(req) != count(resp) } always { z }';
    assert.equal(outcomeOf(rule, span('req'), span('req'), span('resp')), 'violation');
    assert.equal(outcomeOf(rule, span('req'), span('resp')), 'not_applicable');
  });

  it('takes the count as numeric text against a scalar', () => {
    assert.equal(outcomeOf('when { count(x) >= "2" } always { z }', span('x'), span('x')), 'violation');
    assert.equal(outcomeOf('when { count(x) > 1.5 } always { z }', span('x'), span('x')), 'violation');
    assert.equal(outcomeOf('when { count(x) == abc } always { z }', span('x')), 'not_applicable');
    assert.equal(outcomeOf('when { count(x) != abc } always { z }', span('x')), 'violation');
    assert.equal(outcomeOf('when { count(x) > abc } always { z }', span('x')), 'not_applicable');
  });

  it('combines with other conditions in any clause', () => {
    const rule = 'when { checkout and count(charge) > 0 } never { count(charge) > 3 or declined }';
    assert.equal(outcomeOf(rule, span('checkout'), span('charge'), span('declined')), 'violation');
    assert.equal(outcomeOf(rule, span('checkout'), span('charge')), 'pass');
  });
});
