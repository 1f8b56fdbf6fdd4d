/**
 * Recursive-descent parser for the grammar of DSL.md 4 (current form) and 9
 * (older form), with the section 13 spellings. At most two tokens of
 * look-ahead, no backtracking; `and`/`or` chains are loops, so recursion
 * grows only with parenthesis nesting, which is capped at MAX_NESTING.
 * The first syntax error ends the parse.
 */

import { COUNT_OPERATORS } from './ast';
import { clip } from './lexer';
import { toNumber, toNumberLiteralText } from './text-compare';

import type {
  AttributeNode,
  ClauseNode,
  ConditionNode,
  CountNode,
  ListNode,
  Operator,
  PredicateNode,
  RuleNode,
  ScalarNode,
  SpanNameNode,
  ValueNode,
} from './ast';
import type { RawDiagnostic } from './diagnostics';
import type { DslErrorCode } from './errors';
import type { Token } from './lexer';
import type { Dialect } from './rule';

/** Most parentheses open at once: grouping, `where(`, `count(` (DSL.md 7). */
export const MAX_NESTING = 100;

const OPERATORS: ReadonlySet<string> = new Set([
  '==', '!=', '<', '<=', '>', '>=', 'in', 'matches', 'contains',
]);

/** The syntax tree, or the one error that stopped the parse. */
export interface ParseResult {
  readonly rule: RuleNode | null;
  readonly diagnostics: RawDiagnostic[];
}

// Thrown to unwind the recursion at the first error.
class ParseAbort {
  constructor(readonly diagnostic: RawDiagnostic) {}
}

/** Parses the tokens of one rule (they end with `eof`). */
export function parseTokens(tokens: readonly Token[], dialect: Dialect): ParseResult {
  const parser = new Parser(tokens, dialect);
  try {
    const rule = dialect === 'legacy' ? parser.parseLegacyRule() : parser.parseCurrentRule();
    return { rule, diagnostics: [] };
  } catch (err) {
    if (err instanceof ParseAbort) return { rule: null, diagnostics: [err.diagnostic] };
    throw err;
  }
}

class Parser {
  private readonly tokens: readonly Token[];
  private readonly dialect: Dialect;
  private pos = 0;
  private depth = 0;

  constructor(tokens: readonly Token[], dialect: Dialect) {
    this.tokens = tokens;
    this.dialect = dialect;
  }

  // ---- rules ----------------------------------------------------------

  parseCurrentRule(): RuleNode {
    const first = this.peek();
    this.assertNotEmpty(first);
    if (!this.isKeyword(first, 'when')) {
      const looksLegacy = first.kind === 'ident' && first.text === 'trace' && this.isPunct(this.peek(1), '.');
      this.fail(first, '"when"', looksLegacy
        ? 'this is the older trace.has() form; mark the rule with dialect: legacy'
        : 'a rule is when { ... } followed by always { ... } and/or never { ... }');
    }
    this.next();
    const when = this.parseBlock();
    const clauses: ClauseNode[] = [];
    while (this.isKeyword(this.peek(), 'always') || this.isKeyword(this.peek(), 'never')) {
      const kw = this.next();
      const body = this.parseBlock();
      clauses.push({
        keyword: kw.text as 'always' | 'never',
        keywordSpan: { start: kw.start, end: kw.end },
        body,
        start: kw.start,
        end: this.previousEnd(),
      });
    }
    const rest = this.peek();
    if (rest.kind !== 'eof') {
      this.fail(rest, '"always", "never" or the end of the rule',
        this.isKeyword(rest, 'when') ? 'a text holds exactly one rule' : undefined);
    }
    return { dialect: 'current', when, clauses, start: first.start, end: this.previousEnd() };
  }

  parseLegacyRule(): RuleNode {
    const first = this.peek();
    this.assertNotEmpty(first);
    if (first.kind === 'ident' && first.text === 'when') {
      this.fail(first, 'trace.has(...), trace.count(...), "not" or "("',
        'this is the when { } always { } form; drop dialect: legacy');
    }
    const when = this.parseCondition();
    const rest = this.peek();
    if (rest.kind !== 'eof') this.fail(rest, '"and", "or" or the end of the condition');
    return { dialect: 'legacy', when, clauses: [], start: first.start, end: this.previousEnd() };
  }

  private assertNotEmpty(first: Token): void {
    if (first.kind === 'eof') {
      throw new ParseAbort({
        code: 'ERR_DSL_EMPTY_RULE',
        severity: 'error',
        message: 'the rule is empty',
        start: 0,
        end: 0,
        hint: 'a rule is when { ... } followed by always { ... } and/or never { ... }',
      });
    }
  }

  private parseBlock(): ConditionNode {
    this.expectPunct('{', '"{"');
    if (this.isPunct(this.peek(), '}')) {
      this.fail(this.peek(), 'a condition', 'a clause body is never empty');
    }
    const body = this.parseCondition();
    this.expectPunct('}', '"and", "or" or "}"');
    return body;
  }

  // ---- trace-level conditions ------------------------------------------

  private parseCondition(): ConditionNode {
    const first = this.parseConjunction();
    if (!this.isKeyword(this.peek(), 'or')) return first;
    const items = [first];
    while (this.isKeyword(this.peek(), 'or')) {
      this.next();
      items.push(this.parseConjunction());
    }
    return { kind: 'or', items, start: first.start, end: items[items.length - 1].end };
  }

  private parseConjunction(): ConditionNode {
    const first = this.parseFactor();
    if (!this.isKeyword(this.peek(), 'and')) return first;
    const items = [first];
    while (this.isKeyword(this.peek(), 'and')) {
      this.next();
      items.push(this.parseFactor());
    }
    return { kind: 'and', items, start: first.start, end: items[items.length - 1].end };
  }

  private parseFactor(): ConditionNode {
    if (!this.isKeyword(this.peek(), 'not')) return this.parsePrimary();
    const not = this.next();
    this.assertSingleNot();
    const operand = this.parsePrimary();
    return { kind: 'not', operand, start: not.start, end: operand.end };
  }

  private parsePrimary(): ConditionNode {
    const t = this.peek();
    if (this.isPunct(t, '(')) {
      // The node spans its parentheses, so quoted source stays balanced.
      const inner = this.parseGroup(() => this.parseCondition());
      return { ...inner, start: t.start, end: this.previousEnd() };
    }
    if (this.dialect === 'legacy') {
      if (this.isKeyword(t, 'trace')) return this.parseLegacyTest();
      this.fail(t, 'trace.has(...), trace.count(...), "not" or "("');
    }
    if (this.isKeyword(t, 'count')) return this.parseCountTest();
    if (t.kind === 'ident' || t.kind === 'star') return this.parseSpanTest();
    if (t.kind === 'scope') this.failScopeOutsideWhere(t);
    const isValue = t.kind === 'string' || t.kind === 'number' || t.kind === 'duration' ||
      this.isKeyword(t, 'true') || this.isKeyword(t, 'false');
    this.fail(t, 'a span name, count(...), "not" or "("', isValue
      ? 'a value is not a condition; values are compared inside .where(...) or with count(...) on the left'
      : this.keywordHint(t));
  }

  private parseGroup<T>(inner: () => T, expected = '"and", "or" or ")"', hint?: string): T {
    this.open(this.next());
    const node = inner();
    const t = this.peek();
    if (!this.isPunct(t, ')')) this.fail(t, expected, hint ?? this.chainHint(t));
    this.next();
    this.depth--;
    return node;
  }

  private parseSpanTest(): ConditionNode {
    const name = this.parseSpanName();
    const filters = this.parseFilters();
    if (filters.length === 0 && this.isOperator(this.peek())) {
      if (name.segments === null) {
        this.fail(this.peek(), '".where(" or the end of the test', 'write *.where(attribute op value)');
      }
      const op = this.next();
      const value = this.parseValue();
      return {
        kind: 'direct-test', name, op: op.text as Operator,
        opSpan: { start: op.start, end: op.end }, value, start: name.start, end: value.end,
      };
    }
    return { kind: 'span-test', name, filters, start: name.start, end: this.previousEnd() };
  }

  private parseFilters(): PredicateNode[] {
    const filters: PredicateNode[] = [];
    while (this.isPunct(this.peek(), '.') && this.isKeyword(this.peek(1), 'where')) {
      this.next();
      this.next();
      if (!this.isPunct(this.peek(), '(')) this.fail(this.peek(), '"("');
      filters.push(this.dialect === 'legacy'
        ? this.parseGroup(() => this.parseFilterBody(), '")"',
          'the older form takes one comparison per .where(...); chain .where(...) calls')
        : this.parseGroup(() => this.parseFilterBody()));
    }
    return filters;
  }

  private parseFilterBody(): PredicateNode {
    if (this.isPunct(this.peek(), ')')) {
      this.fail(this.peek(), 'an attribute test', 'a filter is never empty');
    }
    return this.dialect === 'legacy' ? this.parseComparison() : this.parsePredicate();
  }

  /** A dotted span name or `*`; stops before `.where`. */
  private parseSpanName(): SpanNameNode {
    const t = this.peek();
    if (t.kind === 'star') {
      this.next();
      const after = this.peek();
      if (this.isPunct(after, '.') && !this.isKeyword(this.peek(1), 'where')) {
        this.fail(this.peek(1), '"where"', '* takes .where(...) only');
      }
      return { kind: 'span-name', segments: null, text: '*', start: t.start, end: t.end };
    }
    if (t.kind !== 'ident') this.fail(t, 'a span name', this.keywordHint(t));
    this.next();
    const segments = [t.text];
    while (this.isPunct(this.peek(), '.')) {
      const after = this.peek(1);
      if (this.isKeyword(after, 'where')) break;
      if (after.kind !== 'ident') this.fail(after, 'a name or "where" after "."', this.segmentHint(after));
      this.next();
      this.next();
      segments.push(after.text);
    }
    return {
      kind: 'span-name', segments, text: segments.join('.'), start: t.start, end: this.previousEnd(),
    };
  }

  private parseCountTest(): ConditionNode {
    const left = this.parseCountRef(this.next());
    return this.parseCountComparison(left);
  }

  private parseCountComparison(left: CountNode): ConditionNode {
    const t = this.peek();
    const countHint = 'count(...) is compared with a number or another count, as in count(x) > 2';
    if (!this.isOperator(t)) this.fail(t, 'a comparison after count(...)', countHint);
    if (!COUNT_OPERATORS.has(t.text)) {
      this.fail(t, '"==", "!=", "<", "<=", ">" or ">="', 'count comparisons use ==, !=, <, <=, > or >=');
    }
    const op = this.next();
    let right: ValueNode;
    if (this.dialect === 'legacy') {
      // DSL.md 9: the other side is a number or trace.count(name), never a bare count(name).
      if (this.isKeyword(this.peek(), 'count')) {
        this.fail(this.peek(), 'a number or trace.count(...)', 'the older form writes the other count as trace.count(name)');
      }
      right = this.isKeyword(this.peek(), 'trace') ? this.parseLegacyCount(this.next()) : this.parseValue();
    } else {
      right = this.isKeyword(this.peek(), 'count') ? this.parseCountRef(this.next()) : this.parseValue();
    }
    return {
      kind: 'count-test', left, op: op.text as Operator,
      opSpan: { start: op.start, end: op.end }, right, start: left.start, end: right.end,
    };
  }

  /** After the `count` keyword: `( name )`. */
  private parseCountRef(kw: Token): CountNode {
    if (!this.isPunct(this.peek(), '(')) this.fail(this.peek(), '"("');
    const target = this.parseGroup(() => this.parseSpanName(), '")"',
      'count takes a plain span name; there is no filtered count');
    return { kind: 'count', target, start: kw.start, end: this.previousEnd() };
  }

  // ---- the older form ----------------------------------------------------

  private parseLegacyTest(): ConditionNode {
    const trace = this.next();
    this.expectPunct('.', '"."');
    const t = this.peek();
    if (this.isKeyword(t, 'count')) {
      return this.parseCountComparison(this.parseLegacyCountAfterDot(trace));
    }
    if (!this.isKeyword(t, 'has')) this.fail(t, '"has" or "count"');
    this.next();
    if (!this.isPunct(this.peek(), '(')) this.fail(this.peek(), '"("');
    const name = this.parseGroup(() => this.parseSpanName(), '")"',
      'trace.has() takes a plain span name; filters follow it as .where(...)');
    const filters = this.parseFilters();
    return { kind: 'span-test', name, filters, start: trace.start, end: this.previousEnd() };
  }

  /** `trace` already read: `.count(name)`. */
  private parseLegacyCount(trace: Token): CountNode {
    this.expectPunct('.', '"."');
    if (!this.isKeyword(this.peek(), 'count')) this.fail(this.peek(), '"count"');
    return this.parseLegacyCountAfterDot(trace);
  }

  private parseLegacyCountAfterDot(trace: Token): CountNode {
    this.next();
    const ref = this.parseCountRef(trace);
    return { ...ref, start: trace.start };
  }

  // ---- filters -------------------------------------------------------------

  private parsePredicate(): PredicateNode {
    const first = this.parsePredicateConjunction();
    if (!this.isKeyword(this.peek(), 'or')) return first;
    const items = [first];
    while (this.isKeyword(this.peek(), 'or')) {
      this.next();
      items.push(this.parsePredicateConjunction());
    }
    return { kind: 'or', items, start: first.start, end: items[items.length - 1].end };
  }

  private parsePredicateConjunction(): PredicateNode {
    const first = this.parsePredicateFactor();
    if (!this.isKeyword(this.peek(), 'and')) return first;
    const items = [first];
    while (this.isKeyword(this.peek(), 'and')) {
      this.next();
      items.push(this.parsePredicateFactor());
    }
    return { kind: 'and', items, start: first.start, end: items[items.length - 1].end };
  }

  private parsePredicateFactor(): PredicateNode {
    if (!this.isKeyword(this.peek(), 'not')) return this.parsePredicatePrimary();
    const not = this.next();
    this.assertSingleNot();
    const operand = this.parsePredicatePrimary();
    return { kind: 'not', operand, start: not.start, end: operand.end };
  }

  private parsePredicatePrimary(): PredicateNode {
    const t = this.peek();
    if (this.isPunct(t, '(')) {
      const inner = this.parseGroup(() => this.parsePredicate());
      return { ...inner, start: t.start, end: this.previousEnd() };
    }
    if (t.kind === 'string' || t.kind === 'scope') return this.parseComparison();
    if (t.kind === 'ident') {
      const name = this.parseDottedName();
      if (this.isOperator(this.peek())) return this.finishComparison(name);
      if (name.key.includes('.')) {
        return { kind: 'span-ref', text: name.key, start: name.start, end: name.end };
      }
      return { kind: 'flag', attribute: name, start: name.start, end: name.end };
    }
    let hint = this.keywordHint(t);
    if (this.isKeyword(t, 'count')) {
      hint = 'count(...) is a test of the whole trace and cannot stand inside .where(...)';
    }
    if (t.kind === 'star') hint = '* stands for a span name, before .where(...)';
    if (t.kind === 'number' || t.kind === 'duration') hint = 'the attribute comes first, as in amount > 100';
    this.fail(t, 'an attribute test', hint);
  }

  /** `attribute op value`, with a quoted, scoped or dotted attribute. */
  private parseComparison(): PredicateNode {
    const t = this.peek();
    let attribute: AttributeNode;
    if (t.kind === 'string') {
      this.next();
      attribute = { kind: 'attribute', scope: null, key: t.text, start: t.start, end: t.end };
    } else if (t.kind === 'scope') {
      attribute = this.parseScopedName();
    } else if (t.kind === 'ident') {
      attribute = this.parseDottedName();
    } else {
      this.fail(t, 'an attribute name', this.keywordHint(t));
    }
    return this.finishComparison(attribute);
  }

  private finishComparison(attribute: AttributeNode): PredicateNode {
    const t = this.peek();
    if (!this.isOperator(t)) {
      this.fail(t, 'a comparison operator', attribute.scope !== null
        ? 'scoped names are compared, as in span:status == error'
        : 'a quoted attribute name is compared, as in "http.status" >= 500');
    }
    this.next();
    const value = this.parseValue();
    return {
      kind: 'compare', attribute, op: t.text as Operator,
      opSpan: { start: t.start, end: t.end }, value, start: attribute.start, end: value.end,
    };
  }

  private parseScopedName(): AttributeNode {
    const scope = this.next();
    const t = this.peek();
    let key: string;
    if (t.kind === 'string') {
      this.next();
      key = t.text;
    } else if (t.kind === 'ident') {
      key = this.parseDottedName().key;
    } else {
      this.fail(t, `a name after "${scope.text}:"`, this.keywordHint(t));
    }
    return { kind: 'attribute', scope: scope.text, key, start: scope.start, end: this.previousEnd() };
  }

  private parseDottedName(): AttributeNode {
    const first = this.next();
    const segments = [first.text];
    while (this.isPunct(this.peek(), '.')) {
      const after = this.peek(1);
      if (after.kind !== 'ident') this.fail(after, 'a name after "."', this.segmentHint(after));
      this.next();
      this.next();
      segments.push(after.text);
    }
    return {
      kind: 'attribute', scope: null, key: segments.join('.'), start: first.start, end: this.previousEnd(),
    };
  }

  // ---- values ----------------------------------------------------------------

  private parseValue(): ValueNode {
    const t = this.peek();
    if (this.isPunct(t, '[')) return this.parseList();
    if (this.isKeyword(t, 'count') && this.dialect === 'current') return this.parseCountRef(this.next());
    if (this.isKeyword(t, 'count') || this.isKeyword(t, 'trace')) {
      // S4 in the older form: read the count so the check can name it.
      const kw = this.next();
      return this.isKeyword(t, 'trace') ? this.parseLegacyCount(kw) : this.parseCountRef(kw);
    }
    const scalar = this.parseScalar('a value');
    if (scalar.type === 'word' && this.isPunct(this.peek(), '.') && this.peek(1).kind === 'ident') {
      this.fail(this.peek(), 'the end of the comparison',
        'the right side is a value, never an attribute or a dotted name; quote it to compare with that text');
    }
    return scalar;
  }

  private parseList(): ListNode {
    const open = this.next();
    if (this.isPunct(this.peek(), ']')) this.fail(this.peek(), 'a list item', 'a list is never empty');
    const items: ScalarNode[] = [];
    for (;;) {
      items.push(this.parseScalar('a list item'));
      const t = this.peek();
      if (this.isPunct(t, ']')) {
        this.next();
        break;
      }
      if (!this.isPunct(t, ',')) this.fail(t, '"," or "]"');
      this.next();
      if (this.isPunct(this.peek(), ']')) {
        this.fail(this.peek(), 'a list item', 'a list has no trailing comma');
      }
    }
    return { kind: 'list', items, start: open.start, end: this.previousEnd() };
  }

  private parseScalar(expected: string): ScalarNode {
    const t = this.peek();
    const at = { start: t.start, end: t.end };
    switch (t.kind) {
      case 'string':
        this.next();
        return { kind: 'scalar', type: 'string', text: t.text, num: toNumber(t.text), ...at };
      case 'number':
        this.next();
        return {
          kind: 'scalar', type: 'number', text: toNumberLiteralText(t.text), num: Number(t.text), ...at,
        };
      case 'duration':
        this.next();
        return { kind: 'scalar', type: 'duration', text: t.text, num: t.value, ...at };
      case 'ident':
        this.next();
        return { kind: 'scalar', type: 'word', text: t.text, num: NaN, ...at };
      case 'keyword':
        if (t.text === 'true' || t.text === 'false') {
          this.next();
          return { kind: 'scalar', type: 'bool', text: t.text, num: NaN, ...at };
        }
        break;
      default:
        break;
    }
    let hint = this.keywordHint(t);
    if (this.isPunct(t, '[')) hint = 'lists do not nest';
    if (this.isKeyword(t, 'count')) hint = 'count(...) is compared on the left only';
    this.fail(t, expected, hint);
  }

  // ---- tokens ------------------------------------------------------------------

  private peek(k = 0): Token {
    return this.tokens[Math.min(this.pos + k, this.tokens.length - 1)];
  }

  private next(): Token {
    const t = this.tokens[this.pos];
    if (t.kind !== 'eof') this.pos++;
    return t;
  }

  private previousEnd(): number {
    return this.pos > 0 ? this.tokens[this.pos - 1].end : 0;
  }

  private isKeyword(t: Token, word: string): boolean {
    return t.kind === 'keyword' && t.text === word;
  }

  private isPunct(t: Token, ch: string): boolean {
    return t.kind === 'punct' && t.text === ch;
  }

  private isOperator(t: Token): boolean {
    return (t.kind === 'op' || t.kind === 'keyword') && OPERATORS.has(t.text);
  }

  private expectPunct(ch: string, expected: string): Token {
    const t = this.peek();
    if (!this.isPunct(t, ch)) this.fail(t, expected, this.chainHint(t));
    return this.next();
  }

  private open(paren: Token): void {
    this.depth++;
    if (this.depth > MAX_NESTING) {
      this.abort('ERR_DSL_TOO_DEEP', `more than ${MAX_NESTING} parentheses are open here`, paren);
    }
  }

  private assertSingleNot(): void {
    const t = this.peek();
    if (this.isKeyword(t, 'not')) {
      this.abort('ERR_DSL_DOUBLE_NOT', '"not" cannot follow "not"', t, 'write not (not x), or drop both');
    }
  }

  private failScopeOutsideWhere(t: Token): never {
    const known = t.text === 'span' || t.text === 'resource';
    this.abort(
      known ? 'ERR_DSL_SCOPE_OUTSIDE_WHERE' : 'ERR_DSL_UNKNOWN_SCOPE',
      known ? `"${t.text}:" names stand only inside .where(...)` : `unknown scope "${t.text}:"`,
      t,
      known ? `test any span with *.where(${t.text}:...), or a named one with name.where(...)`
        : 'scoped names are span:NAME and resource:KEY',
    );
  }

  private keywordHint(t: Token): string | undefined {
    if (t.kind === 'keyword' && !['true', 'false'].includes(t.text)) {
      return `"${t.text}" is a keyword; a name cannot be a keyword (quote an attribute key to read it)`;
    }
    return undefined;
  }

  private segmentHint(t: Token): string | undefined {
    if (t.kind === 'number') return 'name segments cannot start with a digit';
    if (t.kind === 'keyword') return `"${t.text}" is a keyword and cannot be part of a name`;
    return undefined;
  }

  private chainHint(t: Token): string | undefined {
    if (this.isOperator(t)) return 'comparisons do not chain, and a test of a whole span is not compared';
    if (this.isKeyword(t, 'always') || this.isKeyword(t, 'never') || this.isKeyword(t, 'when')) {
      return `a closing "}" is missing before "${t.text}"`;
    }
    if (t.kind === 'ident' || t.kind === 'star') return 'join two tests with and / or';
    return undefined;
  }

  private fail(t: Token, expected: string, hint?: string): never {
    this.abort('ERR_DSL_UNEXPECTED_TOKEN', `unexpected ${describeToken(t)} (expected ${expected})`, t, hint);
  }

  private abort(code: DslErrorCode, message: string, t: Token, hint?: string): never {
    throw new ParseAbort({ code, severity: 'error', message, start: t.start, end: t.end, hint });
  }
}

function describeToken(t: Token): string {
  switch (t.kind) {
    case 'eof':
      return 'end of rule';
    case 'string':
      return `string "${clip(t.text)}"`;
    case 'scope':
      return `"${t.text}:"`;
    default:
      return `"${clip(t.text)}"`;
  }
}
