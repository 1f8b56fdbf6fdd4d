/** The older trace.has() / trace.count() form (DSL.md 9), read with dialect: legacy. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { compile, reject, span, trace } from './support';

function legacy(text: string): (...spans: ReturnType<typeof span>[]) => string {
  const program = compile(text, 'legacy');
  return (...spans) => program.evaluate(trace(...spans));
}

describe('legacy dialect', () => {
  it('fires when the condition holds and passes otherwise, never not_applicable', () => {
    const run = legacy('trace.has(payment.charge).where(amount > 1000) and not trace.has(payment.fraud_check)');
    assert.equal(run(span('payment.charge', { amount: 5000 })), 'violation');
    assert.equal(run(span('payment.charge', { amount: 5000 }), span('payment.fraud_check')), 'pass');
    assert.equal(run(span('other')), 'pass');
  });

  it('chains .where calls on one span, one comparison each', () => {
    const run = legacy('trace.has(charge).where(amount > 1000).where(currency == USD)');
    assert.equal(run(span('charge', { amount: 2000, currency: 'USD' })), 'violation');
    assert.equal(run(span('charge', { amount: 2000 }), span('charge', { currency: 'USD' })), 'pass');
    const d = reject('trace.has(charge).where(amount > 1 and currency == USD)', 'legacy')[0];
    assert.equal(d.code, 'ERR_DSL_UNEXPECTED_TOKEN');
    assert.match(d.hint ?? '', /one comparison per \.where/);
  });

  it('reads dotted attribute names unquoted', () => {
    const run = legacy('trace.has(database.query).where(data.contains_pii == true) and not trace.has(audit.log)');
    assert.equal(run(span('database.query', { 'data.contains_pii': true })), 'violation');
  });

  it('compares counts with numbers and with other counts', () => {
    assert.equal(legacy('trace.count(http.retry) > 3')(span('http.retry'), span('http.retry'), span('http.retry'), span('http.retry')), 'violation');
    const mismatch = legacy('trace.count(req) != trace.count(resp)');
    assert.equal(mismatch(span('req'), span('req'), span('resp')), 'violation');
    assert.equal(mismatch(span('req'), span('resp')), 'pass');
    const bare = reject('trace.count(req) == count(resp)', 'legacy')[0];
    assert.equal(bare.code, 'ERR_DSL_UNEXPECTED_TOKEN');
    assert.equal(bare.column, 21);
    assert.match(bare.hint ?? '', /trace\.count\(name\)/);
  });

  it('binds not tighter than and, and and tighter than or, with parentheses for grouping', () => {
    assert.equal(legacy('trace.has(a) or trace.has(b) and trace.has(c)')(span('a')), 'violation');
    assert.equal(legacy('(trace.has(a) or trace.has(b)) and trace.has(c)')(span('a')), 'pass');
    assert.equal(legacy('not trace.has(a) and trace.has(b)')(span('b')), 'violation');
  });

  it('supports in, matches and lists; contains is not an operator there', () => {
    assert.equal(legacy('trace.has(api).where(method in [PUT, "POST"])')(span('api', { method: 'POST' })), 'violation');
    assert.equal(legacy('trace.has(api).where(path matches "^/admin")')(span('api', { path: '/admin/x' })), 'violation');
    assert.equal(reject('trace.has(api).where(path contains "x")', 'legacy')[0].code, 'ERR_DSL_UNEXPECTED_TOKEN');
  });

  it('reads \\" in strings as a quote and # as a comment', () => {
    const run = legacy('# fires on quoted names\ntrace.has(a).where(name == "say \\"hi\\"") # end');
    assert.equal(run(span('a', { name: 'say "hi"' })), 'violation');
  });

  it('treats when, always, never and contains as plain words', () => {
    assert.equal(legacy('trace.has(when.always)')(span('when.always')), 'violation');
    assert.equal(legacy('trace.has(a).where(never == contains)')(span('a', { never: 'contains' })), 'violation');
  });

  it('rejects the current form, and the current dialect rejects the older one, with a hint', () => {
    const inLegacy = reject('when { a } always { b }', 'legacy')[0];
    assert.equal(inLegacy.code, 'ERR_DSL_UNEXPECTED_TOKEN');
    assert.match(inLegacy.hint ?? '', /drop dialect: legacy/);
    const inCurrent = reject('trace.has(a)')[0];
    assert.equal(inCurrent.code, 'ERR_DSL_UNEXPECTED_TOKEN');
    assert.match(inCurrent.hint ?? '', /dialect: legacy/);
  });

  it('applies the same checks: double not, bad patterns, limits', () => {
    assert.equal(reject('not not trace.has(a)', 'legacy')[0].code, 'ERR_DSL_DOUBLE_NOT');
    assert.equal(reject('trace.has(a).where(x matches "(")', 'legacy')[0].code, 'ERR_DSL_BAD_REGEX');
    assert.equal(reject('trace.has(a).where(x in GET)', 'legacy')[0].code, 'ERR_DSL_LIST_MISUSE');
    assert.equal(reject(`${'('.repeat(101)}trace.has(a)${')'.repeat(101)}`, 'legacy')[0].code, 'ERR_DSL_TOO_DEEP');
  });

  it('explains a violation with the condition clause and the spans behind it', () => {
    const program = compile('trace.has(a) and not trace.has(b)', 'legacy');
    const verdict = program.explain(trace(span('x'), span('a')));
    assert.equal(verdict.outcome, 'violation');
    assert.equal(verdict.clause, 'condition');
    assert.deepEqual(verdict.whenSpans.map((s) => s.name), ['a']);
    assert.equal(verdict.failure, 'condition held: trace.has(a) and not trace.has(b)');
    assert.deepEqual(program.indexNames, ['a']);
  });
});

describe('legacy failure text', () => {
  it('quotes the condition without # comments, keeping escaped quotes', () => {
    const program = compile('trace.has(a).where(n == "x\\"#y") # note\n  and not trace.has(b)', 'legacy');
    const verdict = program.explain(trace(span('a', { n: 'x"#y' })));
    assert.equal(verdict.failure, 'condition held: trace.has(a).where(n == "x\\"#y") and not trace.has(b)');
  });
});
