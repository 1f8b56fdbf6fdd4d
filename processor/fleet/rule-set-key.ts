/**
 * Names for rule sets that every instance of a fleet computes alike: a
 * digest of what the rules say (their ETags, which cover the enabled state)
 * rather than the process-local version number, so that a trace stored by
 * one instance names a rule set that another instance recognises.
 */

import { createHash } from 'node:crypto';

import { computeRuleEtag } from '../rules/rule-etag';

import type { CompiledRule } from '../../dsl/rule';
import type { RuleSet } from '../../dsl/rule-set';

/** Hex characters kept of a digest: 64 bits tell a few rule sets apart. */
const KEY_LENGTH = 16;

const keys = new WeakMap<RuleSet, string>();

/** The fleet-wide name of a rule set, computed once per set. */
export function toRuleSetKey(set: RuleSet): string {
  let key = keys.get(set);
  if (key === undefined) {
    key = digestRules(set.rules);
    keys.set(set, key);
  }
  return key;
}

/**
 * The digest of the rules of `rules.files` as their files say them, before
 * overrides: instances of one fleet must agree on it.
 */
export function toFileRulesDigest(fileRules: readonly CompiledRule[]): string {
  return digestRules(fileRules);
}

function digestRules(rules: readonly CompiledRule[]): string {
  // Sorted, so that the order files are read in does not matter.
  const tags = rules.map((rule) => `${rule.id}\u0000${computeRuleEtag(rule, rule.enabled)}`).sort();
  const hash = createHash('sha256');
  for (const tag of tags) hash.update(tag).update('\n');
  return hash.digest('hex').slice(0, KEY_LENGTH);
}
