import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { compileRule, compileRuleFiles, loadRuleFile, parseRuleDefinition, parseRuleFile } from '../../dsl/rule-file';
import { testPath } from '../helpers/paths';
import { span, trace } from './support';

import type { Diagnostic } from '../../dsl/diagnostics';

function codesOf(diagnostics: readonly Diagnostic[]): string[] {
  return diagnostics.map((d) => d.code);
}

function only(text: string): Diagnostic {
  const { diagnostics } = parseRuleFile(text, 'r.yaml');
  assert.equal(diagnostics.length, 1, JSON.stringify(diagnostics));
  return diagnostics[0];
}

const RULE = 'condition: when { a } always { b }';

describe('parseRuleFile', () => {
  it('loads a file in the original libraries\' shape unchanged', async () => {
    const { rules, diagnostics } = await loadRuleFile(testPath('dsl', 'testdata', 'library-shape.yaml'));
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(rules.map((r) => r.id), ['checkout-requires-inventory-check', 'export-large-report-audited']);
    const [first, second] = rules;
    assert.equal(first.name, 'Checkout: Inventory Is Checked Before Payment');
    assert.equal(first.severity, 'HIGH');
    assert.equal(first.description, 'Every checkout reserves stock before the card is charged.\nFound in a review of oversold orders.\n');
    assert.deepEqual(first.complianceFrameworks, ['Business Logic']);
    assert.equal(first.enabled, true);
    assert.equal(first.dialect, 'current');
    assert.deepEqual(first.exampleViolation?.trace[0].attributes, { 'cart.items': 3, 'cart.skus': ['sku-1', 'sku-2'] });
    assert.equal(second.name, 'export-large-report-audited');
    assert.equal(second.severity, 'LOW');
    assert.equal(first.program.evaluate(trace(span('checkout.submit'))), 'violation');
    assert.deepEqual(first.origin, { file: testPath('dsl', 'testdata', 'library-shape.yaml'), line: 3, column: 3 });
  });

  it('reads every documented field', () => {
    const { rules, diagnostics } = parseRuleFile(`
rules:
  - id: full
    name: Full rule
    description: all fields
    severity: Critical
    enabled: false
    dialect: legacy
    condition: trace.has(a)
    compliance_frameworks: [SOC2, PCI-DSS]
    compliance:
      - { framework: soc2, control: CC6.1 }
      - { framework: PCI-DSS, control: 10.20 }
    tags: [t1, 2]
    example_violation: { description: bad, trace: [{ span: a }] }
    example_pass: { trace: [] }
`, 'r.yaml');
    assert.deepEqual(diagnostics, []);
    const [r] = rules;
    assert.equal(r.severity, 'CRITICAL');
    assert.equal(r.enabled, false);
    assert.equal(r.dialect, 'legacy');
    assert.deepEqual(r.compliance, [{ framework: 'soc2', control: 'CC6.1' }, { framework: 'PCI-DSS', control: '10.20' }]);
    assert.deepEqual(r.tags, ['t1', '2']);
    assert.deepEqual(r.exampleViolation, { description: 'bad', trace: [{ span: 'a' }] });
    assert.deepEqual(r.examplePass, { trace: [] });
  });

  it('defaults severity to MEDIUM, name to the id and enabled to true', () => {
    const [r] = parseRuleFile(`rules:\n  - id: x\n    ${RULE}\n`, 'r.yaml').rules;
    assert.deepEqual([r.severity, r.name, r.enabled, r.description], ['MEDIUM', 'x', true, '']);
  });

  it('takes the dialect from the file, overridden per rule', () => {
    const { rules, diagnostics } = parseRuleFile(`dialect: legacy
rules:
  - id: old
    condition: trace.has(a)
  - id: new
    dialect: current
    ${RULE}
`, 'r.yaml');
    assert.deepEqual(diagnostics, []);
    assert.deepEqual(rules.map((r) => r.dialect), ['legacy', 'current']);
  });

  it('accepts a top-level list of rules, and an empty text where no file is listed', () => {
    assert.equal(parseRuleFile(`- id: x\n  ${RULE}\n`, 'r.yaml').rules.length, 1);
    assert.deepEqual(parseRuleFile('', 'r.yaml'), { rules: [], diagnostics: [] });
    assert.deepEqual(parseRuleFile('rules: []\n', 'r.yaml'), { rules: [], diagnostics: [] });
  });

  it('reports a listed file that holds nothing, and accepts rules: [] written on purpose', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'betrace-empty-'));
    try {
      const cases: Array<[string, string, string, number]> = [
        ['empty.yaml', '', 'the rule file is empty', 1],
        ['comments.yaml', '# every rule moved elsewhere\n\n', 'the rule file is empty', 1],
        ['bare.yaml', '# note\nrules:\n', 'rules: has no value', 2],
      ];
      for (const [name, text, message, line] of cases) {
        fs.writeFileSync(path.join(dir, name), text);
        const { rules, diagnostics } = await compileRuleFiles([path.join(dir, name)]);
        assert.deepEqual(rules, []);
        assert.equal(diagnostics.length, 1, name);
        assert.equal(diagnostics[0].code, 'ERR_DSL_FILE_EMPTY', name);
        assert.equal(diagnostics[0].message, message, name);
        assert.equal(diagnostics[0].line, line, name);
        assert.match(diagnostics[0].hint ?? '', /rules: \[\]/);
      }
      fs.writeFileSync(path.join(dir, 'none.yaml'), 'rules: []\n');
      assert.deepEqual((await compileRuleFiles([path.join(dir, 'none.yaml')])).diagnostics, []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reports an unknown key at its line with a suggestion', () => {
    const d = only(`rules:\n  - id: x\n    ${RULE}\n    severty: high\n`);
    assert.equal(d.code, 'ERR_DSL_UNKNOWN_FIELD');
    assert.match(d.message, /unknown field "severty"/);
    assert.equal(d.hint, 'did you mean "severity"?');
    assert.deepEqual([d.line, d.column], [4, 5]);
  });

  it('reports unknown keys at file level and in examples and compliance entries', () => {
    const { diagnostics } = parseRuleFile(`version: 2
rules:
  - id: x
    ${RULE}
    compliance: [{ framework: a, control: b, owner: c }]
    example_violation: { trace: [{ span: a, atributes: {} }], extra: 1 }
`, 'r.yaml');
    assert.deepEqual(codesOf(diagnostics), Array(4).fill('ERR_DSL_UNKNOWN_FIELD'));
    assert.deepEqual(diagnostics.map((d) => d.line), [1, 5, 6, 6]);
  });

  it('reports a missing id and a missing condition on the rule\'s first line', () => {
    const missing = only('rules:\n  - name: no condition\n    id: x\n');
    assert.equal(missing.code, 'ERR_DSL_MISSING_FIELD');
    assert.equal(missing.message, 'rule "x" has no condition');
    assert.deepEqual([missing.line, missing.column], [2, 5]);
    assert.equal(only(`rules:\n  - ${RULE}\n`).code, 'ERR_DSL_MISSING_FIELD');
  });

  it('reports bad severities with their position', () => {
    const d = only(`rules:\n  - id: x\n    severity: urgent\n    ${RULE}\n`);
    assert.equal(d.code, 'ERR_DSL_BAD_SEVERITY');
    assert.equal(d.message, 'severity is "urgent", not critical, high, medium or low');
    assert.deepEqual([d.line, d.column], [3, 15]);
  });

  it('reports fields of the wrong type', () => {
    const cases: [string, string][] = [
      ['enabled: yes', 'enabled is "yes", not true or false'],
      ['tags: solo', 'tags is "solo", not a list'],
      ['dialect: old', 'dialect is "old", not current or legacy'],
      ['compliance: [SOC2]', 'compliance holds "SOC2", not {framework, control}'],
      ['name: [a]', 'name is a list, not text'],
      [`description: ${'d'.repeat(4097)}`, 'description of 4097 bytes is over the limit of 4096'],
    ];
    for (const [line, message] of cases) {
      const d = only(`rules:\n  - id: x\n    ${RULE}\n    ${line}\n`);
      assert.equal(d.code, 'ERR_DSL_BAD_FIELD', line);
      assert.equal(d.message, message);
    }
    assert.equal(only(`rules:\n  - id: has space\n    ${RULE}\n`).code, 'ERR_DSL_BAD_FIELD');
    assert.equal(only(`rules:\n  - id: [x]\n    ${RULE}\n`).code, 'ERR_DSL_BAD_FIELD');
    assert.equal(only('rules:\n  - id: x\n    condition: [when]\n').code, 'ERR_DSL_BAD_FIELD');
  });

  it('reports bad example shapes', () => {
    const cases: [string, RegExp][] = [
      ['example_violation: [a]', /must be a mapping with a trace list/],
      ['example_violation: { trace: {} }', /trace must be a list of spans/],
      ['example_violation: { trace: [a] }', /trace\[0\] must be a mapping/],
      ['example_violation: { trace: [{ span: a, status: failed }] }', /status is "failed", not one of unset, ok, error/],
      ['example_violation: { trace: [{ span: a, kind: remote }] }', /kind is "remote"/],
      ['example_pass: { trace: [{ span: a, duration: 5 }] }', /duration is 5, not a duration literal/],
      ['example_pass: { trace: [{ span: a, duration: 1m30s }] }', /not a duration literal/],
      ['example_pass: { trace: [{ span: a, duration_ms: -1 }] }', /duration_ms is -1/],
      ['example_pass: { trace: [{ span: a, duration: 1s, duration_ms: 5 }] }', /both duration and duration_ms/],
      ['example_pass: { trace: [{ span: a, attributes: [x] }] }', /attributes must be a mapping/],
      ['example_pass: { trace: [{ span: [a] }] }', /span must be a span name/],
    ];
    for (const [line, message] of cases) {
      const d = only(`rules:\n  - id: x\n    ${RULE}\n    ${line}\n`);
      assert.equal(d.code, 'ERR_DSL_BAD_EXAMPLE', line);
      assert.match(d.message, message);
      assert.equal(d.line, 4);
    }
    assert.equal(only(`rules:\n  - id: x\n    ${RULE}\n    example_violation: { description: x }\n`).code,
      'ERR_DSL_MISSING_FIELD');
    const noName = only(`rules:\n  - id: x\n    ${RULE}\n    example_pass: { trace: [{ attributes: {} }] }\n`);
    assert.equal(noName.code, 'ERR_DSL_MISSING_FIELD');
  });

  it('reports YAML syntax errors at their position', () => {
    // The YAML parser reports an unclosed quote where the text ends.
    const d = only('rules:\n  - id: x\n    condition: "when { a }\n');
    assert.equal(d.code, 'ERR_DSL_YAML_SYNTAX');
    assert.match(d.message, /missing closing "quote/);
    assert.equal(d.line, 4);
    const nested = only('rules:\n  - id: x\n    name: a: b\n    tags: []\n');
    assert.equal(nested.code, 'ERR_DSL_YAML_SYNTAX');
    assert.equal(nested.message, 'nested mappings are not allowed in compact mappings');
    assert.deepEqual([nested.line, nested.column], [3, 11]);
    const tab = only('rules:\n  - id: x\n\tname: y\n');
    assert.equal(tab.code, 'ERR_DSL_YAML_SYNTAX');
    assert.deepEqual([tab.line, tab.column], [3, 1]);
    const dup = only(`rules:\n  - id: x\n    id: y\n    ${RULE}\n`);
    assert.equal(dup.code, 'ERR_DSL_YAML_SYNTAX');
    assert.match(dup.message, /unique/);
    assert.equal(dup.line, 3);
  });

  it('reports YAML warnings without failing the rule', () => {
    const { rules, diagnostics } = parseRuleFile(`rules:\n  - id: x\n    condition: !custom when { a } always { b }\n`, 'r.yaml');
    assert.deepEqual(diagnostics.map((d) => [d.code, d.severity, d.line, d.column]), [['ERR_DSL_YAML_WARNING', 'warning', 3, 16]]);
    assert.match(diagnostics[0].message, /unresolved tag/);
    assert.equal(rules.length, 1);
    assert.equal(only('rules:\n  - id: x\n    condition: !!binary abc\n').message, 'condition is binary data, not rule text');
  });

  it('reports a file that is not a mapping with a rules list', () => {
    assert.equal(only('just text\n').code, 'ERR_DSL_FILE_SHAPE');
    assert.equal(only('rules: 5\n').code, 'ERR_DSL_FILE_SHAPE');
    assert.equal(only('dialect: legacy\n').code, 'ERR_DSL_FILE_SHAPE');
  });

  it('reports duplicate ids at the second one, naming the first', () => {
    const d = only(`rules:\n  - id: x\n    ${RULE}\n  - id: x\n    ${RULE}\n`);
    assert.equal(d.code, 'ERR_DSL_DUPLICATE_ID');
    assert.equal(d.message, 'duplicate id "x"');
    assert.equal(d.hint, 'the first rule with this id is at r.yaml:2:5');
    assert.equal(d.line, 4);
  });

  it('reports every diagnostic of every rule in one run, in file order', () => {
    const { rules, diagnostics } = parseRuleFile(`rules:
  - id: a
    condition: when { a }
  - id: ok
    ${RULE}
  - id: b
    severity: huge
    condition: when { a } always { b.where(x in y) }
  - id: c
    condition: when { a.where(x matches "(") } always { b } always { c }
`, 'r.yaml');
    assert.deepEqual(rules.map((r) => r.id), ['ok']);
    assert.deepEqual(codesOf(diagnostics),
      ['ERR_DSL_NO_CLAUSE', 'ERR_DSL_BAD_SEVERITY', 'ERR_DSL_LIST_MISUSE', 'ERR_DSL_BAD_REGEX', 'ERR_DSL_DUPLICATE_CLAUSE']);
    assert.deepEqual(diagnostics.map((d) => d.line), [3, 7, 8, 10, 10]);
  });

  it('also compiles the condition of a rule whose other fields are bad, and leaves the rule out', () => {
    const bad = parseRuleFile('rules:\n  - id: x\n    severity: huge\n    condition: when { a }\n', 'r.yaml');
    assert.deepEqual(codesOf(bad.diagnostics), ['ERR_DSL_BAD_SEVERITY', 'ERR_DSL_NO_CLAUSE']);
    const fine = parseRuleFile(`rules:\n  - id: x\n    severity: huge\n    ${RULE}\n`, 'r.yaml');
    assert.deepEqual(codesOf(fine.diagnostics), ['ERR_DSL_BAD_SEVERITY']);
    assert.deepEqual(fine.rules, []);
  });

  it('keeps integers beyond 2^53 exact in example attributes', () => {
    const [r] = parseRuleFile(`rules:
  - id: x
    condition: when { a.where(n == "9007199254740993" and n matches "3$") } always { b }
    example_violation: { trace: [{ span: a, attributes: { n: 9007199254740993 } }] }
`, 'r.yaml').rules;
    assert.equal(r.exampleViolation?.trace[0].attributes?.n, '9007199254740993');
    assert.equal(r.program.evaluate(trace(...r.exampleViolation!.trace)), 'violation');
  });
});

describe('condition positions inside YAML', () => {
  // The rule text has an error at "oops" (an identifier after a complete test).
  function errorAt(yaml: string): [number, number] {
    const { diagnostics } = parseRuleFile(yaml, 'r.yaml');
    const d = diagnostics.find((x) => x.code === 'ERR_DSL_UNEXPECTED_TOKEN');
    assert.ok(d !== undefined, JSON.stringify(diagnostics));
    assert.match(d.message, /"oops"/);
    return [d.line, d.column];
  }

  it('is exact in a plain scalar on the condition line', () => {
    assert.deepEqual(errorAt('rules:\n  - id: x\n    condition: when { a oops } always { b }\n'), [3, 25]);
  });

  it('is exact in a literal block scalar, which starts on the next line', () => {
    assert.deepEqual(errorAt('rules:\n  - id: x\n    condition: |\n      when { a }\n      always { b oops }\n'), [5, 18]);
    assert.deepEqual(errorAt('rules:\n  - id: x\n    condition: |-  # note\n        when {\n          a oops } always { b }\n'), [5, 13]);
  });

  it('is exact in a folded block scalar', () => {
    assert.deepEqual(errorAt('rules:\n  - id: x\n    condition: >\n      when { a }\n\n      always { b oops }\n'), [6, 18]);
  });

  it('is exact in multi-line plain and quoted scalars, after folding', () => {
    assert.deepEqual(errorAt('rules:\n  - id: x\n    condition: when { a }\n      always { b oops }\n'), [4, 18]);
    assert.deepEqual(errorAt('rules:\n  - id: x\n    condition: "when { a }\n      always { b oops }"\n'), [4, 18]);
  });

  it('is exact after escapes in double-quoted and single-quoted scalars', () => {
    assert.deepEqual(errorAt('rules:\n  - id: x\n    condition: "when {\\t a.where(x == \\"\\u00e9\\") oops } always { b }"\n'), [3, 51]);
    assert.deepEqual(errorAt("rules:\n  - id: x\n    condition: 'when { a.where(x == \"it''s\") oops } always { b }'\n"), [3, 46]);
  });

  it('counts columns in code points', () => {
    assert.deepEqual(errorAt('rules:\n  - id: x\n    condition: when { a.where(x == "😀😀") oops } always { b }\n'), [3, 42]);
  });

  it('points an error at the end of a block scalar just after its last character', () => {
    const { diagnostics } = parseRuleFile('rules:\n  - id: x\n    condition: |\n      when { a } always { b\n  - id: y\n    condition: x\n', 'r.yaml');
    const d = diagnostics.find((x) => x.message.includes('end of rule'))!;
    assert.equal(d.code, 'ERR_DSL_UNEXPECTED_TOKEN');
    assert.deepEqual([d.line, d.column], [4, 28]);
    assert.equal(d.offset, 'rules:\n  - id: x\n    condition: |\n      when { a } always { b'.length);
  });
});

describe('parseRuleDefinition and compileRule', () => {
  it('reads a JSON rule with the rule-file field names', () => {
    const { definition, diagnostics } = parseRuleDefinition({
      id: 'api-rule', severity: 'high', condition: 'when { a } always { b }', tags: ['x'],
      compliance: [{ framework: 'SOC2', control: 'CC8.1' }],
      example_violation: { trace: [{ span: 'a', attributes: { n: 1 }, status: 'error', duration_ms: 5 }] },
    });
    assert.deepEqual(diagnostics, []);
    assert.ok(definition !== null);
    assert.equal(definition.severity, 'HIGH');
    assert.equal(definition.name, 'api-rule');
    assert.deepEqual(definition.exampleViolation?.trace[0], { span: 'a', attributes: { n: 1 }, status: 'error', duration_ms: 5 });
  });

  it('reports JSON field problems naming the field, at the origin', () => {
    const { definition, diagnostics } = parseRuleDefinition(
      { id: 'x', severity: 'urgent', colour: 'red' }, { file: 'api', line: 7, column: 3 });
    assert.equal(definition, null);
    assert.deepEqual(codesOf(diagnostics).sort(), ['ERR_DSL_BAD_SEVERITY', 'ERR_DSL_MISSING_FIELD', 'ERR_DSL_UNKNOWN_FIELD']);
    for (const d of diagnostics) assert.deepEqual([d.file, d.line, d.column], ['api', 7, 3]);
    assert.equal(parseRuleDefinition('not an object').diagnostics[0].code, 'ERR_DSL_FILE_SHAPE');
  });

  it('compiles a definition with diagnostics inside the condition text', () => {
    const { definition } = parseRuleDefinition({ id: 'x', condition: 'when { a }\n  always { b oops }' });
    const { rule, diagnostics } = compileRule(definition!);
    assert.equal(rule, null);
    assert.equal(diagnostics[0].code, 'ERR_DSL_UNEXPECTED_TOKEN');
    assert.deepEqual([diagnostics[0].file, diagnostics[0].line, diagnostics[0].column], ['<condition>', 2, 14]);
    const ok = compileRule({ ...definition!, condition: 'when { a } always { b }' });
    assert.equal(ok.rule?.id, 'x');
    assert.equal(ok.rule?.program.evaluate(trace(span('a'))), 'violation');
  });
});

describe('compileRuleFiles', () => {
  let dir: string;

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'betrace-rules-'));
    fs.mkdirSync(path.join(dir, 'rules', 'more'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'rules', 'a.yaml'), `rules:\n  - id: a\n    ${RULE}\n`);
    fs.writeFileSync(path.join(dir, 'rules', 'b.yaml'), `rules:\n  - id: b\n    ${RULE}\n  - id: a\n    ${RULE}\n`);
    fs.writeFileSync(path.join(dir, 'rules', 'notes.txt'), 'not rules');
    fs.writeFileSync(path.join(dir, 'rules', 'more', 'c.yml'), `rules:\n  - id: c\n    ${RULE}\n`);
  });

  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('expands patterns in order, keeps ids unique across files and maps sources', async () => {
    const result = await compileRuleFiles(['rules/*.yaml'], { cwd: dir });
    assert.deepEqual(result.rules.map((r) => r.id), ['a', 'b']);
    assert.deepEqual(codesOf(result.diagnostics), ['ERR_DSL_DUPLICATE_ID']);
    const d = result.diagnostics[0];
    assert.deepEqual([d.file, d.line, d.column], ['rules/b.yaml', 4, 9]);
    assert.equal(d.hint, 'the first rule with this id is at rules/a.yaml:2:5');
    assert.deepEqual([...result.sources.keys()], ['rules/a.yaml', 'rules/b.yaml']);
    assert.equal(result.sources.get('rules/a.yaml'), fs.readFileSync(path.join(dir, 'rules', 'a.yaml'), 'utf8'));
  });

  it('expands ** and folders, reads each file once and leaves out excluded files', async () => {
    const deep = await compileRuleFiles(['rules/**/*.y*ml', 'rules/a.yaml'], { cwd: dir, exclude: ['rules/b.yaml'] });
    assert.deepEqual([...deep.sources.keys()], ['rules/a.yaml', 'rules/more/c.yml']);
    const folder = await compileRuleFiles(['rules'], { cwd: dir });
    assert.deepEqual([...folder.sources.keys()], ['rules/a.yaml', 'rules/b.yaml']);
  });

  it('reports a pattern without matches and an unreadable file as diagnostics', async () => {
    const result = await compileRuleFiles(['nothing/*.yaml', 'missing.yaml'], { cwd: dir });
    assert.deepEqual(codesOf(result.diagnostics), ['ERR_DSL_NO_MATCH', 'ERR_DSL_FILE_UNREADABLE']);
    assert.equal(result.diagnostics[1].message, 'cannot read rule file: no such file');
    const single = await loadRuleFile(path.join(dir, 'missing.yaml'));
    assert.deepEqual(codesOf(single.diagnostics), ['ERR_DSL_FILE_UNREADABLE']);
  });

  it('loads the bundled rules without diagnostics', async () => {
    const result = await compileRuleFiles([testPath('..', 'rules', '*.yaml')]);
    assert.deepEqual(result.diagnostics, []);
    assert.ok(result.rules.length >= 6);
    assert.ok(result.rules.some((r) => r.dialect === 'legacy'));
  });
});
