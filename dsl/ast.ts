/**
 * The syntax tree of a rule (DSL.md 4, 9 and 13). Every node carries the
 * offsets of its text so that checks and explanations can point at it.
 * The parser builds what the grammar allows; static checks (check.ts) then
 * reject what the Spec does not admit.
 */

import type { Dialect } from './rule';

/** Where a node stands in the rule text. */
export interface TextRange {
  /** Offset of the first character (UTF-16 index into the rule text). */
  readonly start: number;
  /** Offset just after the last character. */
  readonly end: number;
}

/** A span name as written: dotted segments, or `*` for any span. */
export interface SpanNameNode extends TextRange {
  readonly kind: 'span-name';
  /** null for `*`. */
  readonly segments: readonly string[] | null;
  /** Segments joined with single dots, or `*`. */
  readonly text: string;
}

/** How a scalar was written: `"a"`, `42`, `true`, `USD`, `250ms`. */
export type ScalarType = 'string' | 'number' | 'bool' | 'word' | 'duration';

/** A single value: the text form of DSL.md 6.4 and, when numeric, its number. */
export interface ScalarNode extends TextRange {
  readonly kind: 'scalar';
  readonly type: ScalarType;
  readonly text: string;
  /** The number (nanoseconds for durations); NaN when not numeric. */
  readonly num: number;
}

/** `[a, "b", 3]`, valid after `in` only (S5). */
export interface ListNode extends TextRange {
  readonly kind: 'list';
  readonly items: readonly ScalarNode[];
}

/** `count(name)` or `count(*)`. */
export interface CountNode extends TextRange {
  readonly kind: 'count';
  readonly target: SpanNameNode;
}

/** The right side of a comparison as parsed; checks reject the misplaced kinds. */
export type ValueNode = ScalarNode | ListNode | CountNode;

/** The comparison operators of DSL.md 4. */
export type Operator =
  | '=='
  | '!='
  | '<'
  | '<='
  | '>'
  | '>='
  | 'in'
  | 'matches'
  | 'contains';

/** The ordering and equality operators, the only ones count tests allow. */
export const COUNT_OPERATORS: ReadonlySet<string> = new Set(['==', '!=', '<', '<=', '>', '>=']);

/**
 * What a filter reads of the tested span: an attribute (`amount`,
 * `"http.status"`, `data.contains_pii`), an intrinsic (`span:duration`) or a
 * resource attribute (`resource:service.name`).
 */
export interface AttributeNode extends TextRange {
  readonly kind: 'attribute';
  /** null for span attributes; the word before the colon otherwise. */
  readonly scope: string | null;
  readonly key: string;
}

/** `attribute op value` inside a filter. */
export interface CompareNode extends TextRange {
  readonly kind: 'compare';
  readonly attribute: AttributeNode;
  readonly op: Operator;
  readonly opSpan: TextRange;
  readonly value: ValueNode;
}

/** A bare name inside a filter: the attribute's text is exactly `true`. */
export interface FlagNode extends TextRange {
  readonly kind: 'flag';
  readonly attribute: AttributeNode;
}

/** A dotted name with no operator inside a filter: parsed, rejected by S3. */
export interface SpanRefNode extends TextRange {
  readonly kind: 'span-ref';
  readonly text: string;
}

/** `p and q and ...` inside a filter. */
export interface PredicateAnd extends TextRange {
  readonly kind: 'and';
  readonly items: readonly PredicateNode[];
}

/** `p or q or ...` inside a filter. */
export interface PredicateOr extends TextRange {
  readonly kind: 'or';
  readonly items: readonly PredicateNode[];
}

/** `not p` inside a filter. */
export interface PredicateNot extends TextRange {
  readonly kind: 'not';
  readonly operand: PredicateNode;
}

/** The condition inside `.where( ... )`, on one span at a time. */
export type PredicateNode =
  | CompareNode
  | FlagNode
  | SpanRefNode
  | PredicateAnd
  | PredicateOr
  | PredicateNot;

/** `name`, `name.where(p)...`, `*.where(p)` (legacy: `trace.has(name)...`). */
export interface SpanTestNode extends TextRange {
  readonly kind: 'span-test';
  readonly name: SpanNameNode;
  readonly filters: readonly PredicateNode[];
}

/** `span.attr op value`: the last segment is the attribute (C6). */
export interface DirectTestNode extends TextRange {
  readonly kind: 'direct-test';
  /** The whole dotted name as written. */
  readonly name: SpanNameNode;
  readonly op: Operator;
  readonly opSpan: TextRange;
  readonly value: ValueNode;
}

/**
 * Splits a direct comparison (C6): the span name before the last segment and
 * that segment as the attribute. The name has two segments or more (S7).
 */
export function splitDirectTest(
  node: DirectTestNode,
): { spanName: string; attribute: AttributeNode } {
  const segments = node.name.segments ?? [];
  const key = segments[segments.length - 1] ?? '';
  const end = node.name.end;
  return {
    spanName: segments.slice(0, -1).join('.'),
    attribute: { kind: 'attribute', scope: null, key, start: end - key.length, end },
  };
}

/** `count(a) op value` or `count(a) op count(b)`. */
export interface CountTestNode extends TextRange {
  readonly kind: 'count-test';
  readonly left: CountNode;
  readonly op: Operator;
  readonly opSpan: TextRange;
  readonly right: ValueNode;
}

/** `c and d and ...` on the trace. */
export interface ConditionAnd extends TextRange {
  readonly kind: 'and';
  readonly items: readonly ConditionNode[];
}

/** `c or d or ...` on the trace. */
export interface ConditionOr extends TextRange {
  readonly kind: 'or';
  readonly items: readonly ConditionNode[];
}

/** `not c` on the trace. */
export interface ConditionNot extends TextRange {
  readonly kind: 'not';
  readonly operand: ConditionNode;
}

/** A condition on the whole trace. */
export type ConditionNode =
  | SpanTestNode
  | DirectTestNode
  | CountTestNode
  | ConditionAnd
  | ConditionOr
  | ConditionNot;

/** `always { ... }` or `never { ... }`. */
export interface ClauseNode extends TextRange {
  readonly keyword: 'always' | 'never';
  /** The keyword's own position, for S2. */
  readonly keywordSpan: TextRange;
  readonly body: ConditionNode;
}

/** A whole rule of either dialect. */
export interface RuleNode extends TextRange {
  readonly dialect: Dialect;
  /** current: the `when` body; legacy: the whole condition. */
  readonly when: ConditionNode;
  /** current only: every clause in the order written (S2 reads repeats). */
  readonly clauses: readonly ClauseNode[];
}
