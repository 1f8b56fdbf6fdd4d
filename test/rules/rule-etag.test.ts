/** Rule ETags and the If-Match / If-None-Match checks. */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { parseRuleDefinition } from '../../dsl/rule-file';
import { computeRuleEtag, isIfMatchSatisfied, isIfNoneMatchHit } from '../../processor/rules/rule-etag';

import type { RuleDefinition } from '../../dsl/rule';

function definition(fields: Record<string, unknown>): RuleDefinition {
  return parseRuleDefinition({ id: 'r', condition: 'when { a } always { b }', ...fields }).definition!;
}

describe('computeRuleEtag', () => {
  it('is a quoted strong tag', () => {
    assert.match(computeRuleEtag(definition({}), true), /^"[A-Za-z0-9_-]{24}"$/);
  });

  it('changes with every field and with the enabled state', () => {
    const base = computeRuleEtag(definition({}), true);
    const variants = [
      definition({ name: 'other' }), definition({ description: 'd' }), definition({ severity: 'high' }),
      definition({ condition: 'when { a } always { c }' }), definition({ dialect: 'legacy' }),
      definition({ tags: ['t'] }), definition({ compliance_frameworks: ['SOC2'] }),
      definition({ compliance: [{ framework: 'soc2', control: 'CC1' }] }),
      definition({ example_pass: { trace: [{ span: 'a' }] } }),
      definition({ example_violation: { trace: [{ span: 'a', attributes: { x: 1 } }] } }),
    ];
    const tags = new Set([base, computeRuleEtag(definition({}), false), ...variants.map((d) => computeRuleEtag(d, true))]);
    assert.equal(tags.size, variants.length + 2);
  });

  it('ignores where the rule sits and reads an integer the same as number or bigint', () => {
    const a = definition({ example_pass: { trace: [{ span: 'a', attributes: { n: 5000 } }] } });
    const b: RuleDefinition = {
      ...a,
      origin: { file: 'other.yaml', line: 40, column: 3 },
      examplePass: { trace: [{ span: 'a', attributes: { n: 5000n } }] },
    };
    assert.equal(computeRuleEtag(a, true), computeRuleEtag(b, true));
  });
});

describe('isIfMatchSatisfied', () => {
  const tag = '"abc"';
  it('lets a change through without the header, with *, or with a list naming the tag', () => {
    assert.equal(isIfMatchSatisfied(undefined, tag), true);
    assert.equal(isIfMatchSatisfied('*', tag), true);
    assert.equal(isIfMatchSatisfied('"abc"', tag), true);
    assert.equal(isIfMatchSatisfied('"x", "abc"', tag), true);
    assert.equal(isIfMatchSatisfied('"x","abc"', tag), true);
  });

  it('stops a change for another tag, a weak tag, an unquoted tag or garbage', () => {
    for (const header of ['"abd"', 'W/"abc"', 'abc', '', '"x" "abc"']) {
      assert.equal(isIfMatchSatisfied(header, tag), false, header);
    }
  });
});

describe('isIfNoneMatchHit', () => {
  it('compares weakly', () => {
    assert.equal(isIfNoneMatchHit('W/"abc"', '"abc"'), true);
    assert.equal(isIfNoneMatchHit('"abc"', '"abc"'), true);
    assert.equal(isIfNoneMatchHit('"abd"', '"abc"'), false);
    assert.equal(isIfNoneMatchHit(undefined, '"abc"'), false);
  });
});
