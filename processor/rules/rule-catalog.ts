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
import type { ApiRuleStore } from './rule-store';

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
  /** `rules.api_file`, absolute; '' when none is configured or the API's rules live in `apiStore`. */
  readonly apiFile: string;
  /** Where the API's rules live when a fleet shares them; absent: in `apiFile`. */
  readonly apiStore?: ApiRuleStore;
  /** The store's version that `api` was read at or saved as; -1 while it could not be read yet. */
  readonly apiVersion?: number;
}

/** The shared store a catalog's API part comes from, and the version it reflects. */
export interface SharedApiSource {
  readonly store: ApiRuleStore;
  readonly version: number;
}

// Versions grow across every catalog of the process, so a set is never
// mistaken for an older one with the same number.
let nextVersion = 1;

/**
 * Builds a catalog, or reports why it cannot be built: an API rule whose id
 * a rule file holds too. Overrides of rules that no file holds are kept
 * (the file may come back) and reported as warnings. With `shared`, the
 * API part was read from that store, whose location names its rules.
 */
export function buildRuleCatalog(
  fileRules: readonly CompiledRule[],
  api: ApiRulesState,
  apiFile: string,
  shared?: SharedApiSource,
): { catalog: RuleCatalog | null; diagnostics: Diagnostic[] } {
  const apiHome = shared?.store.location ?? apiFile;
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
      diagnostics.push(duplicateOf(rule, clash, apiHome));
      continue;
    }
    const entry: RuleEntry = { rule, source: 'api', file: apiHome, etag: computeRuleEtag(rule, rule.enabled), override: null };
    entries.push(entry);
    byId.set(rule.id, entry);
  }
  for (const id of api.overrides.keys()) {
    const entry = byId.get(id);
    if (entry === undefined || entry.source === 'api') diagnostics.push(unusedOverride(id, entry, apiHome));
  }
  if (diagnostics.some((d) => d.severity === 'error')) return { catalog: null, diagnostics };

  const ruleSet = createRuleSet(entries.map((e) => e.rule), nextVersion++);
  const catalog: RuleCatalog = shared === undefined
    ? { ruleSet, entries, byId, fileRules, api, apiFile }
    : { ruleSet, entries, byId, fileRules, api, apiFile, apiStore: shared.store, apiVersion: shared.version };
  return { catalog, diagnostics };
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
