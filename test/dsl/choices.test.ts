/**
 * The Choice column of DSL.md section 11, one test (or more) per choice
 * that has behaviour in the language. C29 (trace-level evaluation only) and
 * C30 (which spans a violation cites) are about the processor; explain.test.ts
 * covers the spans a verdict names.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { compileCondition } from '../../dsl/compile';
import { toNumberLiteralText } from '../../dsl/text-compare';
import { compile, holds, outcomeOf, reject, rejectCode, span, trace, warnings } from './support';

describe('choices of DSL.md 11', () => {
  it('C1: false is false', () => {
    assert.equal(holds('verified == false', { verified: false }), true);
    assert.equal(holds('verified == false', { verified: true }), false);
  });

  it('C2: a quoted list item equals its content', () => {
    assert.equal(holds('method in ["PUT", "POST"]', { method: 'PUT' }), true);
  });

  it('C3: numbers and booleans are allowed in lists', () => {
    assert.equal(holds('status in [400, 401, 403]', { status: 401 }), true);
    assert.equal(holds('ok in [true]', { ok: true }), true);
  });

  it('C4: always and never come in either order, each at most once', () => {
    const a = compile('when { a } never { c } always { b }');
    assert.equal(a.evaluate(trace(span('a'), span('b'), span('c'))), 'violation');
    assert.equal(rejectCode('when { a } never { c } never { d }'), 'ERR_DSL_DUPLICATE_CLAUSE');
  });

  it('C5: a rule with only when is rejected at load', () => {
    assert.equal(rejectCode('when { a }'), 'ERR_DSL_NO_CLAUSE');
  });

  it('C6: span.attr op value tests the attribute of that span', () => {
    assert.equal(outcomeOf('when { payment.amount > 1000 } always { z }', span('payment', { amount: 1001 })), 'violation');
  });

  it('C7: unquoted dotted attribute names work inside .where', () => {
    assert.equal(holds('data.contains_pii == true', { 'data.contains_pii': true }), true);
    assert.equal(holds('"data.contains_pii" == true', { 'data.contains_pii': true }), true);
  });

  it('C8: a span reference inside .where is rejected', () => {
    assert.equal(rejectCode('when { a.where(not fraud_check.completed) } always { b }'), 'ERR_DSL_SPAN_REFERENCE');
  });

  it('C9: a missing attribute makes every comparison false except !=', () => {
    for (const f of ['x == ""', 'x < 100', 'x <= 100', 'x > 0', 'x >= 0', 'x matches ".*"', 'x matches "^$"',
      'x contains ""', 'x in [a, b]', 'x == 0']) {
      assert.equal(holds(f, {}), false, f);
    }
    assert.equal(holds('x != ""', {}), true);
    assert.equal(holds('x != 5', {}), true);
    assert.equal(holds('x', {}), false);
  });

  it('C9: an empty text is present, not missing', () => {
    assert.equal(holds('x == ""', { x: '' }), true);
    assert.equal(holds('x != ""', { x: '' }), false);
  });

  it('C10: ordering a word against a number is false', () => {
    assert.equal(holds('amount > 1000', { amount: 'n/a' }), false);
    assert.equal(holds('amount < 1000', { amount: 'n/a' }), false);
    assert.equal(holds('name > "abc"', { name: '500' }), false);
  });

  it('C11: only plain decimal syntax is numeric', () => {
    for (const text of ['NaN', 'Inf', 'Infinity', '-infinity', '0x10', '0x1p4', ' 5', '5 ', '', '1_000']) {
      assert.equal(holds('x >= 0', { x: text }), false, JSON.stringify(text));
    }
    for (const text of ['5', '+5', '-5.5', '.5', '5.', '1e3', '1E-3', '007']) {
      assert.equal(holds('x >= -100', { x: text }), true, JSON.stringify(text));
    }
    assert.equal(holds('x == NaN', { x: 'NaN' }), true);
  });

  it('C12: quoted numbers compare as numbers', () => {
    assert.equal(holds('zip == "02134"', { zip: '2134' }), true);
    assert.equal(holds('amount == "1000"', { amount: 1000 }), true);
    assert.equal(holds('zip matches "^02134$"', { zip: '2134' }), false);
  });

  it('C13: a bare word on the right is text, with a warning after an ordering operator', () => {
    assert.equal(holds('status == approved', { status: 'approved' }), true);
    // An attribute reference would make 10000 > 5000 hold; the text does not.
    assert.equal(holds('depth > max_capacity', { depth: 10000, max_capacity: 5000 }), false);
    assert.equal(holds('depth > max_capacity', { depth: 'zz' }), true);
    const [w] = warnings('when { q.where(depth > max_capacity) } always { z }');
    assert.equal(w.code, 'ERR_DSL_BARE_WORD_ORDERING');
    assert.match(w.message, /"max_capacity"/);
    assert.deepEqual(warnings('when { q.where(depth > "max_capacity") } always { z }'), []);
    assert.deepEqual(warnings('when { q.where(status == approved) } always { z }'), []);
  });

  it('C14: a minus directly before a digit starts a negative literal', () => {
    assert.equal(holds('celsius < -10', { celsius: -12.5 }), true);
    assert.equal(holds('celsius < -10', { celsius: -5 }), false);
  });

  it('C15: leading zeros are decimal, never octal', () => {
    assert.equal(holds('x == 010', { x: 10 }), true);
    assert.equal(holds('x == 010', { x: 8 }), false);
    assert.equal(holds('x == 09', { x: 9 }), true);
    assert.equal(toNumberLiteralText('010'), '10');
  });

  it('C16: integers beyond 2^63-1 are read as doubles', () => {
    assert.equal(holds('x > 9223372036854775807', { x: '1e19' }), true);
    assert.equal(holds('x == 123456789012345678901234567890', { x: '123456789012345678901234567890' }), true);
  });

  it('C17: strings have no escapes; a backslash is a plain character', () => {
    assert.equal(holds('path == "C:\\tmp\\"', { path: 'C:\\tmp\\' }), true);
    assert.equal(rejectCode('when { a.where(x == "test\\"quote") } always { b }'), 'ERR_DSL_UNCLOSED_STRING');
  });

  it('C18: patterns are RE2, unanchored', () => {
    assert.equal(holds('x matches "(?P<word>b+)"', { x: 'abba' }), true);
    assert.equal(holds('x matches "end\\z"', { x: 'the end' }), true);
  });

  it('C19: invalid patterns are rejected at load', () => {
    const d = reject('when { a.where(x matches "(") } always { b }')[0];
    assert.equal(d.code, 'ERR_DSL_BAD_REGEX');
    assert.match(d.message, /missing closing \)/);
    assert.equal(rejectCode('when { a.where(x matches "(a)\\1") } always { b }'), 'ERR_DSL_BAD_REGEX');
    assert.equal(rejectCode('when { a.where(x matches "(?=x)") } always { b }'), 'ERR_DSL_BAD_REGEX');
  });

  it('C20: count() on the right of an attribute comparison is rejected', () => {
    assert.equal(rejectCode('when { order.where(items > count(line)) } always { b }'), 'ERR_DSL_COUNT_AS_VALUE');
    assert.equal(rejectCode('when { order.items > count(line) } always { b }'), 'ERR_DSL_COUNT_AS_VALUE');
    compile('when { count(a) > count(b) } always { c }');
  });

  it('C21: in needs a list, and a list follows in only', () => {
    assert.equal(rejectCode('when { a.where(method in "GET") } always { b }'), 'ERR_DSL_LIST_MISUSE');
    assert.equal(rejectCode('when { a.where(method == [GET]) } always { b }'), 'ERR_DSL_LIST_MISUSE');
    assert.equal(rejectCode('when { a.where(method matches [GET]) } always { b }'), 'ERR_DSL_LIST_MISUSE');
    assert.equal(rejectCode('when { count(a) == [1] } always { b }'), 'ERR_DSL_LIST_MISUSE');
  });

  it('C22: the limits are 64 KiB, 10000 characters, 100 per name, 100 levels', () => {
    assert.equal(rejectCode(`when { a } always { b } //${'x'.repeat(65536)}`), 'ERR_DSL_RULE_TOO_LONG');
    assert.equal(rejectCode(`when { a.where(x == "${'y'.repeat(10001)}") } always { b }`), 'ERR_DSL_STRING_TOO_LONG');
    assert.equal(rejectCode(`when { ${'n'.repeat(101)} } always { b }`), 'ERR_DSL_NAME_TOO_LONG');
    assert.equal(rejectCode(`when { ${'('.repeat(101)}a${')'.repeat(101)} } always { b }`), 'ERR_DSL_TOO_DEEP');
  });

  it('C23: unscoped names read span attributes only, with exact keys', () => {
    const extra = { duration_ms: 5000, status: 'error', resource: { 'service.name': 'payments' } };
    assert.equal(holds('duration_ms > 1000', {}, extra), false);
    assert.equal(holds('status == error', {}, extra), false);
    assert.equal(holds('service.name == payments', {}, extra), false);
    assert.equal(holds('duration > 1000', { duration: 5000 }, extra), true);
    assert.equal(holds('service.name == payments', { 'service.name': 'payments' }), true);
  });

  it('C24: clauses are not correlated', () => {
    assert.equal(outcomeOf('when { a.where(k == 1) } always { b.where(k == 2) }',
      span('a', { k: 1 }), span('a', { k: 2 }), span('b', { k: 2 })), 'pass');
  });

  it('C25: the older form binds and tighter than or', () => {
    const legacy = compile('trace.has(a) or trace.has(b) and trace.has(c)', 'legacy');
    assert.equal(legacy.evaluate(trace(span('a'))), 'violation');
  });

  it('C26: an older-form condition that holds is a violation', () => {
    const legacy = compile('trace.has(a) and not trace.has(b)', 'legacy');
    assert.equal(legacy.evaluate(trace(span('a'))), 'violation');
    assert.equal(legacy.evaluate(trace(span('a'), span('b'))), 'pass');
  });

  it('C27: not not x is rejected, not (not x) is fine', () => {
    assert.equal(rejectCode('when { not not a } always { b }'), 'ERR_DSL_DOUBLE_NOT');
    assert.equal(rejectCode('when { a.where(not not x) } always { b }'), 'ERR_DSL_DOUBLE_NOT');
    assert.equal(outcomeOf('when { not (not a) } always { b }', span('a')), 'violation');
  });

  it('C28: whitespace and comments may stand around the dots of names', () => {
    assert.equal(outcomeOf('when { billing . invoice } always { z }', span('billing.invoice')), 'violation');
    const multiline = 'when { payment\n  // the charge\n  .where(amount > 5) } always { z }';
    assert.equal(outcomeOf(multiline, span('payment', { amount: 9 })), 'violation');
  });

  it('C31: keywords and booleans are lower case; True is a word', () => {
    assert.equal(holds('verified == True', { verified: 'True' }), true);
    assert.equal(holds('verified == True', { verified: true }), false);
    assert.equal(rejectCode('when { a AND b } always { c }'), 'ERR_DSL_UNEXPECTED_TOKEN');
  });

  it('C32: span names outside identifier syntax cannot be written', () => {
    assert.equal(rejectCode('when { payment-service } always { b }'), 'ERR_DSL_INVALID_CHARACTER');
    assert.equal(rejectCode('when { GET /users } always { b }'), 'ERR_DSL_INVALID_CHARACTER');
    assert.equal(rejectCode('when { auth.2fa } always { b }'), 'ERR_DSL_BAD_NUMBER');
  });

  it('C33: arrays and maps are compared as compact JSON text', () => {
    // Strings cannot hold a double quote; \x22 stands for one in a pattern.
    assert.equal(holds('tags matches "^\\[\\x22a\\x22,\\x22b\\x22\\]$"', { tags: ['a', 'b'] }), true);
    assert.equal(holds('tags contains "b"', { tags: ['a', 'b'] }), true);
    assert.equal(holds('m matches "^\\{\\x22k\\x22:1\\}$"', { m: { k: 1 } }), true);
  });

  it('C34: contains and matches use the text forms of numbers', () => {
    assert.equal(holds('code contains 50', { code: 500 }), true);
    assert.equal(holds('ratio matches "^0\\.5$"', { ratio: 0.5 }), true);
  });

  it('C35: the rule limit counts UTF-8 bytes; string and name limits count code points', () => {
    const base = 'when { a } always { b } //';
    const fill = (bytes: number): string => 'é'.repeat(Math.floor(bytes / 2)) + 'x'.repeat(bytes % 2);
    compile(base + fill(65536 - base.length));
    assert.equal(rejectCode(base + fill(65537 - base.length)), 'ERR_DSL_RULE_TOO_LONG');
    compile(`when { a.where(x == "${'😀'.repeat(10000)}") } always { b }`);
    assert.equal(rejectCode(`when { a.where(x == "${'😀'.repeat(10001)}") } always { b }`), 'ERR_DSL_STRING_TOO_LONG');
  });

  it('C36: every load-time error carries a 1-based line and column', () => {
    const d = compileCondition('when {\n  a.where(x matches "[")\n} always { b }', { dialect: 'current' }).diagnostics[0];
    assert.equal(d.code, 'ERR_DSL_BAD_REGEX');
    assert.deepEqual([d.line, d.column], [2, 21]);
  });
});
