/**
 * Rules as the rules API receives them: JSON objects with the rule-file
 * field names, read and compiled with the rule-file reader, every problem
 * answered as a 400 with diagnostics.
 */

import { compileCondition } from '../../dsl/compile';
import { hasErrors } from '../../dsl/diagnostics';
import { compileRule, parseRuleDefinition } from '../../dsl/rule-file';
import { AdminError, toApiDiagnostic } from '../admin/admin-error';

import type { Diagnostic } from '../../dsl/diagnostics';
import type { CompiledRule, Dialect, Program } from '../../dsl/rule';
import type { ApiDiagnostic } from '../admin/admin-error';

/**
 * Fields that the API adds when it shows a rule. A rule read with GET can
 * be sent back with PUT as it is; these are dropped rather than refused.
 */
export const READ_ONLY_RULE_FIELDS: readonly string[] = ['source', 'file', 'line', 'column', 'etag', 'override'];

/** A compiled rule from a request, with the warnings it compiled with. */
export interface RuleInput {
  readonly rule: CompiledRule;
  readonly warnings: readonly ApiDiagnostic[];
}

/**
 * Reads and compiles a rule body. With `pathId` (PUT), a body without an
 * id takes it, and a body with another id is refused.
 */
export function compileRuleInput(body: unknown, pathId?: string): RuleInput {
  const fields = { ...assertJsonObject(body, 'a rule') };
  for (const key of READ_ONLY_RULE_FIELDS) delete fields[key];
  if (pathId !== undefined) {
    if (fields.id === undefined) fields.id = pathId;
    else if (fields.id !== pathId) {
      throw new AdminError(400, 'ERR_ADMIN_ID_MISMATCH', `the body's id ${JSON.stringify(fields.id)} is not the id "${pathId}" of the path`);
    }
  }
  const read = parseRuleDefinition(fields);
  if (read.definition === null || hasErrors(read.diagnostics)) {
    throw invalidRule(read.diagnostics.map((d) => toApiDiagnostic(d)));
  }
  const compiled = compileRule(read.definition);
  const diagnostics = compiled.diagnostics.map((d) => toApiDiagnostic(d, 'condition'));
  if (compiled.rule === null) throw invalidRule(diagnostics);
  const warnings = [...read.diagnostics.map((d) => toApiDiagnostic(d)), ...diagnostics];
  return { rule: compiled.rule, warnings };
}

/**
 * Compiles a bare condition (`{"condition", "dialect"?}`); the diagnostics
 * sit in the condition's text. Null program when it does not compile.
 */
export function compileConditionInput(condition: unknown, dialect: unknown): { program: Program | null; diagnostics: Diagnostic[] } {
  if (typeof condition !== 'string') {
    throw new AdminError(400, 'ERR_ADMIN_BAD_BODY', 'condition must be the rule text, as a string');
  }
  if (dialect !== undefined && dialect !== 'current' && dialect !== 'legacy') {
    throw new AdminError(400, 'ERR_ADMIN_BAD_BODY', 'dialect must be "current" or "legacy"');
  }
  return compileCondition(condition, { dialect: (dialect ?? 'current') as Dialect, file: '<condition>' });
}

/** The body as a plain object, or a 400 saying what was expected. */
export function assertJsonObject(body: unknown, what: string): Record<string, unknown> {
  if (body === undefined || body === null) {
    throw new AdminError(400, 'ERR_ADMIN_BAD_BODY', `the request needs a JSON body: ${what}`);
  }
  if (typeof body !== 'object' || Array.isArray(body)) {
    throw new AdminError(400, 'ERR_ADMIN_BAD_BODY', `the body must be a JSON object (${what}), not ${Array.isArray(body) ? 'an array' : typeof body}`);
  }
  return body as Record<string, unknown>;
}

/** The 400 for a rule that does not read or compile. */
export function invalidRule(diagnostics: readonly ApiDiagnostic[]): AdminError {
  const errors = diagnostics.filter((d) => d.severity === 'error');
  const first = errors[0];
  const summary = first === undefined ? 'the rule is not valid' : `${first.message} (line ${first.line}, column ${first.column})`;
  const more = errors.length > 1 ? ` and ${errors.length - 1} more` : '';
  return new AdminError(400, 'ERR_ADMIN_INVALID_RULE', `invalid rule: ${summary}${more}`, { diagnostics });
}
