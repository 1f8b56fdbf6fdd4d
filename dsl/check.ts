/**
 * Static checks of DSL.md 6.9 (S1-S7; S8 lives in the lexer and parser) and
 * the rules of the section 13 extensions. Every problem of a rule is
 * reported, not just the first. Patterns of `matches` are compiled here with
 * RE2 and handed to the compiler, so each is compiled once per load.
 */

import { RE2JS } from 're2js';

import { splitDirectTest } from './ast';
import { clip } from './lexer';

import type {
  AttributeNode,
  ConditionNode,
  Operator,
  PredicateNode,
  RuleNode,
  ScalarNode,
  TextRange,
  ValueNode,
} from './ast';
import type { RawDiagnostic } from './diagnostics';
import type { DslErrorCode } from './errors';

/** What span: may read (DSL.md 13). */
export const INTRINSICS = ['duration', 'status', 'kind', 'name'] as const;
/** One of the span: names. */
export type Intrinsic = (typeof INTRINSICS)[number];

/** span:status values in OTLP code order. */
export const STATUS_NAMES = ['unset', 'ok', 'error'] as const;
/** span:kind values in OTLP code order. */
export const KIND_NAMES = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'] as const;

const ORDERING: ReadonlySet<string> = new Set(['<', '<=', '>', '>=']);
const EQUALITY: ReadonlySet<string> = new Set(['==', '!=', 'in']);

/** Diagnostics of a rule and the RE2 programs of its patterns by text. */
export interface CheckResult {
  readonly diagnostics: RawDiagnostic[];
  readonly patterns: Map<string, RE2JS>;
}

/** Runs every static check over a parsed rule. */
export function checkRule(rule: RuleNode): CheckResult {
  const checker = new Checker();
  checker.checkRule(rule);
  return { diagnostics: checker.diagnostics, patterns: checker.patterns };
}

class Checker {
  readonly diagnostics: RawDiagnostic[] = [];
  readonly patterns = new Map<string, RE2JS>();

  checkRule(rule: RuleNode): void {
    if (rule.dialect === 'current') {
      if (rule.clauses.length === 0) {
        this.error('ERR_DSL_NO_CLAUSE', 'the rule has neither an always nor a never clause',
          { start: rule.start, end: rule.start + 4 },
          'add always { ... } (what must be there) or never { ... } (what must not)');
      }
      const seen = new Set<string>();
      for (const clause of rule.clauses) {
        if (seen.has(clause.keyword)) {
          this.error('ERR_DSL_DUPLICATE_CLAUSE', `"${clause.keyword}" appears twice`, clause.keywordSpan,
            `join the two with and: ${clause.keyword} { a and b }`);
        }
        seen.add(clause.keyword);
      }
    }
    this.checkCondition(rule.when);
    for (const clause of rule.clauses) this.checkCondition(clause.body);
  }

  // Iterative over and/or items; recursion only follows nesting, which the
  // parser capped.
  private checkCondition(node: ConditionNode): void {
    switch (node.kind) {
      case 'and':
      case 'or':
        for (const item of node.items) this.checkCondition(item);
        return;
      case 'not':
        this.checkCondition(node.operand);
        return;
      case 'span-test':
        for (const filter of node.filters) this.checkPredicate(filter);
        return;
      case 'direct-test': {
        const segments = node.name.segments ?? [];
        if (segments.length < 2) {
          this.error('ERR_DSL_DIRECT_NEEDS_SPAN',
            `"${node.name.text}" is a single name; a direct comparison needs span.attribute`, node.name,
            `write span_name.${node.name.text} ${node.op} ..., or span_name.where(${node.name.text} ${node.op} ...)`);
          return;
        }
        this.checkComparison(splitDirectTest(node).attribute, node.op, node.opSpan, node.value);
        return;
      }
      case 'count-test':
        this.checkCountTest(node.op, node.right);
        return;
    }
  }

  private checkCountTest(op: Operator, right: ValueNode): void {
    if (right.kind === 'count') return;
    if (right.kind === 'list') {
      this.error('ERR_DSL_LIST_MISUSE', 'a count is compared with a number or a count, not a list', right);
      return;
    }
    if (right.type === 'duration') {
      this.error('ERR_DSL_BAD_VALUE', `duration "${right.text}" compares with span:duration only`, right);
      return;
    }
    this.warnBareWord(op, right);
  }

  private checkPredicate(node: PredicateNode): void {
    switch (node.kind) {
      case 'and':
      case 'or':
        for (const item of node.items) this.checkPredicate(item);
        return;
      case 'not':
        this.checkPredicate(node.operand);
        return;
      case 'span-ref':
        this.error('ERR_DSL_SPAN_REFERENCE',
          `"${clip(node.text)}" is a span reference; a filter reads attributes of one span`, node,
          `compare it (${clip(node.text)} == value), quote a dotted attribute key, or test the span outside .where(...)`);
        return;
      case 'flag':
        return;
      case 'compare':
        this.checkComparison(node.attribute, node.op, node.opSpan, node.value);
        return;
    }
  }

  private checkComparison(attribute: AttributeNode, op: Operator, opSpan: TextRange, value: ValueNode): void {
    if (value.kind === 'count') {
      this.error('ERR_DSL_COUNT_AS_VALUE', 'count(...) cannot be compared with an attribute', value,
        'compare counts at the top level: count(a) > count(b), count(a) > 3');
      return;
    }
    if (op === 'in' && value.kind !== 'list') {
      this.error('ERR_DSL_LIST_MISUSE', '"in" needs a list', value, `write in [${value.text}]`);
      return;
    }
    if (op !== 'in' && value.kind === 'list') {
      this.error('ERR_DSL_LIST_MISUSE', `a list can follow "in" only, not "${op}"`, value);
      return;
    }
    const items = value.kind === 'list' ? value.items : [value];
    if (attribute.scope === null || attribute.scope === 'resource') {
      this.checkTextComparison(attribute, op, items);
      return;
    }
    if (attribute.scope !== 'span') {
      this.error('ERR_DSL_UNKNOWN_SCOPE', `unknown scope "${attribute.scope}:"`, attribute,
        'scoped names are span:NAME and resource:KEY');
      return;
    }
    const intrinsic = attribute.key as Intrinsic;
    if (!INTRINSICS.includes(intrinsic)) {
      this.error('ERR_DSL_UNKNOWN_INTRINSIC', `unknown span field "${clip(attribute.key)}"`, attribute,
        `span: names are ${INTRINSICS.join(', ')}; read attributes without a scope`);
      return;
    }
    if (intrinsic === 'name') {
      this.checkTextComparison(attribute, op, items);
    } else if (intrinsic === 'duration') {
      this.checkDuration(op, opSpan, items);
    } else {
      this.checkEnumeration(intrinsic, op, opSpan, items);
    }
  }

  private checkTextComparison(attribute: AttributeNode, op: Operator, items: readonly ScalarNode[]): void {
    for (const item of items) {
      if (item.type === 'duration') {
        const where = attribute.scope === null
          ? `attribute "${clip(attribute.key)}"`
          : `"${attribute.scope}:${clip(attribute.key)}"`;
        this.error('ERR_DSL_BAD_VALUE', `duration "${item.text}" cannot be compared with ${where}`, item,
          'durations compare with span:duration; write a plain number to compare an attribute');
        return;
      }
    }
    if (op === 'matches') this.compilePattern(items[0]);
    this.warnBareWord(op, items[0]);
  }

  private checkDuration(op: Operator, opSpan: TextRange, items: readonly ScalarNode[]): void {
    if (!ORDERING.has(op) && op !== '==' && op !== '!=') {
      this.error('ERR_DSL_OPERATOR_NOT_ALLOWED', `span:duration does not take "${op}"`, opSpan,
        'span:duration takes ==, !=, <, <=, > and >=');
      return;
    }
    const item = items[0];
    if (item.type !== 'duration' && item.type !== 'number') {
      this.error('ERR_DSL_BAD_VALUE', `span:duration cannot be compared with ${describeScalar(item)}`, item,
        'write a duration such as 250ms or 2s, or a number of nanoseconds');
    }
  }

  private checkEnumeration(
    intrinsic: 'status' | 'kind',
    op: Operator,
    opSpan: TextRange,
    items: readonly ScalarNode[],
  ): void {
    const names: readonly string[] = intrinsic === 'status' ? STATUS_NAMES : KIND_NAMES;
    if (!EQUALITY.has(op)) {
      this.error('ERR_DSL_OPERATOR_NOT_ALLOWED', `span:${intrinsic} does not take "${op}"`, opSpan,
        `span:${intrinsic} takes ==, != and in`);
      return;
    }
    for (const item of items) {
      const ok = (item.type === 'word' || item.type === 'string') && names.includes(item.text);
      if (!ok) {
        const lower = item.text.toLowerCase();
        const close = names.find(
          (n) => n === lower || lower === `status_code_${n}` || lower === `span_kind_${n}`);
        this.error('ERR_DSL_BAD_VALUE', `span:${intrinsic} is never ${describeScalar(item)}`, item,
          close !== undefined ? `did you mean ${close}?` : `span:${intrinsic} is one of ${names.join(', ')}`);
      }
    }
  }

  private compilePattern(item: ScalarNode): void {
    if (this.patterns.has(item.text)) return;
    try {
      this.patterns.set(item.text, RE2JS.compile(item.text));
    } catch (err) {
      const detail = err instanceof Error ? err.message.replace(/^error parsing regexp: /, '') : String(err);
      this.error('ERR_DSL_BAD_REGEX', `invalid pattern: ${clip(detail, 80)}`, item, patternHint(item.text));
    }
  }

  private warnBareWord(op: Operator, item: ScalarNode): void {
    if (!ORDERING.has(op) || item.type !== 'word') return;
    this.diagnostics.push({
      code: 'ERR_DSL_BARE_WORD_ORDERING',
      severity: 'warning',
      message: `"${item.text}" after "${op}" is the text "${item.text}", not an attribute`,
      start: item.start,
      end: item.end,
      hint: 'rules cannot compare two attributes; quote the word to compare with that text and silence this warning',
    });
  }

  private error(code: DslErrorCode, message: string, at: TextRange, hint?: string): void {
    this.diagnostics.push({ code, severity: 'error', message, start: at.start, end: at.end, hint });
  }
}

function describeScalar(item: ScalarNode): string {
  switch (item.type) {
    case 'string':
      return `the string "${clip(item.text)}"`;
    case 'duration':
      return `the duration ${item.text}`;
    case 'number':
      return `the number ${item.text}`;
    default:
      return `"${clip(item.text)}"`;
  }
}

function patternHint(pattern: string): string {
  if (/\(\?<[=!]/.test(pattern) || /\(\?[=!]/.test(pattern)) return 'RE2 has no look-around';
  if (/\\[1-9]/.test(pattern)) return 'RE2 has no back-references';
  if (/\(\?<[A-Za-z]/.test(pattern)) return 'RE2 names groups as (?P<name>...)';
  return 'patterns use RE2 syntax; a string has no escapes, so write each backslash once';
}
