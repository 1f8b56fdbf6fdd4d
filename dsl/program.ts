/**
 * Turns a checked syntax tree into a Program (dsl/rule.ts): closures for the
 * fast `evaluate`, and a slower `explain` that also collects the spans behind
 * the outcome and says what failed (PRODUCT.md 3).
 */

import { splitDirectTest } from './ast';
import { compileComparison, compileFilters } from './predicates';
import { describeFailure } from './failure-text';
import { spansNamed } from './trace-model';

import type { RE2JS } from 're2js';

import type { ConditionNode, CountNode, ListNode, Operator, RuleNode, ScalarNode } from './ast';
import type { PredicateContext, SpanPredicate } from './predicates';
import type { FailedClause, Outcome, Program, Verdict } from './rule';
import type { SpanRecord, TraceView } from './trace-model';

/** A compiled condition on a whole trace. */
export type TraceTest = (view: TraceView) => boolean;

/** A compiled trace-level condition with what explain needs. */
export interface CompiledCondition {
  readonly node: ConditionNode;
  readonly test: TraceTest;
  /** The same truth as test; when true, pushes the spans that made it hold. */
  collect(view: TraceView, out: SpanRecord[]): boolean;
  readonly items: readonly CompiledCondition[];
  /** For count tests: the counts seen, for failure text. */
  readonly counts?: (view: TraceView) => number[];
}

const EMPTY_VIEW: TraceView = { traceId: '', spans: [], byName: new Map() };

/** Builds the program of a rule that passed every check. */
export function createProgram(
  rule: RuleNode,
  text: string,
  patterns: ReadonlyMap<string, RE2JS>,
): Program {
  const ctx: PredicateContext = {
    patterns,
    spanAttributes: new Set(),
    resourceAttributes: new Set(),
    spanNames: new Set(),
    anySpan: false,
  };
  const when = compileCondition(rule.when, ctx);
  const always = compileClause(rule, 'always', ctx);
  const never = compileClause(rule, 'never', ctx);
  const projection = {
    spanAttributes: ctx.spanAttributes,
    resourceAttributes: ctx.resourceAttributes,
    spanNames: ctx.anySpan ? null : ctx.spanNames,
  };
  const indexNames = requiredNames(rule.when, when);
  if (rule.dialect === 'legacy') {
    return {
      indexNames,
      projection,
      evaluate: (view) => (when.test(view) ? 'violation' : 'pass'),
      explain: (view) => explainLegacy(when, text, view),
    };
  }
  return {
    indexNames,
    projection,
    evaluate: createEvaluate(when.test, always?.test ?? null, never?.test ?? null),
    explain: (view) => explainCurrent(when, always, never, text, view),
  };
}

function compileClause(
  rule: RuleNode,
  keyword: 'always' | 'never',
  ctx: PredicateContext,
): CompiledCondition | null {
  const clause = rule.clauses.find((c) => c.keyword === keyword);
  return clause === undefined ? null : compileCondition(clause.body, ctx);
}

// One closure per clause combination, so evaluate tests no absent clause.
function createEvaluate(
  when: TraceTest,
  always: TraceTest | null,
  never: TraceTest | null,
): (view: TraceView) => Outcome {
  if (always !== null && never !== null) {
    return (v) => (!when(v) ? 'not_applicable' : !always(v) || never(v) ? 'violation' : 'pass');
  }
  if (always !== null) {
    return (v) => (!when(v) ? 'not_applicable' : always(v) ? 'pass' : 'violation');
  }
  const forbidden = never ?? (() => false);
  return (v) => (!when(v) ? 'not_applicable' : forbidden(v) ? 'violation' : 'pass');
}

function explainCurrent(
  when: CompiledCondition,
  always: CompiledCondition | null,
  never: CompiledCondition | null,
  text: string,
  view: TraceView,
): Verdict {
  const whenSpans: SpanRecord[] = [];
  if (!when.collect(view, whenSpans)) {
    return { outcome: 'not_applicable', clause: null, whenSpans: [], neverSpans: [], failure: '' };
  }
  const alwaysFailed = always !== null && !always.test(view);
  const neverSpans: SpanRecord[] = [];
  const neverHeld = never !== null && never.collect(view, neverSpans);
  const spans = distinctByStart(whenSpans);
  if (!alwaysFailed && !neverHeld) {
    return { outcome: 'pass', clause: null, whenSpans: spans, neverSpans: [], failure: '' };
  }
  const parts: string[] = [];
  if (alwaysFailed) parts.push(describeFailure(always!, text, view, 'always'));
  if (neverHeld) parts.push(describeFailure(never!, text, view, 'never'));
  const clause: FailedClause = alwaysFailed && neverHeld ? 'both' : alwaysFailed ? 'always' : 'never';
  return {
    outcome: 'violation',
    clause,
    whenSpans: spans,
    neverSpans: neverHeld ? distinctByStart(neverSpans) : [],
    failure: parts.join('; '),
  };
}

function explainLegacy(condition: CompiledCondition, text: string, view: TraceView): Verdict {
  const spans: SpanRecord[] = [];
  if (!condition.collect(view, spans)) {
    return { outcome: 'pass', clause: null, whenSpans: [], neverSpans: [], failure: '' };
  }
  return {
    outcome: 'violation',
    clause: 'condition',
    whenSpans: distinctByStart(spans),
    neverSpans: [],
    failure: describeFailure(condition, text, view, 'condition'),
  };
}

/** Distinct spans, earliest start first (stable for equal starts). */
function distinctByStart(spans: SpanRecord[]): SpanRecord[] {
  const distinct = [...new Set(spans)];
  distinct.sort((a, b) => a.startNs - b.startNs);
  return distinct;
}

// ---- conditions --------------------------------------------------------------

/** Compiles a trace-level condition. */
export function compileCondition(node: ConditionNode, ctx: PredicateContext): CompiledCondition {
  switch (node.kind) {
    case 'span-test': {
      const name = node.name.segments === null ? null : node.name.text;
      noteSpanName(ctx, name);
      return compileSpanTest(node, name, compileFilters(node.filters, ctx));
    }
    case 'direct-test': {
      const { spanName, attribute } = splitDirectTest(node);
      noteSpanName(ctx, spanName);
      const filter = compileComparison(attribute, node.op, node.value as ScalarNode | ListNode, ctx);
      return compileSpanTest(node, spanName, filter);
    }
    case 'count-test':
      noteSpanName(ctx, node.left.target.segments === null ? null : node.left.target.text);
      if (node.right.kind === 'count') {
        noteSpanName(ctx, node.right.target.segments === null ? null : node.right.target.text);
      }
      return compileCountTest(node.left, node.op, node.right as ScalarNode | CountNode, node);
    case 'not': {
      const operand = compileCondition(node.operand, ctx);
      const inner = operand.test;
      return {
        node,
        test: (v) => !inner(v),
        collect: (v) => !inner(v),
        items: [operand],
      };
    }
    case 'and':
      return compileAnd(node, node.items.map((n) => compileCondition(n, ctx)));
    case 'or':
      return compileOr(node, node.items.map((n) => compileCondition(n, ctx)));
  }
}

/** Records a span name the program reads; null is `*`, every span. */
function noteSpanName(ctx: PredicateContext, name: string | null): void {
  if (name === null) ctx.anySpan = true;
  else ctx.spanNames.add(name);
}

function compileSpanTest(
  node: ConditionNode,
  name: string | null,
  filter: SpanPredicate | null,
): CompiledCondition {
  let test: TraceTest;
  if (name === null) {
    test = filter === null
      ? (v) => v.spans.length > 0
      : (v) => {
          const spans = v.spans;
          for (let i = 0, n = spans.length; i < n; i++) if (filter(spans[i])) return true;
          return false;
        };
  } else if (filter === null) {
    test = (v) => {
      const spans = v.byName.get(name);
      return spans !== undefined && spans.length > 0;
    };
  } else {
    test = (v) => {
      const spans = v.byName.get(name);
      if (spans === undefined) return false;
      for (let i = 0, n = spans.length; i < n; i++) if (filter(spans[i])) return true;
      return false;
    };
  }
  return {
    node,
    test,
    collect(v, out) {
      const spans = name === null ? v.spans : spansNamed(v, name);
      let found = false;
      for (let i = 0, n = spans.length; i < n; i++) {
        if (filter === null || filter(spans[i])) {
          out.push(spans[i]);
          found = true;
        }
      }
      return found;
    },
    items: [],
  };
}

function countOf(target: CountNode): (v: TraceView) => number {
  if (target.target.segments === null) return (v) => v.spans.length;
  const name = target.target.text;
  return (v) => spansNamed(v, name).length;
}

function compileCountTest(
  left: CountNode,
  op: Operator,
  right: ScalarNode | CountNode,
  node: ConditionNode,
): CompiledCondition {
  const countLeft = countOf(left);
  const countRight = right.kind === 'count' ? countOf(right) : null;
  const compare = numberComparison(op);
  let test: TraceTest;
  if (countRight !== null) {
    test = (v) => compare(countLeft(v), countRight(v));
  } else if (right.kind === 'scalar' && !Number.isNaN(right.num)) {
    const num = right.num;
    test = (v) => compare(countLeft(v), num);
  } else {
    // A count is numeric text; against non-numeric text only != holds (6.5, 6.7).
    const constant = op === '!=';
    test = () => constant;
  }
  const targets = right.kind === 'count' ? [left.target, right.target] : [left.target];
  return {
    node,
    test,
    collect(v, out) {
      if (!test(v)) return false;
      for (const t of targets) {
        const spans = t.segments === null ? v.spans : spansNamed(v, t.text);
        for (let i = 0, n = spans.length; i < n; i++) out.push(spans[i]);
      }
      return true;
    },
    items: [],
    counts: (v) => (countRight === null ? [countLeft(v)] : [countLeft(v), countRight(v)]),
  };
}

function numberComparison(op: Operator): (a: number, b: number) => boolean {
  switch (op) {
    case '==':
      return (a, b) => a === b;
    case '!=':
      return (a, b) => a !== b;
    case '<':
      return (a, b) => a < b;
    case '<=':
      return (a, b) => a <= b;
    case '>':
      return (a, b) => a > b;
    default:
      return (a, b) => a >= b;
  }
}

function compileAnd(node: ConditionNode, items: CompiledCondition[]): CompiledCondition {
  const tests = items.map((i) => i.test);
  let test: TraceTest;
  if (tests.length === 2) {
    const [a, b] = tests;
    test = (v) => a(v) && b(v);
  } else {
    test = (v) => {
      for (let i = 0, n = tests.length; i < n; i++) if (!tests[i](v)) return false;
      return true;
    };
  }
  return {
    node,
    test,
    collect(v, out) {
      const mark = out.length;
      for (const item of items) {
        if (!item.collect(v, out)) {
          out.length = mark;
          return false;
        }
      }
      return true;
    },
    items,
  };
}

function compileOr(node: ConditionNode, items: CompiledCondition[]): CompiledCondition {
  const tests = items.map((i) => i.test);
  let test: TraceTest;
  if (tests.length === 2) {
    const [a, b] = tests;
    test = (v) => a(v) || b(v);
  } else {
    test = (v) => {
      for (let i = 0, n = tests.length; i < n; i++) if (tests[i](v)) return true;
      return false;
    };
  }
  return {
    node,
    test,
    // Every true branch contributes its spans, so no short-circuit here.
    collect(v, out) {
      let any = false;
      for (const item of items) {
        const mark = out.length;
        if (item.collect(v, out)) any = true;
        else out.length = mark;
      }
      return any;
    },
    items,
  };
}

// ---- the span-name index ---------------------------------------------------------

/**
 * Span names one of which a trace must hold for the condition to be true, or
 * null when it may hold without any (through `not`, `*`, or a count test that
 * holds at zero).
 */
function requiredNames(node: ConditionNode, compiled: CompiledCondition): string[] | null {
  switch (node.kind) {
    case 'span-test':
      return node.name.segments === null ? null : [node.name.text];
    case 'direct-test':
      return [splitDirectTest(node).spanName];
    case 'count-test': {
      if (compiled.test(EMPTY_VIEW)) return null;
      const targets = node.right.kind === 'count'
        ? [node.left.target, node.right.target]
        : [node.left.target];
      if (targets.some((t) => t.segments === null)) return null;
      return [...new Set(targets.map((t) => t.text))];
    }
    case 'not':
      return null;
    case 'and': {
      // Any conjunct's names will do; the fewest names select best.
      let best: string[] | null = null;
      node.items.forEach((item, i) => {
        const names = requiredNames(item, compiled.items[i]);
        if (names !== null && (best === null || names.length < best.length)) best = names;
      });
      return best;
    }
    case 'or': {
      const all = new Set<string>();
      for (let i = 0; i < node.items.length; i++) {
        const names = requiredNames(node.items[i], compiled.items[i]);
        if (names === null) return null;
        for (const n of names) all.add(n);
      }
      return [...all];
    }
  }
}
