/**
 * What the processor knows about its rules at one moment: the rules of the
 * configured files, the API's own rules and overrides, and the rule set
 * built from them. A catalog is immutable; a reload or an API change builds
 * the next one, and is refused as a whole when it cannot be built.
 */

import { createRuleSet } from '../../dsl/rule-set';
import { computeRuleEtag } from './rule-etag';

import type { Diagnostic } from '../../dsl/diagnostics';
import type { CompiledRule } from '../../dsl/rule';
import type { RuleSet } from '../../dsl/rule-set';
import type { ApiRulesState } from './api-rules-file';

/** Where a rule is kept: one of `rules.files`, or the rules API's own file. */
export type RuleSource = 'file' | 'api';

/** One rule of the catalog. */
export interface RuleEntry {
  /** The rule as the active set holds it: `enabled` is the state in effect. */
  readonly rule: CompiledRule;
  readonly source: RuleSource;
  /** The file that holds the rule (`rules.api_file` for API rules). */
  readonly file: string;
  readonly etag: string;
  /** For a file rule, the enabled state an override sets; null when none does. */
  readonly override: boolean | null;
}

/** The rules of one moment and the rule set built from them. */
export interface RuleCatalog {
  readonly ruleSet: RuleSet;
  /** File rules in file order, then API rules in their file's order. */
  readonly entries: readonly RuleEntry[];
  readonly byId: ReadonlyMap<string, RuleEntry>;
  /** The rules of `rules.files` as compiled, before overrides. */
  readonly fileRules: readonly CompiledRule[];
  readonly api: ApiRulesState;
  /** `rules.api_file`, absolute; '' when none is configured. */
  readonly apiFile: string;
}

// Versions grow across every catalog of the process, so a set is never
// mistaken for an older one with the same number.
let nextVersion = 1;

/**
 * Builds a catalog, or reports why it cannot be built: an API rule whose id
 * a rule file holds too. Overrides of rules that no file holds are kept
 * (the file may come back) and reported as warnings.
 */
export function buildRuleCatalog(
  fileRules: readonly CompiledRule[],
  api: ApiRulesState,
  apiFile: string,
): { catalog: RuleCatalog | null; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const entries: RuleEntry[] = [];
  const byId = new Map<string, RuleEntry>();
  for (const rule of fileRules) {
    const override = api.overrides.get(rule.id) ?? null;
    const effective = override === null || override === rule.enabled ? rule : { ...rule, enabled: override };
    const entry: RuleEntry = {
      rule: effective,
      source: 'file',
      file: rule.origin?.file ?? '',
      etag: computeRuleEtag(rule, effective.enabled),
      override,
    };
    entries.push(entry);
    byId.set(rule.id, entry);
  }
  for (const rule of api.rules) {
    const clash = byId.get(rule.id);
    if (clash !== undefined) {
      diagnostics.push(duplicateOf(rule, clash, apiFile));
      continue;
    }
    const entry: RuleEntry = { rule, source: 'api', file: apiFile, etag: computeRuleEtag(rule, rule.enabled), override: null };
    entries.push(entry);
    byId.set(rule.id, entry);
  }
  for (const id of api.overrides.keys()) {
    const entry = byId.get(id);
    if (entry === undefined || entry.source === 'api') diagnostics.push(unusedOverride(id, entry, apiFile));
  }
  if (diagnostics.some((d) => d.severity === 'error')) return { catalog: null, diagnostics };

  const ruleSet = createRuleSet(entries.map((e) => e.rule), nextVersion++);
  return { catalog: { ruleSet, entries, byId, fileRules, api, apiFile }, diagnostics };
}

function duplicateOf(rule: CompiledRule, clash: RuleEntry, apiFile: string): Diagnostic {
  const at = rule.origin;
  const where = clash.rule.origin === undefined
    ? clash.file
    : `${clash.rule.origin.file}:${clash.rule.origin.line}:${clash.rule.origin.column}`;
  return {
    code: 'ERR_DSL_DUPLICATE_ID',
    severity: 'error',
    message: `duplicate id "${rule.id}"`,
    file: at?.file ?? apiFile,
    line: at?.line ?? 1,
    column: at?.column ?? 1,
    hint: `the rule at ${where} has this id; rename one of them`,
  };
}

function unusedOverride(id: string, entry: RuleEntry | undefined, apiFile: string): Diagnostic {
  const message = entry === undefined
    ? `override for rule "${id}", which no rule file holds (kept for when it comes back)`
    : `override for rule "${id}", which this file holds itself (ignored; its enabled field counts)`;
  return { code: 'ERR_ADMIN_OVERRIDE_UNUSED', severity: 'warning', message, file: apiFile, line: 1, column: 1 };
}
