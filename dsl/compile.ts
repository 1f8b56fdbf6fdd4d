/**
 * The rule compiler: size limit, tokens, syntax tree, static checks, then
 * closures. Every stage reports diagnostics placed in the rule's file.
 */

import { checkRule } from './check';
import { toDiagnostic } from './diagnostics';
import { tokenize } from './lexer';
import { parseTokens } from './parser';
import { createProgram } from './program';
import { createShiftedLocator } from './source-text';

import type { Diagnostic, RawDiagnostic } from './diagnostics';
import type { Dialect, Program } from './rule';
import type { Locator } from './source-text';

/** Longest rule text in UTF-8 bytes; exactly this many is allowed (DSL.md 7). */
export const MAX_RULE_BYTES = 65536;

/** How to read a rule text and where it sits in its file. */
export interface CompileOptions {
  readonly dialect: Dialect;
  /** Shown in diagnostics; `<condition>` when absent. */
  readonly file?: string;
  /**
   * Where the text starts in its file (1-based). Every line of the text is
   * taken to start at `column`: exact for YAML block scalars and for text on
   * one line. Ignored when `locator` is given.
   */
  readonly line?: number;
  readonly column?: number;
  /** Places every offset of the text in its file (see rule-file.ts). */
  readonly locator?: Locator;
}

/** A program, or the errors that prevent one; warnings in either case. */
export interface CompileResult {
  /** null exactly when some diagnostic is an error. */
  readonly program: Program | null;
  readonly diagnostics: Diagnostic[];
}

/** Compiles one rule text (a `condition`) into a program, or diagnostics. */
export function compileCondition(text: string, options: CompileOptions): CompileResult {
  const locator = options.locator ??
    createShiftedLocator(text, options.file ?? '<condition>', options.line, options.column);
  const place = (raw: readonly RawDiagnostic[]): Diagnostic[] => raw.map((d) => toDiagnostic(d, locator));

  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_RULE_BYTES) {
    return {
      program: null,
      diagnostics: place([{
        code: 'ERR_DSL_RULE_TOO_LONG',
        severity: 'error',
        message: `rule of ${bytes} bytes is over the limit of ${MAX_RULE_BYTES}`,
        start: 0,
        end: 0,
      }]),
    };
  }

  const lexed = tokenize(text, options.dialect);
  if (lexed.diagnostics.length > 0) return { program: null, diagnostics: place(lexed.diagnostics) };

  const parsed = parseTokens(lexed.tokens, options.dialect);
  if (parsed.rule === null) return { program: null, diagnostics: place(parsed.diagnostics) };

  const checked = checkRule(parsed.rule);
  const diagnostics = place(checked.diagnostics);
  if (diagnostics.some((d) => d.severity === 'error')) return { program: null, diagnostics };

  return { program: createProgram(parsed.rule, text, checked.patterns), diagnostics };
}
