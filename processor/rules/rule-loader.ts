/**
 * Loads the configured rule files and the rules API's own file into a
 * catalog and its rule set. A set is only ever built from files that all
 * compile; otherwise the caller gets the diagnostics and keeps whatever it
 * had.
 */

import path from 'node:path';

import { formatDiagnostic } from '../../dsl/diagnostics';
import { compileRuleFiles } from '../../dsl/rule-file';
import { EMPTY_API_RULES, digestText, readApiRulesFile } from './api-rules-file';
import { buildRuleCatalog } from './rule-catalog';

import type { Diagnostic } from '../../dsl/diagnostics';
import type { RuleSet } from '../../dsl/rule-set';
import type { RulesConfig } from '../../config/types';
import type { ApiRulesState } from './api-rules-file';
import type { RuleCatalog } from './rule-catalog';
import type { ApiRuleStore } from './rule-store';

/** What a load found: the catalog, or the diagnostics that stopped it. */
export interface RuleLoadResult {
  /** Null when any rule failed to compile. */
  readonly ruleSet: RuleSet | null;
  /** The catalog behind `ruleSet`; null exactly when it is. */
  readonly catalog: RuleCatalog | null;
  readonly diagnostics: readonly Diagnostic[];
  /** Every diagnostic formatted with its source line and caret. */
  readonly report: string;
  /** The files that were read (the api file included when it exists). */
  readonly files: readonly string[];
  /** Digest of the api file's text as read ('' when there is no api file). */
  readonly apiFileDigest: string;
}

/** The API's rules as a shared store held them, to load in place of the api file. */
export interface SharedApiRules {
  readonly store: ApiRuleStore;
  readonly state: ApiRulesState;
  /** The store's version of `state`; -1 when the store could not be read yet. */
  readonly version: number;
}

/**
 * Compiles every file of `rules.files` (never `rules.api_file`, even when a
 * pattern matches it), then the api file, into one catalog. With `shared`,
 * the API's rules come from the store instead and the api file is not read.
 */
export async function loadRuleSet(config: RulesConfig, shared?: SharedApiRules): Promise<RuleLoadResult> {
  const apiFile = config.apiFile === '' ? '' : path.resolve(config.apiFile);
  const compiled = await compileRuleFiles([...config.files], apiFile === '' ? undefined : { exclude: [apiFile] });
  const sources = compiled.sources;
  const diagnostics: Diagnostic[] = [...compiled.diagnostics];

  let api = shared?.state ?? EMPTY_API_RULES;
  let apiFileDigest = '';
  let apiReadFailed = false;
  if (apiFile !== '' && shared === undefined) {
    const read = await readApiRulesFile(apiFile);
    diagnostics.push(...read.diagnostics);
    if (read.text !== '') sources.set(apiFile, read.text);
    apiFileDigest = digestText(read.text);
    if (read.state === null) apiReadFailed = true;
    else api = read.state;
  }

  const filesFailed = compiled.diagnostics.some((d) => d.severity === 'error');
  let catalog: RuleCatalog | null = null;
  if (!filesFailed && !apiReadFailed) {
    const built = shared === undefined
      ? buildRuleCatalog(compiled.rules, api, apiFile)
      : buildRuleCatalog(compiled.rules, api, '', { store: shared.store, version: shared.version });
    diagnostics.push(...built.diagnostics);
    catalog = built.catalog;
  }
  return {
    ruleSet: catalog?.ruleSet ?? null,
    catalog,
    diagnostics,
    report: formatReport(diagnostics, sources),
    files: [...sources.keys()],
    apiFileDigest,
  };
}

/** Every diagnostic with its source excerpt, one after the other. */
export function formatReport(diagnostics: readonly Diagnostic[], sources: ReadonlyMap<string, string>): string {
  return diagnostics.map((d) => formatDiagnostic(d, sources.get(d.file))).join('\n');
}
