/**
 * Compiles filters (`.where(...)`) into closures over one span, with the
 * comparison rules of DSL.md 6.5 and the scoped names of section 13. All
 * decisions that depend only on the rule (operator, literal type, numeric
 * value, regex) are taken here, once, so a span test runs a short closure.
 */

import { KIND_NAMES, STATUS_NAMES } from './check';
import { compareCodePoints, isNumericText } from './text-compare';
import { lookupAttr } from './trace-model';

import type { RE2JS } from 're2js';

import type { AttributeNode, ListNode, Operator, PredicateNode, ScalarNode } from './ast';
import type { SpanRecord } from './trace-model';

/** A compiled filter: true when the span satisfies it. */
export type SpanPredicate = (span: SpanRecord) => boolean;

/** A test of a present attribute text. */
type TextTest = (text: string) => boolean;

/** What compiling filters needs and what it records. */
export interface PredicateContext {
  readonly patterns: ReadonlyMap<string, RE2JS>;
  /** Span attribute keys read, for the program's projection. */
  readonly spanAttributes: Set<string>;
  readonly resourceAttributes: Set<string>;
  /** Span names tested or counted; `anySpan` when `*` is used. */
  readonly spanNames: Set<string>;
  anySpan: boolean;
}

const ALWAYS_FALSE: SpanPredicate = () => false;

/** Compiles the filters of one span test; several filters must all hold. */
export function compileFilters(
  filters: readonly PredicateNode[],
  ctx: PredicateContext,
): SpanPredicate | null {
  if (filters.length === 0) return null;
  return allOf(filters.map((f) => compilePredicate(f, ctx)));
}

/** Compiles one filter condition. */
export function compilePredicate(node: PredicateNode, ctx: PredicateContext): SpanPredicate {
  switch (node.kind) {
    case 'and':
      return allOf(node.items.map((n) => compilePredicate(n, ctx)));
    case 'or':
      return anyOf(node.items.map((n) => compilePredicate(n, ctx)));
    case 'not': {
      const inner = compilePredicate(node.operand, ctx);
      return (s) => !inner(s);
    }
    case 'flag': {
      const key = node.attribute.key;
      ctx.spanAttributes.add(key);
      return (s) => lookupAttr(s.attrs, key) === 'true';
    }
    case 'compare':
      return compileComparison(node.attribute, node.op, node.value as ScalarNode | ListNode, ctx);
    case 'span-ref':
      // Rejected by S3 before compiling; kept total for safety.
      return ALWAYS_FALSE;
  }
}

/**
 * Compiles `attribute op value` for a span attribute, a resource attribute or
 * an intrinsic. Also used for direct comparisons (`span.attr op value`).
 */
export function compileComparison(
  attribute: AttributeNode,
  op: Operator,
  value: ScalarNode | ListNode,
  ctx: PredicateContext,
): SpanPredicate {
  const key = attribute.key;
  if (attribute.scope === 'span') {
    switch (key) {
      case 'duration':
        return compileDurationTest(op, value as ScalarNode);
      case 'status':
        return compileCodeTest((s) => s.status, STATUS_NAMES, op, value);
      case 'kind':
        return compileCodeTest((s) => s.kind, KIND_NAMES, op, value);
      default: {
        const test = compileTextTest(op, value, ctx.patterns);
        return (s) => test(s.name);
      }
    }
  }
  const test = compileTextTest(op, value, ctx.patterns);
  if (attribute.scope === 'resource') {
    ctx.resourceAttributes.add(key);
    if (op === '!=') return (s) => missingOr(lookupAttr(s.resource.attrs, key), test);
    return (s) => presentAnd(lookupAttr(s.resource.attrs, key), test);
  }
  ctx.spanAttributes.add(key);
  // MISSING makes every comparison false except != (C9).
  if (op === '!=') return (s) => missingOr(lookupAttr(s.attrs, key), test);
  return (s) => presentAnd(lookupAttr(s.attrs, key), test);
}

function presentAnd(text: string | undefined, test: TextTest): boolean {
  return text !== undefined && test(text);
}

function missingOr(text: string | undefined, test: TextTest): boolean {
  return text === undefined || test(text);
}

/**
 * The test of a present text. For `!=` it is the negated equality, and the
 * caller lets MISSING through.
 */
export function compileTextTest(
  op: Operator,
  value: ScalarNode | ListNode,
  patterns: ReadonlyMap<string, RE2JS>,
): TextTest {
  if (value.kind === 'list') return compileMembership(value.items);
  switch (op) {
    case '==':
      return compileEquality(value);
    case '!=': {
      const eq = compileEquality(value);
      return (a) => !eq(a);
    }
    case 'contains': {
      const needle = value.text;
      return (a) => a.includes(needle);
    }
    case 'matches': {
      const re = patterns.get(value.text);
      if (re === undefined) return () => false;
      return (a) => re.test(a);
    }
    default:
      return compileOrdering(op, value);
  }
}

function compileEquality(value: ScalarNode): TextTest {
  const text = value.text;
  if (Number.isNaN(value.num)) return (a) => a === text;
  const num = value.num;
  // An exact text match implies numeric equality, and skips the regex.
  return (a) => a === text || (isNumericText(a) && Number(a) === num);
}

function compileMembership(items: readonly ScalarNode[]): TextTest {
  const texts = new Set(items.map((i) => i.text));
  const nums = items.filter((i) => !Number.isNaN(i.num)).map((i) => i.num);
  if (nums.length === 0) return (a) => texts.has(a);
  return (a) => texts.has(a) || (isNumericText(a) && nums.includes(Number(a)));
}

function compileOrdering(op: Operator, value: ScalarNode): TextTest {
  if (!Number.isNaN(value.num)) {
    const num = value.num;
    switch (op) {
      case '<':
        return (a) => isNumericText(a) && Number(a) < num;
      case '<=':
        return (a) => isNumericText(a) && Number(a) <= num;
      case '>':
        return (a) => isNumericText(a) && Number(a) > num;
      default:
        return (a) => isNumericText(a) && Number(a) >= num;
    }
  }
  // Two non-numeric texts order by code point; mixed pairs are false (C10).
  const text = value.text;
  switch (op) {
    case '<':
      return (a) => !isNumericText(a) && compareCodePoints(a, text) < 0;
    case '<=':
      return (a) => !isNumericText(a) && compareCodePoints(a, text) <= 0;
    case '>':
      return (a) => !isNumericText(a) && compareCodePoints(a, text) > 0;
    default:
      return (a) => !isNumericText(a) && compareCodePoints(a, text) >= 0;
  }
}

/** Compares a span's duration in nanoseconds; MISSING (negative) as in C9. */
function compileDurationTest(op: Operator, value: ScalarNode): SpanPredicate {
  const ns = value.num;
  switch (op) {
    case '==':
      return (s) => s.durationNs >= 0 && s.durationNs === ns;
    case '!=':
      return (s) => s.durationNs < 0 || s.durationNs !== ns;
    case '<':
      return (s) => s.durationNs >= 0 && s.durationNs < ns;
    case '<=':
      return (s) => s.durationNs >= 0 && s.durationNs <= ns;
    case '>':
      return (s) => s.durationNs >= 0 && s.durationNs > ns;
    default:
      return (s) => s.durationNs >= 0 && s.durationNs >= ns;
  }
}

/** span:status and span:kind: the names map to OTLP codes at load. */
function compileCodeTest(
  read: (s: SpanRecord) => number,
  names: readonly string[],
  op: Operator,
  value: ScalarNode | ListNode,
): SpanPredicate {
  const items = value.kind === 'list' ? value.items : [value];
  const codes = items.map((i) => names.indexOf(i.text));
  if (codes.length === 1) {
    const code = codes[0];
    return op === '!=' ? (s) => read(s) !== code : (s) => read(s) === code;
  }
  return (s) => codes.includes(read(s));
}

/** All of several span predicates; short-circuits. */
export function allOf(items: readonly SpanPredicate[]): SpanPredicate {
  if (items.length === 1) return items[0];
  if (items.length === 2) {
    const [a, b] = items;
    return (s) => a(s) && b(s);
  }
  return (s) => {
    for (let i = 0, n = items.length; i < n; i++) if (!items[i](s)) return false;
    return true;
  };
}

/** Any of several span predicates; short-circuits. */
export function anyOf(items: readonly SpanPredicate[]): SpanPredicate {
  if (items.length === 1) return items[0];
  if (items.length === 2) {
    const [a, b] = items;
    return (s) => a(s) || b(s);
  }
  return (s) => {
    for (let i = 0, n = items.length; i < n; i++) if (items[i](s)) return true;
    return false;
  };
}
