import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { compileCondition } from '../../dsl/compile';
import { tokenize } from '../../dsl/lexer';
import { parseTokens } from '../../dsl/parser';
import { compile, outcomeOf, reject, rejectCode, span } from './support';

describe('grammar', () => {
  it('accepts every form of the quick reference', () => {
    const rules = [
      'when { a } always { b }',
      'when { a.b.c } never { d }',
      'when { a.where(x == 1) } always { b.where(y != "z").where(w) }',
      'when { a.x > 10 } always { b }',
      'when { count(a) > 2 } always { count(b) == count(c) }',
      'when { a.where(m in [x, "y", 3, true]) } always { b }',
      'when { a.where(m matches "^x$") } always { b.where(n contains "q") }',
      'when { a.where(flag and not other) } always { b }',
      'when { a.where("dotted.key" >= 5) } always { b }',
      'when { not a or (b and c) } always { d }',
    ];
    for (const text of rules) compile(text);
  });

  it('accepts always and never in either order (C4)', () => {
    compile('when { a } always { b } never { c }');
    compile('when { a } never { c } always { b }');
  });

  it('requires a when clause first and nothing after the last clause', () => {
    assert.equal(rejectCode('always { b }'), 'ERR_DSL_UNEXPECTED_TOKEN');
    const extra = reject('when { a } always { b } when { c }')[0];
    assert.equal(extra.code, 'ERR_DSL_UNEXPECTED_TOKEN');
    assert.match(extra.message, /unexpected "when"/);
    assert.match(extra.hint ?? '', /exactly one rule/);
  });

  it('rejects an empty text or a text of comments only', () => {
    assert.equal(rejectCode(''), 'ERR_DSL_EMPTY_RULE');
    assert.equal(rejectCode('  // nothing here\n'), 'ERR_DSL_EMPTY_RULE');
  });

  it('rejects an empty clause body', () => {
    const d = reject('when { } always { b }')[0];
    assert.equal(d.code, 'ERR_DSL_UNEXPECTED_TOKEN');
    assert.match(d.hint ?? '', /never empty/);
  });

  it('rejects values used as conditions', () => {
    for (const text of ['when { true } always { b }', 'when { 5 } always { b }', 'when { "a" } always { b }']) {
      const d = reject(text)[0];
      assert.equal(d.code, 'ERR_DSL_UNEXPECTED_TOKEN');
      assert.match(d.hint ?? '', /value is not a condition/);
    }
  });

  it('rejects chained comparisons, arithmetic and dotted right sides', () => {
    assert.equal(rejectCode('when { a.where(x < 1 < 2) } always { b }'), 'ERR_DSL_UNEXPECTED_TOKEN');
    assert.equal(rejectCode('when { a.where(x == 1 + 2) } always { b }'), 'ERR_DSL_INVALID_CHARACTER');
    const dotted = reject('when { a.where(owner == user.name) } always { b }')[0];
    assert.equal(dotted.code, 'ERR_DSL_UNEXPECTED_TOKEN');
    assert.match(dotted.hint ?? '', /never an attribute/);
  });

  it('allows count only on the left, with a plain name and the six operators', () => {
    assert.equal(rejectCode('when { 3 < count(x) } always { b }'), 'ERR_DSL_UNEXPECTED_TOKEN');
    const filtered = reject('when { count(x.where(a == 1)) > 1 } always { b }')[0];
    assert.equal(filtered.code, 'ERR_DSL_UNEXPECTED_TOKEN');
    assert.match(filtered.hint ?? '', /no filtered count/);
    for (const op of ['in', 'matches', 'contains']) {
      const d = reject(`when { count(x) ${op} [1] } always { b }`)[0];
      assert.equal(d.code, 'ERR_DSL_UNEXPECTED_TOKEN');
      assert.match(d.hint ?? '', /count comparisons use/);
    }
    assert.equal(rejectCode('when { count(x) } always { b }'), 'ERR_DSL_UNEXPECTED_TOKEN');
  });

  it('rejects empty lists and trailing commas', () => {
    const empty = reject('when { a.where(x in []) } always { b }')[0];
    assert.equal(empty.code, 'ERR_DSL_UNEXPECTED_TOKEN');
    assert.match(empty.hint ?? '', /never empty/);
    const trailing = reject('when { a.where(x in [1, 2,]) } always { b }')[0];
    assert.equal(trailing.code, 'ERR_DSL_UNEXPECTED_TOKEN');
    assert.match(trailing.hint ?? '', /trailing comma/);
  });

  it('rejects keywords as span names, name segments and bare words', () => {
    const d = reject('when { payment.count } always { b }')[0];
    assert.equal(d.code, 'ERR_DSL_UNEXPECTED_TOKEN');
    assert.match(d.hint ?? '', /"count" is a keyword/);
    assert.equal(rejectCode('when { where } always { b }'), 'ERR_DSL_UNEXPECTED_TOKEN');
    assert.equal(rejectCode('when { a.where(x == in) } always { b }'), 'ERR_DSL_UNEXPECTED_TOKEN');
  });

  it('reads a keyword attribute through a quoted name', () => {
    assert.equal(outcomeOf('when { a.where("count" > 5) } always { b }', span('a', { count: 9 })), 'violation');
  });

  it('binds and tighter than or, and not to one factor (section 5)', () => {
    // a or b and c == a or (b and c): true with a alone.
    assert.equal(outcomeOf('when { a or b and c } always { z }', span('a')), 'violation');
    // not a and b == (not a) and b: holds with b alone.
    assert.equal(outcomeOf('when { not a and b } always { z }', span('b')), 'violation');
    assert.equal(outcomeOf('when { not a and b } always { z }', span('a'), span('b')), 'not_applicable');
    // not amount > 100 inside a filter == not (amount > 100)
    assert.equal(outcomeOf('when { s.where(not amount > 100) } always { z }', span('s', { amount: 50 })), 'violation');
    assert.equal(outcomeOf('when { s.where(not amount > 100) } always { z }', span('s', { amount: 500 })), 'not_applicable');
  });

  it('parses flat chains with loops: 2000 and-terms and 2000 or-terms compile', () => {
    const terms = Array.from({ length: 2000 }, (_, i) => `s${i}`);
    const and = compile(`when { ${terms.join(' and ')} } always { z }`);
    assert.deepEqual(and.indexNames?.length, 1);
    const or = compile(`when { ${terms.join(' or ')} } always { z }`);
    assert.equal(or.indexNames?.length, 2000);
  });

  it('places syntax errors at the offending token (section 8)', () => {
    const d = reject('when { a always { b }')[0];
    assert.equal(d.code, 'ERR_DSL_UNEXPECTED_TOKEN');
    assert.equal(d.message, 'unexpected "always" (expected "and", "or" or "}")');
    assert.deepEqual([d.line, d.column], [1, 10]);
    const eof = reject('when { a } always { b')[0];
    assert.match(eof.message, /unexpected end of rule/);
    assert.deepEqual([eof.line, eof.column], [1, 22]);
  });

  it('counts columns in code points and lines at LF', () => {
    const d = reject('when {\n  "😀😀" a } always { b }')[0];
    assert.equal(d.code, 'ERR_DSL_UNEXPECTED_TOKEN');
    assert.deepEqual([d.line, d.column], [2, 3]);
    const after = compileCondition('when { a.where(x == "😀") } always { b } %', { dialect: 'current' }).diagnostics[0];
    assert.equal(after.code, 'ERR_DSL_INVALID_CHARACTER');
    assert.equal(after.column, 41);
  });

  it('builds a syntax tree for a when-only rule, which the checks then reject (C5)', () => {
    const parsed = parseTokens(tokenize('when { a }', 'current').tokens, 'current');
    assert.ok(parsed.rule !== null);
    assert.equal(parsed.rule.clauses.length, 0);
    assert.equal(rejectCode('when { a }'), 'ERR_DSL_NO_CLAUSE');
  });
});
