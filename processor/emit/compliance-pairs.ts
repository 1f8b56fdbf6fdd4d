/** The compliance frameworks and controls a rule declares, as spans carry them. */

import type { CompiledRule } from '../../dsl/rule';

export interface CompliancePairs {
  /** Lower-case framework names (`SOC2` → `soc2`), one per pair. */
  readonly frameworks: readonly string[];
  /** Controls, parallel to frameworks; '' where only a framework was declared. */
  readonly controls: readonly string[];
}

/**
 * `compliance` pairs first, then each `compliance_frameworks` entry that no
 * pair names, with an empty control. Empty arrays when the rule declares none.
 */
export function toCompliancePairs(rule: CompiledRule): CompliancePairs {
  const frameworks: string[] = [];
  const controls: string[] = [];
  for (const pair of rule.compliance) {
    frameworks.push(pair.framework.toLowerCase());
    controls.push(pair.control);
  }
  for (const name of rule.complianceFrameworks) {
    const lower = name.toLowerCase();
    if (!frameworks.includes(lower)) {
      frameworks.push(lower);
      controls.push('');
    }
  }
  return { frameworks, controls };
}

export function hasCompliance(rule: CompiledRule): boolean {
  return rule.compliance.length > 0 || rule.complianceFrameworks.length > 0;
}
