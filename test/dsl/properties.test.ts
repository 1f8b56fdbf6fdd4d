/**
 * Property-based tests: whatever the text, the compiler answers with a
 * program or with error diagnostics, never a crash or a hang; programs that
 * compile evaluate without errors, and explain agrees with evaluate.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import fc from 'fast-check';

import { compileCondition } from '../../dsl/compile';
import { DSL_ERRORS } from '../../dsl/errors';
import { toTraceView } from '../../dsl/example-trace';
import { compareCodePoints, toNumberLiteralText } from '../../dsl/text-compare';

import type { Dialect, ExampleSpan } from '../../dsl/rule';

// A hang fails the test instead of stalling the suite.
const TIMEOUT = { timeout: 60_000 };

/** The compiler's contract on any input. */
function assertAnswers(text: string, dialect: Dialect = 'current'): void {
  const result = compileCondition(text, { dialect });
  const hasError = result.diagnostics.some((d) => d.severity === 'error');
  assert.equal(result.program === null, hasError, text);
  for (const d of result.diagnostics) {
    assert.ok(d.code in DSL_ERRORS, d.code);
    assert.ok(d.line >= 1 && d.column >= 1, `${d.code} at ${d.line}:${d.column}`);
    assert.ok(d.message.length > 0);
  }
}

const VOCABULARY = [
  'when', 'always', 'never', 'and', 'or', 'not', 'where', 'count', 'in', 'matches', 'contains', 'true',
  'false', '{', '}', '(', ')', '[', ']', ',', '.', '==', '!=', '<', '<=', '>', '>=', '*', 'span:', 'resource:',
  'duration', 'status', 'a', 'b.c', 'x', '"s"', '"("', '5', '-1', '2.5', '10ms', '1m30s', '1e3', '//c\n', '\n',
  'trace', 'has', '#', '"', '=', '!', ':', '😀', '\u00a0',
];

const tokenSoup = fc.array(fc.constantFrom(...VOCABULARY), { maxLength: 60 }).map((ts) => ts.join(' '));

const VALID = [
  'when { payment.charge.where(amount > 1000 and currency in [USD, "EUR"]) } always { payment.fraud_check }',
  'when { count(http.retry) > 3 or not health } never { *.where(span:status == error) }',
  'when { a.where(span:duration > 2s and resource:service.name != pay) } always { b.where(x matches "^a+$") }',
  'when { (a or b) and not (c) } never { count(a) != count(b) }',
];

const mutation = fc.tuple(
  fc.constantFrom(...VALID),
  fc.array(fc.tuple(fc.nat(), fc.nat({ max: 8 }), fc.constantFrom(...VOCABULARY, '', ')', '(((', '"')), { minLength: 1, maxLength: 5 }),
).map(([text, edits]) => {
  let out = text;
  for (const [at, cut, insert] of edits) {
    const i = at % (out.length + 1);
    out = out.slice(0, i) + insert + out.slice(i + cut);
  }
  return out;
});

const nesting = fc.tuple(fc.nat({ max: 400 }), fc.constantFrom('(', 'not (', 'a.where(', 'count(', '[')).map(
  ([depth, open]) => `when { ${open.repeat(depth)}a${')'.repeat(depth)} } always { b }`,
);

// ---- generated valid rules and traces ----------------------------------------

const NAMES = ['a', 'b', 'c', 'svc.op', 'x.y.z'];
const spanName = fc.constantFrom(...NAMES);
const scalar = fc.oneof(
  fc.integer({ min: -5, max: 5 }).map(String),
  fc.constantFrom('"1"', 'abc', '"x y"', 'true', 'false', '1.5', '""', '"-3"'),
);
const attr = fc.constantFrom('k', 'n', 'flag', '"odd key"', 'd.e');
const attrTest = fc.oneof(
  fc.tuple(attr, fc.constantFrom('==', '!=', '<', '<=', '>', '>=', 'contains'), scalar).map(([a, o, v]) => `${a} ${o} ${v}`),
  fc.tuple(attr, fc.array(scalar, { minLength: 1, maxLength: 3 })).map(([a, xs]) => `${a} in [${xs.join(', ')}]`),
  fc.tuple(attr, fc.constantFrom('"^a"', '"b+"', '"(?i)X"', '"^$"')).map(([a, p]) => `${a} matches ${p}`),
  fc.constantFrom('flag', 'span:status == error', 'span:duration > 1ms', 'span:duration <= 5000000',
    'resource:service.name == pay', 'span:kind in [server, client]', 'span:name contains "a"'),
);
const { predicate } = fc.letrec<{ predicate: string }>((tie) => ({
  predicate: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    attrTest,
    attrTest.map((p) => `not ${p}`),
    fc.tuple(tie('predicate'), tie('predicate')).map(([p, q]) => `(${p}) and (${q})`),
    fc.tuple(tie('predicate'), tie('predicate')).map(([p, q]) => `(${p}) or (${q})`),
  ),
}));
const { condition } = fc.letrec<{ condition: string }>((tie) => ({
  condition: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    spanName,
    fc.tuple(spanName, predicate).map(([s, p]) => `${s}.where(${p})`),
    fc.tuple(predicate).map(([p]) => `*.where(${p})`),
    fc.tuple(spanName, fc.constantFrom('==', '!=', '<', '<=', '>', '>='), fc.nat({ max: 3 })).map(([s, o, n]) => `count(${s}) ${o} ${n}`),
    fc.tuple(spanName, spanName).map(([s, t]) => `count(${s}) > count(${t})`),
    fc.tuple(fc.constantFrom('svc.op', 'x.y'), fc.constantFrom('k', 'n'), scalar).map(([s, k, v]) => `${s}.${k} == ${v}`),
    tie('condition').map((c) => `not (${c})`),
    fc.tuple(tie('condition'), tie('condition')).map(([c, d]) => `(${c}) and (${d})`),
    fc.tuple(tie('condition'), tie('condition')).map(([c, d]) => `(${c}) or (${d})`),
  ),
}));
const rule = fc.tuple(condition, fc.option(condition), fc.option(condition), fc.boolean()).map(([w, a, n, flip]) => {
  const always = a === null && n === null ? 'b' : a;
  const clauses = [always === null ? '' : `always { ${always} }`, n === null ? '' : `never { ${n} }`];
  if (flip) clauses.reverse();
  return `when { ${w} } ${clauses.join(' ')}`;
});

const VALUES = ['1', '-3', '1.50', 'abc', 'true', '', 'x y', 'aXb', 'bbb', 'NaN'];
const exampleSpan: fc.Arbitrary<ExampleSpan> = fc.record({
  span: fc.constantFrom(...NAMES, 'other'),
  attributes: fc.dictionary(fc.constantFrom('k', 'n', 'flag', 'odd key', 'd.e'), fc.constantFrom(...VALUES), { maxKeys: 4 }),
  resource: fc.dictionary(fc.constantFrom('service.name'), fc.constantFrom('pay', 'web'), { maxKeys: 1 }),
  status: fc.constantFrom('unset', 'ok', 'error'),
  kind: fc.constantFrom('internal', 'server', 'client'),
  duration_ms: fc.integer({ min: 0, max: 10 }),
});
const exampleTrace = fc.array(exampleSpan, { maxLength: 8 });

describe('compiler robustness', () => {
  it('answers any unicode text with a program or diagnostics', TIMEOUT, () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (t) => assertAnswers(t)), { numRuns: 400 });
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (t) => assertAnswers(t, 'legacy')), { numRuns: 200 });
  });

  it('answers token soup of the language\'s own words', TIMEOUT, () => {
    fc.assert(fc.property(tokenSoup, (t) => assertAnswers(t)), { numRuns: 1000 });
    fc.assert(fc.property(tokenSoup, (t) => assertAnswers(t, 'legacy')), { numRuns: 300 });
    fc.assert(fc.property(tokenSoup, (t) => assertAnswers(`when { ${t} } always { b }`)), { numRuns: 500 });
  });

  it('answers mutated valid rules', TIMEOUT, () => {
    fc.assert(fc.property(mutation, (t) => assertAnswers(t)), { numRuns: 1000 });
  });

  it('answers deep nesting, compiling up to the limit and rejecting past it', TIMEOUT, () => {
    fc.assert(fc.property(nesting, (t) => assertAnswers(t)), { numRuns: 200 });
    fc.assert(fc.property(fc.integer({ min: 1, max: 300 }), (depth) => {
      const r = compileCondition(`when { ${'('.repeat(depth)}a${')'.repeat(depth)} } always { b }`, { dialect: 'current' });
      assert.equal(r.program !== null, depth <= 100);
    }), { numRuns: 100 });
  });
});

describe('compiled programs', () => {
  it('compile every generated valid rule', TIMEOUT, () => {
    fc.assert(fc.property(rule, (text) => {
      const r = compileCondition(text, { dialect: 'current' });
      assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error'), [], text);
    }), { numRuns: 500 });
  });

  it('evaluate without errors, agree with explain, and keep the index sound', TIMEOUT, () => {
    fc.assert(fc.property(rule, exampleTrace, (text, spans) => {
      const { program } = compileCondition(text, { dialect: 'current' });
      assert.ok(program !== null);
      const view = toTraceView({ trace: spans });
      const outcome = program.evaluate(view);
      const verdict = program.explain(view);
      assert.equal(verdict.outcome, outcome);
      assert.equal(verdict.clause === null, outcome !== 'violation');
      assert.equal(verdict.failure === '', outcome !== 'violation');
      if (program.indexNames !== null && !program.indexNames.some((n) => view.byName.has(n))) {
        assert.equal(outcome, 'not_applicable', text);
      }
      for (const s of verdict.whenSpans) assert.ok(view.spans.includes(s));
    }), { numRuns: 500 });
  });

  it('keep a != v equal to not (a == v), missing attributes included (C9)', TIMEOUT, () => {
    fc.assert(fc.property(scalar, exampleTrace, (v, spans) => {
      const view = toTraceView({ trace: spans });
      const ne = compileCondition(`when { *.where(k != ${v}) } always { z }`, { dialect: 'current' }).program!;
      const notEq = compileCondition(`when { *.where(not k == ${v}) } always { z }`, { dialect: 'current' }).program!;
      assert.equal(ne.evaluate(view), notEq.evaluate(view));
    }), { numRuns: 300 });
  });
});

describe('text comparison', () => {
  it('order texts as UTF-8 bytes do', () => {
    // Lone surrogates become U+FFFD in UTF-8, so compare well-formed texts only.
    const loneSurrogate = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
    fc.assert(fc.property(fc.string({ unit: 'binary' }), fc.string({ unit: 'binary' }), (a, b) => {
      fc.pre(!loneSurrogate.test(a) && !loneSurrogate.test(b));
      const bytes = Math.sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')));
      assert.equal(Math.sign(compareCodePoints(a, b)), bytes);
    }), { numRuns: 1000 });
  });

  it('give number literals a text form that reads back to the same value', () => {
    const literal = fc.tuple(fc.boolean(), fc.stringMatching(/^\d{1,25}$/), fc.option(fc.stringMatching(/^\d{1,25}$/)))
      .map(([neg, whole, frac]) => `${neg ? '-' : ''}${whole}${frac === null ? '' : `.${frac}`}`);
    fc.assert(fc.property(literal, (text) => {
      const form = toNumberLiteralText(text);
      assert.equal(Number(form), Number(text) === 0 ? 0 : Number(text));
      assert.doesNotMatch(form, /e/);
    }), { numRuns: 1000 });
  });
});
