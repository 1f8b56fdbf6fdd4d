import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { compileCondition } from '../../dsl/compile';
import { compile, reject, rejectCode } from './support';

describe('static checks (6.9)', () => {
  it('S1 rejects a rule without always or never, at the start of the rule', () => {
    const d = reject('  when { a }')[0];
    assert.equal(d.code, 'ERR_DSL_NO_CLAUSE');
    assert.match(d.message, /neither an always nor a never/);
    assert.deepEqual([d.line, d.column], [1, 3]);
  });

  it('S2 rejects a repeated clause at its second keyword', () => {
    const d = reject('when { a } always { b } always { c }')[0];
    assert.equal(d.code, 'ERR_DSL_DUPLICATE_CLAUSE');
    assert.match(d.message, /"always" appears twice/);
    assert.equal(d.column, 25);
  });

  it('S3 rejects a span reference in a filter', () => {
    const d = reject('when { a.where(x == 1 or fraud.done) } always { b }')[0];
    assert.equal(d.code, 'ERR_DSL_SPAN_REFERENCE');
    assert.match(d.message, /"fraud.done" is a span reference/);
    assert.equal(d.column, 26);
  });

  it('S4 rejects count(...) compared with an attribute, in filters and direct comparisons', () => {
    assert.equal(rejectCode('when { a.where(x == count(b)) } always { b }'), 'ERR_DSL_COUNT_AS_VALUE');
    assert.equal(rejectCode('when { a.x == count(b) } always { b }'), 'ERR_DSL_COUNT_AS_VALUE');
  });

  it('S5 rejects in without a list and a list after any other operator', () => {
    const d = reject('when { a.where(x in GET) } always { b }')[0];
    assert.equal(d.code, 'ERR_DSL_LIST_MISUSE');
    assert.match(d.message, /"in" needs a list/);
    for (const op of ['==', '!=', '<', 'matches', 'contains']) {
      assert.equal(rejectCode(`when { a.where(x ${op} [1, 2]) } always { b }`), 'ERR_DSL_LIST_MISUSE', op);
    }
    assert.equal(rejectCode('when { count(a) > [1] } always { b }'), 'ERR_DSL_LIST_MISUSE');
  });

  it('S6 rejects a pattern that is not RE2, with a hint for other regex dialects', () => {
    const lookBehind = reject('when { a.where(x matches "(?<=a)b") } always { b }')[0];
    assert.equal(lookBehind.code, 'ERR_DSL_BAD_REGEX');
    assert.match(lookBehind.hint ?? '', /look-around/);
    const backRef = reject('when { a.where(x matches "(a)\\1") } always { b }')[0];
    assert.match(backRef.hint ?? '', /back-references/);
    assert.equal(rejectCode('when { a.where(x matches "a{1001}") } always { b }'), 'ERR_DSL_BAD_REGEX');
  });

  it('S7 rejects a direct comparison on a single name', () => {
    const d = reject('when { payment > 5 } always { b }')[0];
    assert.equal(d.code, 'ERR_DSL_DIRECT_NEEDS_SPAN');
    assert.match(d.message, /"payment" is a single name/);
  });

  it('reports every check failure of a rule, not only the first', () => {
    const errors = reject('when { a.where(x in GET and y matches "(") } always { b } always { c }');
    assert.deepEqual(errors.map((d) => d.code).sort(),
      ['ERR_DSL_BAD_REGEX', 'ERR_DSL_DUPLICATE_CLAUSE', 'ERR_DSL_LIST_MISUSE']);
  });

  it('returns a program exactly when no diagnostic is an error', () => {
    const warned = compileCondition('when { a.where(x > y) } always { b }', { dialect: 'current' });
    assert.ok(warned.program !== null);
    assert.deepEqual(warned.diagnostics.map((d) => d.severity), ['warning']);
    const failed = compileCondition('when { a.where(x > y and z in q) } always { b }', { dialect: 'current' });
    assert.equal(failed.program, null);
    assert.deepEqual(failed.diagnostics.map((d) => d.severity).sort(), ['error', 'warning']);
  });
});

describe('limits (7, S8)', () => {
  const pad = (rule: string, bytes: number): string => rule + ' //' + 'x'.repeat(bytes - rule.length - 3);

  it('allows a rule of exactly 65536 bytes and rejects 65537, stating both sizes', () => {
    compile(pad('when { a } always { b }', 65536));
    const d = reject(pad('when { a } always { b }', 65537))[0];
    assert.equal(d.code, 'ERR_DSL_RULE_TOO_LONG');
    assert.equal(d.message, 'rule of 65537 bytes is over the limit of 65536');
    assert.deepEqual([d.line, d.column], [1, 1]);
  });

  it('allows strings of 10000 characters and rejects 10001', () => {
    compile(`when { a.where(x == "${'s'.repeat(10000)}") } always { b }`);
    const d = reject(`when { a.where(x == "${'s'.repeat(10001)}") } always { b }`)[0];
    assert.equal(d.code, 'ERR_DSL_STRING_TOO_LONG');
    assert.match(d.message, /10001 characters is over the limit of 10000/);
  });

  it('allows identifiers of 100 characters and rejects 101, per segment', () => {
    const name = 'n'.repeat(100);
    compile(`when { ${name}.${name} } always { b }`);
    const d = reject(`when { ok.${'n'.repeat(101)} } always { b }`)[0];
    assert.equal(d.code, 'ERR_DSL_NAME_TOO_LONG');
    assert.match(d.message, /101 characters is over the limit of 100/);
    assert.equal(d.column, 11);
  });

  it('allows 100 open parentheses, counting where( and count(, and rejects 101', () => {
    compile(`when { ${'('.repeat(100)}a${')'.repeat(100)} } always { b }`);
    compile(`when { ${'('.repeat(99)}a.where(x == 1)${')'.repeat(99)} } always { b }`);
    compile(`when { ${'('.repeat(99)}count(a) > 1${')'.repeat(99)} } always { b }`);
    assert.equal(rejectCode(`when { ${'('.repeat(100)}a.where(x == 1)${')'.repeat(100)} } always { b }`), 'ERR_DSL_TOO_DEEP');
    assert.equal(rejectCode(`when { a.where(${'('.repeat(100)}x == 1${')'.repeat(100)}) } always { b }`), 'ERR_DSL_TOO_DEEP');
  });

  it('does not count braces or brackets as nesting', () => {
    compile(`when { ${'('.repeat(99)}a.where(x in [1])${')'.repeat(99)} } always { b }`);
  });

  it('answers with one diagnostic for thousands of open parentheses', () => {
    const errors = reject(`when { ${'('.repeat(20000)}a } always { b }`);
    assert.equal(errors.length, 1);
    assert.equal(errors[0].code, 'ERR_DSL_TOO_DEEP');
    assert.equal(errors[0].column, 108);
  });
});
