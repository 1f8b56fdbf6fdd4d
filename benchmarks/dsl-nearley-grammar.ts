/**
 * The base rule language (DSL.md 4, without the section 13 extensions) as a
 * nearley grammar, fed with the product's own tokens, so that the parse
 * benchmark compares the two parsers on identical input. Written in nearley's
 * compiled form; left-recursive lists, which Earley parsing handles in
 * linear time, and postprocessors that build small nodes without copying.
 */

import nearley from 'nearley';

import { tokenize } from '../dsl/lexer';

import type { Token } from '../dsl/lexer';

interface NearleyToken {
  type: string;
  text: string;
  value: string;
  offset: number;
  line: number;
  col: number;
}

type Symbol = string | { literal: string } | { type: string };

const lit = (s: string): Symbol => ({ literal: s });
const tok = (t: string): Symbol => ({ type: t });

// Nodes: small arrays of children, built without copying the child lists.
const node = (kind: string) => (d: unknown[]): unknown => ({ kind, d });
const pass = (d: unknown[]): unknown => d[0];

const CMP = ['==', '!=', '<', '<=', '>', '>=', 'in', 'matches', 'contains'];
const CMP6 = ['==', '!=', '<', '<=', '>', '>='];

const RULES: { name: string; symbols: Symbol[]; postprocess?: (d: unknown[]) => unknown }[] = [
  { name: 'rule', symbols: [lit('when'), 'block', 'clauses'], postprocess: node('rule') },
  { name: 'clauses', symbols: [], postprocess: () => null },
  { name: 'clauses', symbols: ['clauses', 'clause'], postprocess: node('clauses') },
  { name: 'clause', symbols: [lit('always'), 'block'], postprocess: node('always') },
  { name: 'clause', symbols: [lit('never'), 'block'], postprocess: node('never') },
  { name: 'block', symbols: [lit('{'), 'cond', lit('}')], postprocess: (d) => d[1] },
  { name: 'cond', symbols: ['conj'], postprocess: pass },
  { name: 'cond', symbols: ['cond', lit('or'), 'conj'], postprocess: node('or') },
  { name: 'conj', symbols: ['factor'], postprocess: pass },
  { name: 'conj', symbols: ['conj', lit('and'), 'factor'], postprocess: node('and') },
  { name: 'factor', symbols: ['primary'], postprocess: pass },
  { name: 'factor', symbols: [lit('not'), 'primary'], postprocess: node('not') },
  { name: 'primary', symbols: [lit('('), 'cond', lit(')')], postprocess: (d) => d[1] },
  { name: 'primary', symbols: ['count_test'], postprocess: pass },
  { name: 'primary', symbols: ['span_test'], postprocess: pass },
  { name: 'count_test', symbols: ['count', 'cmp6', 'count_rhs'], postprocess: node('count-test') },
  { name: 'count_rhs', symbols: ['count'], postprocess: pass },
  { name: 'count_rhs', symbols: ['scalar'], postprocess: pass },
  { name: 'count', symbols: [lit('count'), lit('('), 'name', lit(')')], postprocess: node('count') },
  { name: 'span_test', symbols: ['name'], postprocess: node('span') },
  { name: 'span_test', symbols: ['name', 'filters'], postprocess: node('span') },
  { name: 'span_test', symbols: ['name', 'cmp', 'value'], postprocess: node('direct') },
  { name: 'filters', symbols: ['filter'], postprocess: pass },
  { name: 'filters', symbols: ['filters', 'filter'], postprocess: node('filters') },
  { name: 'filter', symbols: [lit('.'), lit('where'), lit('('), 'pred', lit(')')], postprocess: (d) => d[3] },
  { name: 'name', symbols: [tok('ident')], postprocess: pass },
  { name: 'name', symbols: ['name', lit('.'), tok('ident')], postprocess: node('name') },
  { name: 'dotted', symbols: [tok('ident'), lit('.'), tok('ident')], postprocess: node('name') },
  { name: 'dotted', symbols: ['dotted', lit('.'), tok('ident')], postprocess: node('name') },
  { name: 'pred', symbols: ['pconj'], postprocess: pass },
  { name: 'pred', symbols: ['pred', lit('or'), 'pconj'], postprocess: node('or') },
  { name: 'pconj', symbols: ['pfactor'], postprocess: pass },
  { name: 'pconj', symbols: ['pconj', lit('and'), 'pfactor'], postprocess: node('and') },
  { name: 'pfactor', symbols: ['pprimary'], postprocess: pass },
  { name: 'pfactor', symbols: [lit('not'), 'pprimary'], postprocess: node('not') },
  { name: 'pprimary', symbols: [lit('('), 'pred', lit(')')], postprocess: (d) => d[1] },
  { name: 'pprimary', symbols: ['attr', 'cmp', 'value'], postprocess: node('compare') },
  { name: 'pprimary', symbols: [tok('ident')], postprocess: node('flag') },
  { name: 'pprimary', symbols: ['dotted'], postprocess: node('span-ref') },
  { name: 'attr', symbols: [tok('string')], postprocess: pass },
  { name: 'attr', symbols: ['name'], postprocess: pass },
  { name: 'value', symbols: ['scalar'], postprocess: pass },
  { name: 'value', symbols: ['list'], postprocess: pass },
  { name: 'value', symbols: ['count'], postprocess: pass },
  { name: 'scalar', symbols: [tok('string')], postprocess: pass },
  { name: 'scalar', symbols: [tok('number')], postprocess: pass },
  { name: 'scalar', symbols: [lit('true')], postprocess: pass },
  { name: 'scalar', symbols: [lit('false')], postprocess: pass },
  { name: 'scalar', symbols: [tok('ident')], postprocess: pass },
  { name: 'list', symbols: [lit('['), 'items', lit(']')], postprocess: (d) => d[1] },
  { name: 'items', symbols: ['scalar'], postprocess: pass },
  { name: 'items', symbols: ['items', lit(','), 'scalar'], postprocess: node('items') },
  ...CMP.map((op) => ({ name: 'cmp', symbols: [lit(op)], postprocess: pass })),
  ...CMP6.map((op) => ({ name: 'cmp6', symbols: [lit(op)], postprocess: pass })),
];

/** A nearley lexer that hands out tokens produced by the product's tokenizer. */
class TokenFeed {
  private tokens: NearleyToken[] = [];
  private pos = 0;

  load(tokens: readonly Token[]): void {
    // Strings carry their quotes so that a string "{" never equals the literal {.
    this.tokens = tokens
      .filter((t) => t.kind !== 'eof')
      .map((t) => {
        const text = t.kind === 'string' ? JSON.stringify(t.text) : t.text;
        return { type: t.kind, text, value: text, offset: t.start, line: 1, col: t.start + 1 };
      });
    this.pos = 0;
  }

  reset(): void {
    this.pos = 0;
  }

  next(): NearleyToken | undefined {
    return this.tokens[this.pos++];
  }

  save(): Record<string, never> {
    return {};
  }

  formatError(token: NearleyToken, message: string): string {
    return `${message} at offset ${token.offset}`;
  }

  has(): boolean {
    return true;
  }
}

/** What one nearley parse produced. */
export interface NearleyOutcome {
  readonly ok: boolean;
  /** Offset of the offending token when the parse failed. */
  readonly errorOffset: number;
  readonly errorMessage: string;
  readonly ambiguous: boolean;
}

/** A parser for the base language built with nearley. */
export function createNearleyParser(): (text: string) => NearleyOutcome {
  const feed = new TokenFeed();
  const grammar = nearley.Grammar.fromCompiled({
    Lexer: feed as unknown as nearley.Lexer,
    ParserRules: RULES as unknown as nearley.CompiledRules['ParserRules'],
    ParserStart: 'rule',
  });
  return (text) => {
    const lexed = tokenize(text, 'current');
    feed.load(lexed.tokens);
    const parser = new nearley.Parser(grammar);
    try {
      parser.feed(text);
    } catch (err) {
      const e = err as Error & { token?: NearleyToken };
      return { ok: false, errorOffset: e.token?.offset ?? -1, errorMessage: e.message, ambiguous: false };
    }
    const results = parser.results;
    if (results.length === 0) {
      return { ok: false, errorOffset: text.length, errorMessage: 'unexpected end of input', ambiguous: false };
    }
    return { ok: true, errorOffset: -1, errorMessage: '', ambiguous: results.length > 1 };
  }
}
