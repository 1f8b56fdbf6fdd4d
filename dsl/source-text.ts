/**
 * Positions in source text. Offsets are JavaScript string indices (UTF-16
 * units); lines and columns start at 1 and columns count Unicode code points
 * (DSL.md 3.1), so a character above U+FFFF is one column.
 */

/** A position as diagnostics report it. */
export interface TextPosition {
  readonly line: number;
  readonly column: number;
  /** Index into the file's text, when the file's text is known. */
  readonly offset?: number;
}

/** Maps offsets of a text to positions in the file the text came from. */
export interface Locator {
  readonly file: string;
  locate(offset: number): TextPosition;
}

/** Line starts of one text, for offset to line/column conversion. */
export interface LineIndex {
  readonly text: string;
  /** Number of lines (an empty text has one). */
  readonly lineCount: number;
  positionAt(offset: number): { line: number; column: number };
  /** Offset of a line/column; clamped to the line's end. */
  offsetAt(line: number, column: number): number;
  /** Offset where a line starts and where it ends (before its LF). */
  lineRange(line: number): { start: number; end: number };
}

/** Builds the line index of a text in one pass. */
export function createLineIndex(text: string): LineIndex {
  const starts: number[] = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) {
    starts.push(i + 1);
  }
  const lineOf = (offset: number): number => {
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const lineRange = (line: number): { start: number; end: number } => {
    const i = Math.min(Math.max(line, 1), starts.length) - 1;
    const start = starts[i];
    const end = i + 1 < starts.length ? starts[i + 1] - 1 : text.length;
    return { start, end };
  };
  return {
    text,
    lineCount: starts.length,
    positionAt(offset) {
      const clamped = Math.min(Math.max(offset, 0), text.length);
      const i = lineOf(clamped);
      return { line: i + 1, column: countCodePoints(text, starts[i], clamped) + 1 };
    },
    offsetAt(line, column) {
      const { start, end } = lineRange(line);
      return advanceCodePoints(text, start, end, column - 1);
    },
    lineRange,
  };
}

/** Code points in text[from, to), counting a surrogate pair once. */
export function countCodePoints(text: string, from = 0, to = text.length): number {
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    // A low surrogate after a high one belongs to the same code point.
    if (c >= 0xdc00 && c <= 0xdfff && i > from) {
      const prev = text.charCodeAt(i - 1);
      if (prev >= 0xd800 && prev <= 0xdbff) continue;
    }
    n++;
  }
  return n;
}

/** The offset `count` code points after `from`, not past `limit`. */
export function advanceCodePoints(
  text: string,
  from: number,
  limit: number,
  count: number,
): number {
  let i = from;
  for (let k = 0; k < count && i < limit; k++) {
    const c = text.charCodeAt(i);
    const isPair =
      c >= 0xd800 && c <= 0xdbff && i + 1 < limit &&
      (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
    i += isPair ? 2 : 1;
  }
  return i;
}

/**
 * A locator for a text that starts at `line`/`column` of its file. Every line
 * of the text is taken to start at `column`, which is exact for a YAML block
 * scalar (all its lines share one indentation) and for any one-line text.
 */
export function createShiftedLocator(
  text: string,
  file: string,
  line = 1,
  column = 1,
): Locator {
  const index = createLineIndex(text);
  const isIdentity = line === 1 && column === 1;
  return {
    file,
    locate(offset) {
      const p = index.positionAt(offset);
      const at = { line: p.line + line - 1, column: p.column + column - 1 };
      // Offsets into the text are offsets into the file only when the
      // text is the whole file.
      return isIdentity ? { ...at, offset } : at;
    },
  };
}

/**
 * Characters that must not reach a terminal as they are: C0 and C1 controls,
 * line and paragraph separators, and the bidirectional formatting marks,
 * which can make a line display in another order than it reads.
 */
export const UNSHOWABLE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

/**
 * Echoed rule text with unshowable characters written as `\u001b`, so that
 * a message never carries terminal escapes, breaks its line or reorders it.
 */
export function toPrintable(text: string): string {
  return text.replace(UNSHOWABLE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
