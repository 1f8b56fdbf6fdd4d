import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';

import { compileCondition } from '../../dsl/compile';
import { DSL_ERRORS } from '../../dsl/errors';
import { formatDiagnostic } from '../../dsl/diagnostics';
import { parseRuleFile } from '../../dsl/rule-file';
import { ERROR_CODES } from '../../processor/errors';
import { testPath } from '../helpers/paths';

import type { Diagnostic } from '../../dsl/diagnostics';

const base: Diagnostic = {
  code: 'ERR_DSL_UNEXPECTED_TOKEN', severity: 'error', message: 'unexpected "x"', file: 'r.yaml', line: 2, column: 5,
};

describe('formatDiagnostic', () => {
  it('prints the header alone without source', () => {
    assert.equal(formatDiagnostic(base), 'r.yaml:2:5: error ERR_DSL_UNEXPECTED_TOKEN: unexpected "x"');
  });

  it('prints the line before, the problem line and a caret as wide as the problem', () => {
    const text = 'first\nabc xyz\n';
    assert.equal(formatDiagnostic({ ...base, length: 3 }, text), [
      'r.yaml:2:5: error ERR_DSL_UNEXPECTED_TOKEN: unexpected "x"',
      '  1 | first',
      '  2 | abc xyz',
      '    |     ^~~',
    ].join('\n'));
  });

  it('prints a hint and a one-character caret when the length is unknown', () => {
    const out = formatDiagnostic({ ...base, line: 1, column: 1, hint: 'try this' }, 'abc');
    assert.equal(out, ['r.yaml:1:1: error ERR_DSL_UNEXPECTED_TOKEN: unexpected "x"', '  1 | abc', '    | ^', '  hint: try this'].join('\n'));
  });

  it('keeps tabs and counts wide characters once so the caret lines up', () => {
    const out = formatDiagnostic({ ...base, line: 1, column: 4, length: 2 }, '\t😀 ab');
    assert.equal(out.split('\n')[2], '    | \t  ^~');
  });

  it('underlines every line of a problem that spans lines', () => {
    const out = formatDiagnostic({ ...base, line: 1, column: 3, length: 10 }, 'a bcd\n  efgh\nz');
    assert.deepEqual(out.split('\n').slice(1), ['  1 | a bcd', '    |   ^~~', '  2 |   efgh', '    |   ~~~~']);
  });

  it('matches the golden output for a file with several bad rules', () => {
    const file = testPath('dsl', 'testdata', 'bad-rules.yaml');
    const text = fs.readFileSync(file, 'utf8');
    const { diagnostics } = parseRuleFile(text, 'bad-rules.yaml');
    const expected = fs.readFileSync(testPath('dsl', 'testdata', 'bad-rules.expected.txt'), 'utf8');
    assert.equal(`${diagnostics.map((d) => formatDiagnostic(d, text)).join('\n\n')}\n`, expected);
  });
});

describe('DSL_ERRORS', () => {
  it('declares every code the rule language reports, and the registry includes them', () => {
    for (const [code, meaning] of Object.entries(DSL_ERRORS)) {
      assert.match(code, /^ERR_DSL_[A-Z_]+$/);
      assert.ok(meaning.length > 10);
      assert.equal(ERROR_CODES[code], meaning);
    }
  });

  it('lists every code used in the dsl sources', () => {
    const dir = testPath('..', 'dsl');
    const used = new Set<string>();
    for (const name of fs.readdirSync(dir)) {
      if (!name.endsWith('.ts')) continue;
      for (const m of fs.readFileSync(`${dir}/${name}`, 'utf8').matchAll(/'(ERR_DSL_[A-Z_]+)'/g)) used.add(m[1]);
    }
    assert.ok(used.size > 20);
    for (const code of used) assert.ok(code in DSL_ERRORS, code);
  });
});

describe('docs/rule-language.md', () => {
  it('lists every diagnostic code', () => {
    const docs = fs.readFileSync(testPath('..', 'docs', 'rule-language.md'), 'utf8');
    for (const code of Object.keys(DSL_ERRORS)) assert.ok(docs.includes(`\`${code}\``), code);
  });
});

describe('compileCondition positions', () => {
  it('places diagnostics at line and column of the file, every line shifted to the column', () => {
    const d = compileCondition('when { a }\n  always { b oops }', { dialect: 'current', file: 'f.yaml', line: 10, column: 7 })
      .diagnostics[0];
    assert.equal(d.code, 'ERR_DSL_UNEXPECTED_TOKEN');
    assert.deepEqual([d.file, d.line, d.column, d.offset, d.length], ['f.yaml', 11, 20, undefined, 4]);
    const alone = compileCondition('when { a oops } always { b }', { dialect: 'current' }).diagnostics[0];
    assert.deepEqual([alone.file, alone.line, alone.column, alone.offset, alone.length], ['<condition>', 1, 10, 9, 4]);
  });
});

describe('echoed text', () => {
  it('never carries control characters into messages or excerpts', () => {
    const text = 'rules:\n  - id: x\n    condition: "when { a.where(k == 1 \\e) } always { b }"\n    "bad\\u0007key": 1\n';
    const { diagnostics } = parseRuleFile(text, 'r.yaml');
    assert.deepEqual(diagnostics.map((d) => d.code), ['ERR_DSL_INVALID_CHARACTER', 'ERR_DSL_UNKNOWN_FIELD']);
    assert.equal(diagnostics[0].message, 'unexpected character "\\u001b" (U+001B)');
    assert.equal(diagnostics[1].message, 'unknown field "bad\\u0007key" in a rule');
    const printed = diagnostics.map((d) => formatDiagnostic(d, text)).join('\n');
    assert.doesNotMatch(printed, /[\u0000-\u0008\u000b-\u001f\u007f]/);
  });

  it('never carries bidirectional formatting marks into messages or excerpts', () => {
    const text = 'rules:\n  - id: x\n    condition: "when { a.where(k == \\\"\u202e\\\") and \u202e } always { b }"\n';
    const { diagnostics } = parseRuleFile(text, 'r.yaml');
    assert.equal(diagnostics.length, 1);
    assert.equal(diagnostics[0].message, 'unexpected character "\\u202e" (U+202E)');
    const printed = formatDiagnostic(diagnostics[0], text);
    assert.doesNotMatch(printed, /[\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/);
    const lines = printed.split('\n');
    assert.equal(lines[2], '  3 |     condition: "when { a.where(k == \\"\ufffd\\") and \ufffd } always { b }"');
    assert.equal(lines[3], `    | ${' '.repeat(47)}^`, 'the caret stays under the mark it replaces');
  });
});
