/**
 * Diagnostics of the rule compiler and the rule-file loader, and their
 * printed form: a `file:line:col` header, the source line(s) with line
 * numbers and a caret under the problem.
 */

import { UNSHOWABLE, countCodePoints, createLineIndex } from './source-text';

import type { DslErrorCode } from './errors';
import type { LineIndex, Locator } from './source-text';

/** One problem found at load time, with where it is. */
export interface Diagnostic {
  /** `ERR_DSL_<WHAT>`, declared in dsl/errors.ts. */
  code: string;
  severity: 'error' | 'warning';
  /** Lower case, no trailing period; quotes the offending text. */
  message: string;
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based, in code points. */
  column: number;
  /** Index into the file's text (UTF-16 units), when that text is known. */
  offset?: number;
  /** Extent of the problem in UTF-16 units. */
  length?: number;
  hint?: string;
}

/** A diagnostic found in one text, before it is placed in a file. */
export interface RawDiagnostic {
  readonly code: DslErrorCode;
  readonly severity: 'error' | 'warning';
  readonly message: string;
  /** Offsets into the text that was compiled. */
  readonly start: number;
  readonly end: number;
  readonly hint?: string;
}

/** Places a raw diagnostic in its file through a locator. */
export function toDiagnostic(raw: RawDiagnostic, locator: Locator): Diagnostic {
  const at = locator.locate(raw.start);
  const d: Diagnostic = {
    code: raw.code,
    severity: raw.severity,
    message: raw.message,
    file: locator.file,
    line: at.line,
    column: at.column,
  };
  if (at.offset !== undefined) {
    d.offset = at.offset;
    const endAt = locator.locate(raw.end);
    d.length = Math.max(0, (endAt.offset ?? at.offset) - at.offset);
  } else {
    d.length = Math.max(0, raw.end - raw.start);
  }
  if (raw.hint !== undefined) d.hint = raw.hint;
  return d;
}

/** True when some diagnostic is an error (warnings never fail a load). */
export function hasErrors(diagnostics: readonly Diagnostic[]): boolean {
  return diagnostics.some((d) => d.severity === 'error');
}

/** Orders by file, line, column; stable for equal positions. */
export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return a.line - b.line || a.column - b.column;
}

const MAX_SHOWN_LINES = 3;

// Formatting several diagnostics of one file rebuilds no index.
let lastIndex: LineIndex | null = null;

function indexOf(source: string): LineIndex {
  if (lastIndex === null || lastIndex.text !== source) {
    lastIndex = createLineIndex(source);
  }
  return lastIndex;
}

/**
 * Prints `file:line:col: severity code: message`, then (when the file's text
 * is given) the line before, the problem's line(s) with a caret line under
 * each, and the hint.
 */
export function formatDiagnostic(d: Diagnostic, source?: string): string {
  const out = [`${d.file}:${d.line}:${d.column}: ${d.severity} ${d.code}: ${d.message}`];
  if (source !== undefined && d.line >= 1) {
    out.push(...formatExcerpt(indexOf(source), d));
  }
  if (d.hint !== undefined) out.push(`  hint: ${d.hint}`);
  return out.join('\n');
}

function formatExcerpt(index: LineIndex, d: Diagnostic): string[] {
  if (d.line > index.lineCount) return [];
  const text = index.text;
  const start = index.offsetAt(d.line, d.column);
  const end = start + Math.max(d.length ?? 1, 1);
  const last = Math.min(index.positionAt(Math.max(end - 1, start)).line, d.line + MAX_SHOWN_LINES - 1);
  const first = d.line > 1 && !isBlank(text, index.lineRange(d.line - 1)) ? d.line - 1 : d.line;
  const width = String(last).length;
  const gutter = ' '.repeat(width);
  const lines: string[] = [];
  for (let line = first; line <= last; line++) {
    const range = index.lineRange(line);
    // One character for one: unshowable characters must not reach the
    // terminal, and the caret must still line up (tabs stay for that).
    const content = text.slice(range.start, range.end).replace(/\r$/, '')
      .replace(UNSHOWABLE, (c) => (c === '\t' ? c : '\ufffd'));
    lines.push(`  ${String(line).padStart(width)} | ${content}`);
    if (line < d.line) continue;
    const from = line === d.line ? start : firstNonSpace(text, range);
    const to = Math.min(end, range.end);
    const pad = padFor(text.slice(range.start, from));
    const marks = Math.max(countCodePoints(text, from, to), 1);
    const caret = (line === d.line ? '^' : '~') + '~'.repeat(marks - 1);
    lines.push(`  ${gutter} | ${pad}${caret}`);
  }
  return lines;
}

function isBlank(text: string, range: { start: number; end: number }): boolean {
  return text.slice(range.start, range.end).trim() === '';
}

function firstNonSpace(text: string, range: { start: number; end: number }): number {
  let i = range.start;
  while (i < range.end && (text[i] === ' ' || text[i] === '\t')) i++;
  return i;
}

// Keeps tabs so that the caret lines up under tab-indented source.
function padFor(prefix: string): string {
  let pad = '';
  for (const ch of prefix) pad += ch === '\t' ? '\t' : ' ';
  return pad;
}
