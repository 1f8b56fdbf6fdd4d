import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { tokenize } from '../../dsl/lexer';

import type { Dialect } from '../../dsl/rule';

function kinds(text: string, dialect: Dialect = 'current'): string[] {
  const { tokens, diagnostics } = tokenize(text, dialect);
  assert.deepEqual(diagnostics, []);
  return tokens.filter((t) => t.kind !== 'eof').map((t) => `${t.kind}:${t.text}`);
}

function lexError(text: string, dialect: Dialect = 'current'): { code: string; message: string; start: number; hint?: string } {
  const { diagnostics } = tokenize(text, dialect);
  assert.ok(diagnostics.length > 0, `expected a lexical error in ${JSON.stringify(text)}`);
  return diagnostics[0];
}

describe('tokenize', () => {
  it('recognises the 13 keywords as whole words only', () => {
    assert.deepEqual(kinds('when always never and or not where count in matches contains true false'),
      ['when', 'always', 'never', 'and', 'or', 'not', 'where', 'count', 'in', 'matches', 'contains', 'true', 'false']
        .map((k) => `keyword:${k}`));
    assert.deepEqual(kinds('notify index counter inbound where_clause truest'),
      ['ident:notify', 'ident:index', 'ident:counter', 'ident:inbound', 'ident:where_clause', 'ident:truest']);
  });

  it('treats keywords as case-sensitive (C31)', () => {
    assert.deepEqual(kinds('AND Not True'), ['ident:AND', 'ident:Not', 'ident:True']);
  });

  it('reads trace, has and null as plain identifiers in the current form', () => {
    assert.deepEqual(kinds('trace has null'), ['ident:trace', 'ident:has', 'ident:null']);
  });

  it('reads decimals before integers and splits 1.2.3 into decimal, dot, integer', () => {
    assert.deepEqual(kinds('0.75 42 1.2.3'), ['number:0.75', 'number:42', 'number:1.2', 'punct:.', 'number:3']);
  });

  it('reads a minus sign directly before a digit as part of the number (C14)', () => {
    assert.deepEqual(kinds('-10 -0.5'), ['number:-10', 'number:-0.5']);
    const err = lexError('a - 5');
    assert.equal(err.code, 'ERR_DSL_INVALID_CHARACTER');
    assert.match(err.hint ?? '', /minus/);
  });

  it('rejects exponents, hex, digit separators and letters after digits', () => {
    for (const text of ['1e3', '1E-3', '0x10', '1_000', '3ds', 'auth.2fa']) {
      const err = lexError(text);
      assert.equal(err.code, 'ERR_DSL_BAD_NUMBER', text);
      assert.match(err.message, /invalid number/);
    }
  });

  it('ends a number where a keyword starts, as the token classes are tried in order', () => {
    assert.deepEqual(kinds('5and 2.5or 3in'), ['number:5', 'keyword:and', 'number:2.5', 'keyword:or', 'number:3', 'keyword:in']);
    assert.deepEqual(kinds('5and', 'legacy'), ['number:5', 'keyword:and']);
    assert.equal(lexError('5andy').code, 'ERR_DSL_BAD_NUMBER');
  });

  it('reads duration literals with every unit and an optional fraction', () => {
    const { tokens } = tokenize('5ns 5us 5ms 5s 5m 5h 1.5s 250ms', 'current');
    assert.deepEqual(tokens.filter((t) => t.kind === 'duration').map((t) => t.value),
      [5, 5e3, 5e6, 5e9, 300e9, 18000e9, 1.5e9, 250e6]);
  });

  it('rejects compound and negative durations', () => {
    const compound = lexError('1m30s');
    assert.equal(compound.code, 'ERR_DSL_BAD_DURATION');
    assert.match(compound.message, /compound/);
    const negative = lexError('-5ms');
    assert.equal(negative.code, 'ERR_DSL_BAD_DURATION');
    assert.match(negative.message, /negative/);
  });

  it('keeps string content exactly, with no escapes (C17)', () => {
    const { tokens } = tokenize('"C:\\tmp\\" "a\nb\t\u0000😀" "\\d+"', 'current');
    assert.deepEqual(tokens.filter((t) => t.kind === 'string').map((t) => t.text),
      ['C:\\tmp\\', 'a\nb\t\u0000😀', '\\d+']);
  });

  it('reads \\" as a quote in the older form only', () => {
    const { tokens } = tokenize('"say \\"hi\\""', 'legacy');
    assert.equal(tokens[0].text, 'say "hi"');
    const current = tokenize('"say \\"hi\\""', 'current');
    assert.equal(current.tokens[0].text, 'say \\');
  });

  it('reports an unclosed string at its opening quote', () => {
    const err = lexError('when { a.where(x == "abc) }');
    assert.equal(err.code, 'ERR_DSL_UNCLOSED_STRING');
    assert.equal(err.start, 20);
  });

  it('drops // comments up to the line end and keeps # as an error (current form)', () => {
    assert.deepEqual(kinds('a // b c\nd'), ['ident:a', 'ident:d']);
    const err = lexError('a # comment');
    assert.equal(err.code, 'ERR_DSL_INVALID_CHARACTER');
    assert.match(err.hint ?? '', /\/\//);
  });

  it('accepts # comments in the older form', () => {
    assert.deepEqual(kinds('trace # note\n.has', 'legacy'), ['keyword:trace', 'punct:.', 'keyword:has']);
  });

  it('counts only space, tab, CR and LF as whitespace', () => {
    const err = lexError('a\u00a0b');
    assert.equal(err.code, 'ERR_DSL_INVALID_CHARACTER');
    assert.match(err.message, /U\+00A0/);
    assert.match(err.hint ?? '', /space, tab, CR and LF/);
  });

  it('rejects every character that starts no token, with a hint where one helps', () => {
    const cases: [string, RegExp | null][] = [
      ['=', /==/], ['!', /!=/], ['&', /and/], ['|', /or/], ["'", /double quotes/], ['+', /arithmetic/],
      ['%', null], [';', null], ['@', null], ['$', null], ['?', null], ['`', null], ['~', null], ['^', null],
      ['/', /\/\//], [':', /span:/], ['é', /ASCII/],
    ];
    for (const [ch, hint] of cases) {
      const err = lexError(`a ${ch} b`);
      assert.equal(err.code, 'ERR_DSL_INVALID_CHARACTER', ch);
      assert.match(err.message, /unexpected character/);
      if (hint !== null) assert.match(err.hint ?? '', hint, ch);
    }
  });

  it('reads span: and resource: as scope prefixes and * as the any-span token', () => {
    assert.deepEqual(kinds('span:duration resource:"odd key" *'),
      ['scope:span', 'ident:duration', 'scope:resource', 'string:odd key', 'star:*']);
  });

  it('gives every token the same shape', () => {
    const { tokens } = tokenize('when { a.b > 5ms }', 'current');
    for (const t of tokens) assert.deepEqual(Object.keys(t), ['kind', 'text', 'start', 'end', 'value']);
  });
});
