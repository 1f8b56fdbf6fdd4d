import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { createRuleSet, forEachCandidateRule } from '../../dsl/rule-set';
import { compile, span, trace } from './support';

import type { CompiledRule } from '../../dsl/rule';
import type { TraceView } from '../../dsl/trace-model';

function rule(id: string, condition: string, enabled = true): CompiledRule {
  return {
    id, name: id, description: '', severity: 'MEDIUM', enabled, dialect: 'current', condition,
    complianceFrameworks: [], compliance: [], tags: [], program: compile(condition),
  };
}

function visited(rules: readonly CompiledRule[], view: TraceView): string[] {
  const ids: string[] = [];
  forEachCandidateRule(createRuleSet(rules), view, (r) => ids.push(r.id));
  return ids;
}

describe('createRuleSet', () => {
  it('keeps every rule, the enabled ones apart, and merges their projections', () => {
    const set = createRuleSet([
      rule('a', 'when { a.where(x == 1) } always { b }'),
      rule('off', 'when { c.where(y == 1) } always { d }', false),
      rule('r', 'when { e.where(resource:service.name == s) } always { f }'),
    ], 7);
    assert.equal(set.version, 7);
    assert.deepEqual(set.rules.map((r) => r.id), ['a', 'off', 'r']);
    assert.deepEqual(set.enabled.map((r) => r.id), ['a', 'r']);
    assert.deepEqual([...set.projection.spanAttributes], ['x']);
    assert.deepEqual([...set.projection.resourceAttributes], ['service.name']);
    assert.deepEqual([...set.projection.spanNames!].sort(), ['a', 'b', 'e', 'f'], 'disabled rules read nothing');
    assert.equal(set.byId.get('off')?.enabled, false);
    assert.equal(createRuleSet([]).version, 0);
  });
});

describe('forEachCandidateRule', () => {
  const rules = [
    rule('r1', 'when { a } always { z }'),
    rule('any', 'when { not quiet } always { z }'),
    rule('r2', 'when { b or c } always { z }'),
    rule('off', 'when { a } always { z }', false),
    rule('r3', 'when { c and d } always { z }'),
    rule('r4', 'when { count(e) > 1 } always { z }'),
  ];

  it('visits the rules indexed under present names and the unindexed ones, once each, in file order', () => {
    assert.deepEqual(visited(rules, trace(span('c'), span('a'), span('c'), span('d'))), ['r1', 'any', 'r2', 'r3']);
    assert.deepEqual(visited(rules, trace(span('zzz'))), ['any']);
    assert.deepEqual(visited(rules, trace(span('e'))), ['any', 'r4']);
  });

  it('skips only rules that are not_applicable on the trace', () => {
    const views = [trace(), trace(span('a')), trace(span('b'), span('d')), trace(span('c'), span('d')), trace(span('e'), span('e'))];
    for (const view of views) {
      const candidates = new Set(visited(rules, view));
      for (const r of rules.filter((x) => x.enabled && !candidates.has(x.id))) {
        assert.equal(r.program.evaluate(view), 'not_applicable', r.id);
      }
    }
  });

  it('does not visit rules whose names are absent, however many there are', () => {
    const many = Array.from({ length: 5000 }, (_, i) => rule(`m${i}`, `when { svc${i}.op } always { z }`));
    assert.deepEqual(visited(many, trace(span('svc42.op'), span('svc7.op'), span('other'))), ['m7', 'm42']);
  });

  it('visits every enabled rule of a set with no index, and copes with visits that reenter', () => {
    const set = createRuleSet(rules);
    const outer: string[] = [];
    const inner: string[] = [];
    forEachCandidateRule(set, trace(span('a')), (r) => {
      outer.push(r.id);
      forEachCandidateRule(set, trace(span('c'), span('d')), (x) => inner.push(x.id));
    });
    assert.deepEqual(outer, ['r1', 'any']);
    assert.deepEqual(inner, ['any', 'r2', 'r3', 'any', 'r2', 'r3']);
    assert.deepEqual(visited([rule('n', 'when { not a } always { b }')], trace(span('a'))), ['n']);
  });
});
