/**
 * Rules as the rules API shows them: the rule-file field names (so that a
 * rule read with GET can be sent back with PUT), plus where the rule is
 * kept and its ETag, which PUT ignores.
 */

import type { RuleEntry } from '../rules/rule-catalog';

/** One rule in a GET answer. */
export interface RuleView {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly severity: string;
  /** The state in effect, overrides included. */
  readonly enabled: boolean;
  readonly dialect: string;
  readonly condition: string;
  readonly compliance_frameworks: readonly string[];
  readonly compliance: ReadonlyArray<{ readonly framework: string; readonly control: string }>;
  readonly tags: readonly string[];
  readonly example_violation?: unknown;
  readonly example_pass?: unknown;
  /** `file` for rules of `rules.files`, `api` for rules created through the API. */
  readonly source: 'file' | 'api';
  /** The file that holds the rule. */
  readonly file: string;
  /** Where the rule starts in its file (file rules). */
  readonly line?: number;
  readonly column?: number;
  readonly etag: string;
  /** For a file rule whose enabled state the API set: that state (the file says otherwise). */
  readonly override?: { readonly enabled: boolean };
}

/** The view of a catalog entry. */
export function toRuleView(entry: RuleEntry): RuleView {
  const r = entry.rule;
  const view: { -readonly [K in keyof RuleView]: RuleView[K] } = {
    id: r.id,
    name: r.name,
    description: r.description,
    severity: r.severity,
    enabled: r.enabled,
    dialect: r.dialect,
    condition: r.condition,
    compliance_frameworks: r.complianceFrameworks,
    compliance: r.compliance,
    tags: r.tags,
    source: entry.source,
    file: entry.file,
    etag: entry.etag,
  };
  if (r.exampleViolation !== undefined) view.example_violation = r.exampleViolation;
  if (r.examplePass !== undefined) view.example_pass = r.examplePass;
  if (entry.source === 'file' && r.origin !== undefined) {
    view.line = r.origin.line;
    view.column = r.origin.column;
  }
  if (entry.override !== null) view.override = { enabled: entry.override };
  return view;
}
