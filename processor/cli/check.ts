/**
 * `betrace check FILE...`: compiles rule files and prints every diagnostic
 * with its source line and caret, then a summary (PRODUCT.md 7). Exit 0 when
 * every rule compiles (warnings allowed), 1 when one does not, 2 for usage
 * errors and files that cannot be read.
 */

import { formatDiagnostic } from '../../dsl/diagnostics';
import { compileRuleFiles } from '../../dsl/rule-file';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, UsageError } from './io';

import type { Diagnostic } from '../../dsl/diagnostics';
import type { CompiledRule } from '../../dsl/rule';
import type { CliIo } from './io';

/** Codes that mean an input could not be read at all (exit 2). */
const UNREADABLE = new Set(['ERR_DSL_FILE_UNREADABLE', 'ERR_DSL_NO_MATCH']);

/** Rule files compiled for a command, with their diagnostics printed. */
export interface LoadedRules {
  readonly rules: CompiledRule[];
  readonly files: number;
  readonly errors: number;
  readonly warnings: number;
  /** Exit code the diagnostics alone call for. */
  readonly exitCode: number;
}

/** Splits `[--flag]... FILE...`; throws UsageError for unknown flags or no files. */
export function parseFileArgs(
  args: readonly string[],
  command: string,
  flags: readonly string[] = [],
): { files: string[]; flags: Set<string> } {
  const files: string[] = [];
  const seen = new Set<string>();
  let onlyFiles = false;
  for (const arg of args) {
    if (!onlyFiles && arg === '--') onlyFiles = true;
    else if (!onlyFiles && arg.startsWith('-') && arg !== '-') {
      if (!flags.includes(arg)) throw new UsageError(`unknown option "${arg}"`);
      seen.add(arg);
    } else files.push(arg);
  }
  if (files.length === 0) throw new UsageError(`${command} needs at least one rule file`);
  return { files, flags: seen };
}

/** Compiles the files and prints each diagnostic to stdout. */
export async function loadAndReport(files: readonly string[], io: CliIo): Promise<LoadedRules> {
  const result = await compileRuleFiles(files, { cwd: io.cwd });
  let out = '';
  for (const d of result.diagnostics) out += `${formatDiagnostic(d, result.sources.get(d.file))}\n\n`;
  io.stdout.write(out);
  const errors = count(result.diagnostics, 'error');
  const unreadable = result.diagnostics.some((d) => UNREADABLE.has(d.code));
  return {
    rules: result.rules,
    files: result.sources.size,
    errors,
    warnings: count(result.diagnostics, 'warning'),
    exitCode: unreadable ? EXIT_USAGE : errors > 0 ? EXIT_FAILED : EXIT_OK,
  };
}

function count(diagnostics: readonly Diagnostic[], severity: Diagnostic['severity']): number {
  return diagnostics.filter((d) => d.severity === severity).length;
}

/** `1 rule`, `2 rules`: a count with its noun, for summary lines. */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** Runs `betrace check`. */
export async function checkCommand(args: string[], io: CliIo): Promise<number> {
  const { files } = parseFileArgs(args, 'check');
  const loaded = await loadAndReport(files, io);
  io.stdout.write(
    `${plural(loaded.rules.length, 'rule')} compiled in ${plural(loaded.files, 'file')}; ` +
    `${plural(loaded.errors, 'error')}, ${plural(loaded.warnings, 'warning')}\n`,
  );
  return loaded.exitCode;
}
