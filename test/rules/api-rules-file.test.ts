/**
 * The rules API's own file: written text reads back to the same rules and
 * overrides (and so the same ETags); the overrides section leaves every
 * rule position where it is; bad overrides are reported at their line; the
 * write is atomic and keeps the file's mode.
 */

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import fc from 'fast-check';

import { compileRule, parseRuleDefinition, parseRuleFile } from '../../dsl/rule-file';
import { formatApiRulesFile, parseApiRulesText, readApiRulesFile, writeApiRulesFile } from '../../processor/rules/api-rules-file';
import { computeRuleEtag } from '../../processor/rules/rule-etag';

import type { CompiledRule } from '../../dsl/rule';

function rule(fields: Record<string, unknown>): CompiledRule {
  const read = parseRuleDefinition(fields);
  assert.deepEqual(read.diagnostics, []);
  const compiled = compileRule(read.definition!);
  assert.notEqual(compiled.rule, null, JSON.stringify(compiled.diagnostics));
  return compiled.rule!;
}

function etagsOf(rules: readonly CompiledRule[]): string[] {
  return rules.map((r) => computeRuleEtag(r, r.enabled));
}

describe('formatApiRulesFile and parseApiRulesText', () => {
  it('reads back every field it writes, examples and overrides included', () => {
    const rules = [
      rule({
        id: 'full', name: 'Full rule', description: 'first line\nsecond: line', severity: 'high', enabled: false,
        dialect: 'current', compliance_frameworks: ['SOC2'], compliance: [{ framework: 'soc2', control: 'CC6.1' }],
        tags: ['a', 'true', '10'], condition: 'when { a.where(x > 10) }\nalways { b }\n',
        example_violation: { description: 'no b', trace: [{ span: 'a', attributes: { x: 11, ok: true, big: 12.5, s: '007' } }] },
        example_pass: { trace: [{ span: 'a', attributes: { x: 1 } }, { span: 'b', status: 'error', duration_ms: 5 }] },
      }),
      rule({ id: 'legacy', dialect: 'legacy', condition: 'trace.has(a) and trace.has(b)' }),
      rule({ id: 'plain', condition: 'when { a } always { b }' }),
    ];
    const overrides = new Map([['from-file', false], ['other', true]]);
    const text = formatApiRulesFile({ rules, overrides });
    const read = parseApiRulesText(text, '/x/api.yaml');
    assert.deepEqual(read.diagnostics, []);
    assert.deepEqual(read.state!.rules.map((r) => r.id), ['full', 'legacy', 'plain']);
    assert.deepEqual(etagsOf(read.state!.rules), etagsOf(rules));
    assert.deepEqual([...read.state!.overrides], [['from-file', false], ['other', true]]);
    assert.equal(read.state!.rules[0].description, 'first line\nsecond: line');
    assert.deepEqual(read.state!.rules[0].tags, ['a', 'true', '10']);
  });

  it('reads back names, descriptions and condition whitespace of any text', () => {
    const text = fc.string({ unit: 'binary', maxLength: 40 });
    const space = fc.array(fc.constantFrom(' ', '\t', '\n', '\n\n', '  \n', '\r\n', '\r'), { maxLength: 5 }).map((a) => a.join(''));
    fc.assert(fc.property(text, text, space, space, space, (name, description, lead, middle, tail) => {
      const input = rule({ id: 'r', name: name === '' ? 'r' : name, description, condition: `${lead}when { a }${middle === '' ? ' ' : middle}always { b }${tail}` });
      const read = parseApiRulesText(formatApiRulesFile({ rules: [input], overrides: new Map() }), 'api.yaml');
      assert.deepEqual(read.diagnostics.filter((d) => d.severity === 'error'), []);
      const back = read.state!.rules[0];
      assert.equal(back.name, input.name);
      assert.equal(back.description, input.description);
      assert.equal(back.condition, input.condition);
      assert.equal(computeRuleEtag(back, back.enabled), computeRuleEtag(input, input.enabled));
    }), { numRuns: 200 });
  });

  it('writes a file that any rule-file reader loads, with a header comment', () => {
    const text = formatApiRulesFile({ rules: [rule({ id: 'plain', condition: 'when { a } always { b }' })], overrides: new Map() });
    assert.match(text, /^# /);
    const plain = parseRuleFile(text, 'api.yaml');
    assert.deepEqual(plain.diagnostics, []);
    assert.deepEqual(plain.rules.map((r) => r.id), ['plain']);
  });

  it('keeps rule positions exact when overrides come before the rules', () => {
    const text = [
      'overrides:',
      '  - id: some-file-rule',
      '    enabled: false',
      'rules:',
      '  - id: broken',
      '    condition: when { a } always { b.where(x = 1) }',
      '',
    ].join('\n');
    const read = parseApiRulesText(text, 'api.yaml');
    assert.equal(read.state, null);
    const [d] = read.diagnostics;
    assert.equal(d.file, 'api.yaml');
    assert.equal(d.line, 6);
    assert.equal(d.column, text.split('\n')[5].indexOf('x = 1') + 3);
    const good = parseApiRulesText(text.replace('x = 1', 'x == 1'), 'api.yaml');
    assert.equal(good.state!.rules[0].origin?.line, 5);
    assert.equal(good.state!.overrides.get('some-file-rule'), false);
  });

  it('reports each bad override at its line', () => {
    const cases: Array<[string, number, RegExp]> = [
      ['overrides: yes', 1, /must be a list/],
      ['overrides:\n  - just-an-id', 2, /must be a mapping/],
      ['overrides:\n  - id: a\n    enabled: "no"', 3, /true or false/],
      ['overrides:\n  - id: a\n    enabled: false\n    file: x', 4, /unknown key "file"/],
      ['overrides:\n  - enabled: false', 2, /has no id/],
      ['overrides:\n  - id: a\n    enabled: true\n  - id: a\n    enabled: false', 4, /second override/],
    ];
    for (const [overrides, line, message] of cases) {
      const read = parseApiRulesText(`rules: []\n${overrides}\n`, 'api.yaml');
      assert.equal(read.state, null, overrides);
      assert.equal(read.diagnostics[0].code, 'ERR_ADMIN_BAD_OVERRIDE');
      assert.equal(read.diagnostics[0].line, line + 1, overrides);
      assert.match(read.diagnostics[0].message, message);
    }
  });

  it('leaves a broken document to the rule-file reader, which reports it', () => {
    const read = parseApiRulesText('rules: [\n', 'api.yaml');
    assert.equal(read.state, null);
    assert.equal(read.diagnostics[0].code, 'ERR_DSL_YAML_SYNTAX');
  });
});

describe('readApiRulesFile and writeApiRulesFile', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'betrace-api-file-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads a file that does not exist yet as empty', async () => {
    const read = await readApiRulesFile(path.join(dir, 'missing.yaml'));
    assert.deepEqual(read.diagnostics, []);
    assert.deepEqual(read.state?.rules, []);
    assert.equal(read.text, '');
  });

  it('reports a file that cannot be read', async () => {
    const read = await readApiRulesFile(dir);
    assert.equal(read.state, null);
    assert.equal(read.diagnostics[0].code, 'ERR_DSL_FILE_UNREADABLE');
  });

  it('replaces the file whole, leaves no temporary file, creates the folder and keeps the mode', async () => {
    const file = path.join(dir, 'nested', 'api.yaml');
    await writeApiRulesFile(file, 'rules: []\n');
    assert.equal(fs.readFileSync(file, 'utf8'), 'rules: []\n');
    fs.chmodSync(file, 0o600);
    await writeApiRulesFile(file, 'rules: []\n# second\n');
    assert.equal(fs.readFileSync(file, 'utf8'), 'rules: []\n# second\n');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(fs.readdirSync(path.dirname(file)), ['api.yaml']);
  });

  it('fails without a trace when the rename cannot replace the target, and leaves the target as it was', async () => {
    const target = path.join(dir, 'occupied', 'api.yaml');
    fs.mkdirSync(target, { recursive: true });
    fs.writeFileSync(path.join(target, 'keep'), 'x');
    await assert.rejects(writeApiRulesFile(target, 'rules: []\n'), (err: NodeJS.ErrnoException) => typeof err.code === 'string');
    assert.deepEqual(fs.readdirSync(path.join(dir, 'occupied')), ['api.yaml']);
    assert.deepEqual(fs.readdirSync(target), ['keep']);
  });
});
