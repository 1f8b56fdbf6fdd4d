/**
 * The tokenizer of DSL.md 3.2 with the spellings of section 13 (`span:`,
 * `resource:`, `*`, duration literals) and the older form's keywords. One
 * left-to-right pass over char codes; no backtracking.
 */

import { isDurationUnit, parseDurationLiteral } from './duration';
import { countCodePoints, toPrintable } from './source-text';

import type { Dialect } from './rule';
import type { RawDiagnostic } from './diagnostics';
import type { DslErrorCode } from './errors';

/** Longest identifier token, in characters (DSL.md 7). */
export const MAX_NAME_LENGTH = 100;
/** Longest string literal content, in code points (DSL.md 7). */
export const MAX_STRING_LENGTH = 10000;
/** Lexical errors reported per text before the lexer gives up. */
const MAX_LEX_ERRORS = 10;

/** The token classes of DSL.md 3.2 and 13. */
export type TokenKind =
  | 'keyword'
  | 'ident'
  | 'scope'
  | 'string'
  | 'number'
  | 'duration'
  | 'op'
  | 'punct'
  | 'star'
  | 'eof';

/** One token; every token has the same shape. */
export interface Token {
  readonly kind: TokenKind;
  /**
   * keyword, ident, op, punct: the text; scope: the word before the colon;
   * string: the content; number and duration: the literal as written.
   */
  readonly text: string;
  readonly start: number;
  readonly end: number;
  /** Nanoseconds for a duration; 0 otherwise. */
  readonly value: number;
}

const CURRENT_KEYWORDS: ReadonlySet<string> = new Set([
  'when', 'always', 'never', 'and', 'or', 'not', 'where',
  'count', 'in', 'matches', 'contains', 'true', 'false',
]);

// DSL.md 9: when, always, never and contains are plain words in the old form.
const LEGACY_KEYWORDS: ReadonlySet<string> = new Set([
  'trace', 'has', 'where', 'count', 'and', 'or', 'not', 'true', 'false', 'in', 'matches',
]);

/** The reserved words of a dialect. */
export function keywordsOf(dialect: Dialect): ReadonlySet<string> {
  return dialect === 'legacy' ? LEGACY_KEYWORDS : CURRENT_KEYWORDS;
}

const PUNCTUATION = '{}()[],.';

const enum Ch {
  Tab = 9, Lf = 10, Cr = 13, Space = 32, Bang = 33, Quote = 34, Hash = 35,
  Star = 42, Minus = 45, Dot = 46, Slash = 47, D0 = 48, D9 = 57, Colon = 58,
  Lt = 60, Eq = 61, Gt = 62, Backslash = 92, Underscore = 95,
}

function isDigit(c: number): boolean {
  return c >= Ch.D0 && c <= Ch.D9;
}

function isIdentStart(c: number): boolean {
  return (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === Ch.Underscore;
}

function isIdentPart(c: number): boolean {
  return isIdentStart(c) || isDigit(c);
}

function isSpace(c: number): boolean {
  return c === Ch.Space || c === Ch.Tab || c === Ch.Lf || c === Ch.Cr;
}

/** Tokens of a text (always ending with `eof`) and its lexical errors. */
export interface LexResult {
  readonly tokens: Token[];
  readonly diagnostics: RawDiagnostic[];
}

/** Splits rule text into tokens by the classes of DSL.md 3.2, in order. */
export function tokenize(text: string, dialect: Dialect): LexResult {
  const keywords = keywordsOf(dialect);
  const tokens: Token[] = [];
  const diagnostics: RawDiagnostic[] = [];
  const n = text.length;
  let i = 0;

  const push = (kind: TokenKind, tokenText: string, start: number, end: number, value = 0): void => {
    tokens.push({ kind, text: tokenText, start, end, value });
  };
  const fail = (code: DslErrorCode, message: string, start: number, end: number, hint?: string): void => {
    diagnostics.push({ code, severity: 'error', message, start, end, hint });
  };

  while (i < n && diagnostics.length < MAX_LEX_ERRORS) {
    const c = text.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    const next = i + 1 < n ? text.charCodeAt(i + 1) : -1;
    if ((c === Ch.Slash && next === Ch.Slash) || (c === Ch.Hash && dialect === 'legacy')) {
      const lf = text.indexOf('\n', i);
      i = lf === -1 ? n : lf;
      continue;
    }
    if (isIdentStart(c)) {
      i = lexWord(text, i, keywords, push, fail);
      continue;
    }
    if (isDigit(c) || (c === Ch.Minus && isDigit(next))) {
      i = lexNumber(text, i, keywords, push, fail);
      continue;
    }
    if (c === Ch.Quote) {
      const end = lexString(text, i, dialect, push, fail);
      if (end < 0) break;
      i = end;
      continue;
    }
    if (c === Ch.Eq && next === Ch.Eq) {
      push('op', '==', i, i + 2);
      i += 2;
      continue;
    }
    if ((c === Ch.Bang || c === Ch.Lt || c === Ch.Gt) && next === Ch.Eq) {
      push('op', text.slice(i, i + 2), i, i + 2);
      i += 2;
      continue;
    }
    if (c === Ch.Lt || c === Ch.Gt) {
      push('op', text[i], i, i + 1);
      i++;
      continue;
    }
    if (c === Ch.Star) {
      push('star', '*', i, i + 1);
      i++;
      continue;
    }
    if (c < 128 && PUNCTUATION.includes(text[i])) {
      push('punct', text[i], i, i + 1);
      i++;
      continue;
    }
    i = lexInvalid(text, i, dialect, fail);
  }
  push('eof', '', n, n);
  return { tokens, diagnostics };
}

type Push = (kind: TokenKind, text: string, start: number, end: number, value?: number) => void;
type Fail = (code: DslErrorCode, message: string, start: number, end: number, hint?: string) => void;

function lexWord(
  text: string,
  start: number,
  keywords: ReadonlySet<string>,
  push: Push,
  fail: Fail,
): number {
  let i = start + 1;
  while (i < text.length && isIdentPart(text.charCodeAt(i))) i++;
  const word = text.slice(start, i);
  if (word.length > MAX_NAME_LENGTH) {
    fail(
      'ERR_DSL_NAME_TOO_LONG',
      `name of ${word.length} characters is over the limit of ${MAX_NAME_LENGTH}`,
      start,
      i,
    );
  }
  if (keywords.has(word)) {
    push('keyword', word, start, i);
    return i;
  }
  if (text.charCodeAt(i) === Ch.Colon) {
    push('scope', word, start, i + 1);
    return i + 1;
  }
  push('ident', word, start, i);
  return i;
}

function lexNumber(text: string, start: number, keywords: ReadonlySet<string>, push: Push, fail: Fail): number {
  const negative = text.charCodeAt(start) === Ch.Minus;
  let i = negative ? start + 1 : start;
  while (isDigit(text.charCodeAt(i))) i++;
  if (text.charCodeAt(i) === Ch.Dot && isDigit(text.charCodeAt(i + 1))) {
    i++;
    while (isDigit(text.charCodeAt(i))) i++;
  }
  if (!isIdentPart(text.charCodeAt(i))) {
    push('number', text.slice(start, i), start, i);
    return i;
  }
  // Token classes are tried in order (DSL.md 3.2), so a keyword right after
  // the digits is a token of its own: `5and y` reads `5 and y`. Other
  // letters there never form valid base syntax, so the only reading given to
  // them is a duration unit.
  const suffixStart = i;
  while (isIdentPart(text.charCodeAt(i))) i++;
  const suffix = text.slice(suffixStart, i);
  if (keywords.has(suffix)) {
    push('number', text.slice(start, suffixStart), start, suffixStart);
    return suffixStart;
  }
  const literal = text.slice(start, i);
  if (isDurationUnit(suffix)) {
    if (negative) {
      fail('ERR_DSL_BAD_DURATION', `duration "${literal}" is negative`, start, i, 'durations have no sign');
      return i;
    }
    push('duration', literal, start, i, parseDurationLiteral(literal) ?? 0);
    return i;
  }
  if (/^(?:ns|us|ms|s|m|h)\d/.test(suffix)) {
    fail(
      'ERR_DSL_BAD_DURATION',
      `compound duration "${literal}" is not supported`,
      start,
      i,
      'write one number and one unit, such as 90s',
    );
    return i;
  }
  if (/^[eE]$/.test(suffix) && /[+-]/.test(text[i] ?? '') && isDigit(text.charCodeAt(i + 1))) {
    i += 2;
    while (isDigit(text.charCodeAt(i))) i++;
  }
  fail('ERR_DSL_BAD_NUMBER', `invalid number "${clip(text.slice(start, i))}"`, start, i, numberHint(suffix));
  return i;
}

function numberHint(suffix: string): string {
  if (/^[eE][0-9]*$/.test(suffix)) return 'numbers have no exponent; write the digits out';
  if (/^x/i.test(suffix)) return 'numbers are decimal; there are no hex literals';
  if (suffix.startsWith('_')) return 'numbers have no digit separators';
  return 'a number cannot be followed directly by letters, and name segments cannot start with a digit';
}

/** Returns the end of the string, or -1 when it is unclosed (lexing stops). */
function lexString(text: string, start: number, dialect: Dialect, push: Push, fail: Fail): number {
  let i = start + 1;
  let content: string;
  if (dialect === 'legacy') {
    // The older form's lexers read \" as a quote (DSL.md 9); nothing else is an escape.
    let out = '';
    let from = i;
    for (;;) {
      const q = text.indexOf('"', i);
      if (q === -1) {
        i = -1;
        break;
      }
      if (text.charCodeAt(q - 1) === Ch.Backslash && q - 1 >= from) {
        out += text.slice(from, q - 1) + '"';
        from = q + 1;
        i = q + 1;
        continue;
      }
      out += text.slice(from, q);
      i = q;
      break;
    }
    content = out;
  } else {
    i = text.indexOf('"', i);
    content = i === -1 ? '' : text.slice(start + 1, i);
  }
  if (i === -1) {
    fail(
      'ERR_DSL_UNCLOSED_STRING',
      'string is not closed',
      start,
      start + 1,
      'strings end with a double quote and contain no double quotes',
    );
    return -1;
  }
  const length = countCodePoints(content);
  if (length > MAX_STRING_LENGTH) {
    fail(
      'ERR_DSL_STRING_TOO_LONG',
      `string of ${length} characters is over the limit of ${MAX_STRING_LENGTH}`,
      start,
      i + 1,
    );
  }
  push('string', content, start, i + 1);
  return i + 1;
}

function lexInvalid(text: string, start: number, dialect: Dialect, fail: Fail): number {
  let i = start;
  // One diagnostic for a run of characters that start no token.
  while (i < text.length && startsNoToken(text, i, dialect)) {
    i += text.codePointAt(i)! > 0xffff ? 2 : 1;
  }
  if (i === start) i++;
  const bad = text.slice(start, i);
  const what = countCodePoints(bad) === 1 ? 'character' : 'characters';
  fail(
    'ERR_DSL_INVALID_CHARACTER',
    `unexpected ${what} "${clip(bad)}"${describeCodePoint(bad)}`,
    start,
    i,
    invalidHint(bad, dialect),
  );
  return i;
}

function startsNoToken(text: string, i: number, dialect: Dialect): boolean {
  const c = text.charCodeAt(i);
  if (isSpace(c) || isIdentPart(c) || c === Ch.Quote || c === Ch.Star) return false;
  if (c === Ch.Lt || c === Ch.Gt) return false;
  if (c < 128 && PUNCTUATION.includes(text[i])) return false;
  const next = text.charCodeAt(i + 1);
  if ((c === Ch.Eq || c === Ch.Bang) && next === Ch.Eq) return false;
  if (c === Ch.Slash && next === Ch.Slash) return false;
  if (c === Ch.Hash && dialect === 'legacy') return false;
  if (c === Ch.Minus && isDigit(next)) return false;
  return true;
}

function describeCodePoint(bad: string): string {
  const cp = bad.codePointAt(0)!;
  if (countCodePoints(bad) !== 1 || (cp > 32 && cp < 127)) return '';
  return ` (U+${cp.toString(16).toUpperCase().padStart(4, '0')})`;
}

function invalidHint(bad: string, dialect: Dialect): string | undefined {
  const c = bad[0];
  switch (c) {
    case '=':
      return 'use == to compare';
    case '!':
      return 'use != to compare, or not to negate';
    case '&':
      return 'use and';
    case '|':
      return 'use or';
    case "'":
      return 'strings are written in double quotes';
    case '#':
      return dialect === 'legacy' ? undefined : 'comments start with //';
    case '/':
      return 'comments start with //';
    case '-':
      return 'a minus sign may only stand directly before a number';
    case '+':
      return 'there is no arithmetic, and numbers take no plus sign';
    case ':':
      return 'scoped names are written span:NAME or resource:KEY, inside .where(...)';
    default:
      break;
  }
  const cp = bad.codePointAt(0)!;
  if (cp === 0xa0 || cp === 0x2007 || cp === 0x202f || cp === 0xfeff || (cp >= 0x2000 && cp <= 0x200b)) {
    return 'only space, tab, CR and LF separate tokens';
  }
  if (cp > 127) return 'names are ASCII only; non-ASCII text goes inside a double-quoted string';
  return undefined;
}

/** Shortens echoed text so messages stay one line. */
export function clip(text: string, max = 24): string {
  const oneLine = text.replace(/[\r\n\t]+/g, ' ');
  return toPrintable(oneLine.length > max ? `${oneLine.slice(0, max)}…` : oneLine);
}
