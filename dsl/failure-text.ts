/**
 * The readable `failure` text of a violation (PRODUCT.md 3): what was
 * required and not found, or forbidden and found, or else the clause quoted.
 * Runs only for violations, so it may re-evaluate parts of the condition.
 */

import { splitDirectTest } from './ast';

import type { ConditionNode, TextRange } from './ast';
import type { CompiledCondition } from './program';
import type { TraceView } from './trace-model';

/** Longest quoted source in a failure text. */
const MAX_QUOTED = 160;

/**
 * Says why a clause failed: `always` did not hold, `never` held, or (older
 * form) the condition held. The rule's name is not included.
 */
export function describeFailure(
  cond: CompiledCondition,
  text: string,
  view: TraceView,
  clause: 'always' | 'never' | 'condition',
): string {
  const src = quoteSource(text, cond.node, clause === 'condition');
  if (clause === 'condition') return `condition held: ${src}`;
  const wanted = clause === 'always';
  const specific = describe(cond, text, view, wanted);
  if (specific !== null) return specific;
  return wanted ? `always { ${src} } did not hold` : `never { ${src} } held`;
}

/** Describes a condition whose truth is the opposite of `wanted`. */
function describe(c: CompiledCondition, text: string, view: TraceView, wanted: boolean): string | null {
  const node = c.node;
  switch (node.kind) {
    case 'span-test':
    case 'direct-test': {
      const subject = subjectOf(node, text);
      return wanted ? `required ${subject} not found` : `forbidden ${subject} found`;
    }
    case 'count-test': {
      const found = c.counts!(view).join(' and ');
      const src = quoteSource(text, node);
      return wanted ? `expected ${src}, found ${found}` : `forbidden ${src} held, found ${found}`;
    }
    case 'not':
      return describe(c.items[0], text, view, !wanted);
    case 'and': {
      if (!wanted) return null;
      const failed = c.items.find((i) => !i.test(view));
      return failed === undefined ? null : describe(failed, text, view, true);
    }
    case 'or': {
      if (!wanted) {
        const held = c.items.find((i) => i.test(view));
        return held === undefined ? null : describe(held, text, view, false);
      }
      const subjects = c.items.map((i) =>
        i.node.kind === 'span-test' || i.node.kind === 'direct-test' ? subjectOf(i.node, text) : null);
      if (subjects.some((s) => s === null)) return null;
      return `required ${subjects.join(' or ')} not found`;
    }
  }
}

function subjectOf(node: ConditionNode, text: string): string {
  if (node.kind === 'direct-test') {
    const { spanName, attribute } = splitDirectTest(node);
    const test = quoteSource(text, { start: attribute.start, end: node.value.end });
    return `"${spanName}" where (${test})`;
  }
  if (node.kind !== 'span-test') return quoteSource(text, node);
  const name = node.name.segments === null ? 'a span' : `"${node.name.text}"`;
  if (node.filters.length === 0) return name;
  const filters = node.filters.map((f) => `(${quoteSource(text, f)})`).join(' and ');
  return `${name} where ${filters}`;
}

/** The source of a node on one line, without comments, shortened. */
export function quoteSource(text: string, at: TextRange, legacy = false): string {
  const raw = stripComments(text.slice(at.start, at.end), legacy);
  const oneLine = raw.replace(/\s+/g, ' ').trim();
  return oneLine.length > MAX_QUOTED ? `${oneLine.slice(0, MAX_QUOTED)}…` : oneLine;
}

// Comments would swallow the rest of the line once lines are joined; strings
// may hold `//` (URLs in patterns), so they are skipped whole. The older form
// also has `#` comments and `\"` inside strings.
function stripComments(src: string, legacy: boolean): string {
  let out = '';
  let i = 0;
  while (i < src.length) {
    const ch = src[i];
    if (ch === '"') {
      let close = src.indexOf('"', i + 1);
      while (legacy && close > 0 && src[close - 1] === '\\') close = src.indexOf('"', close + 1);
      const end = close === -1 ? src.length : close + 1;
      out += src.slice(i, end);
      i = end;
    } else if ((ch === '/' && src[i + 1] === '/') || (legacy && ch === '#')) {
      const lf = src.indexOf('\n', i);
      i = lf === -1 ? src.length : lf;
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}
