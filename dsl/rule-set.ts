/**
 * A loaded set of compiled rules with an index by span name, so that a trace
 * runs only the rules that can apply to it (PRODUCT.md 1.5): those indexed
 * under a name the trace holds, plus those that may hold on any trace.
 */

import { mergeProjections } from './trace-model';

import type { CompiledRule } from './rule';
import type { Projection, TraceView } from './trace-model';

/** An immutable rule set; a reload builds a new one. */
export interface RuleSet {
  /** Increases with every reload (0 unless given). */
  readonly version: number;
  /** Every rule, enabled or not, in file order. */
  readonly rules: readonly CompiledRule[];
  /** The enabled rules in file order. */
  readonly enabled: readonly CompiledRule[];
  /** What the enabled rules read, for the decoders. */
  readonly projection: Projection;
  /** Every rule by id. */
  readonly byId: ReadonlyMap<string, CompiledRule>;
  /** Enabled rules whose program has no index names: they run on every trace. */
  readonly unindexed: readonly CompiledRule[];
}

interface RuleIndex {
  /** Positions in `enabled` of the rules indexed under each name, ascending. */
  readonly byName: ReadonlyMap<string, Int32Array>;
  /** 1 at the fingerprint of every indexed name (see fingerprintOf). */
  readonly fingerprints: Uint8Array;
  /** Positions of the unindexed rules, ascending. */
  readonly unindexed: Int32Array;
  /** Per enabled rule, the stamp of the last call that picked it. */
  readonly stamps: Uint32Array;
  stamp: number;
  readonly scratch: Int32Array;
  busy: boolean;
}

// Kept off the public shape so that the set stays a plain, readable object.
const INDEXES = new WeakMap<RuleSet, RuleIndex>();

const FINGERPRINT_SIZE = 1 << 14;

/**
 * A cheap hash of a name from its length and three characters. Most names of
 * a trace belong to no rule; this lets them skip the map lookup, which costs
 * several times more.
 */
function fingerprintOf(name: string): number {
  const n = name.length;
  if (n === 0) return 0;
  const h = (n * 0x9e3779b1) ^ (name.charCodeAt(0) << 7) ^ (name.charCodeAt(n - 1) << 14) ^
    (name.charCodeAt(n >> 1) * 0x85eb);
  return (h ^ (h >>> 15)) & (FINGERPRINT_SIZE - 1);
}

/** Builds a rule set and its span-name index. */
export function createRuleSet(rules: readonly CompiledRule[], version = 0): RuleSet {
  const enabled = rules.filter((r) => r.enabled);
  const byName = new Map<string, number[]>();
  const unindexed: number[] = [];
  enabled.forEach((rule, i) => {
    const names = rule.program.indexNames;
    if (names === null) {
      unindexed.push(i);
      return;
    }
    for (const name of new Set(names)) {
      const list = byName.get(name);
      if (list === undefined) byName.set(name, [i]);
      else list.push(i);
    }
  });
  const set: RuleSet = {
    version,
    rules: [...rules],
    enabled,
    projection: mergeProjections(enabled.map((r) => r.program.projection)),
    byId: new Map(rules.map((r) => [r.id, r])),
    unindexed: unindexed.map((i) => enabled[i]),
  };
  const fingerprints = new Uint8Array(FINGERPRINT_SIZE);
  for (const name of byName.keys()) fingerprints[fingerprintOf(name)] = 1;
  INDEXES.set(set, {
    byName: new Map([...byName].map(([name, list]) => [name, Int32Array.from(list)])),
    fingerprints,
    unindexed: Int32Array.from(unindexed),
    stamps: new Uint32Array(enabled.length),
    stamp: 0,
    scratch: new Int32Array(enabled.length),
    busy: false,
  });
  return set;
}

/**
 * Visits each enabled rule that can apply to the trace, once, in file order.
 * The work grows with the span names the trace holds and the rules indexed
 * under them, not with the rules whose names are absent. Rules not visited
 * are not_applicable on this trace (legacy rules: pass).
 */
export function forEachCandidateRule(
  set: RuleSet,
  view: TraceView,
  visit: (rule: CompiledRule) => void,
): void {
  const index = INDEXES.get(set);
  if (index === undefined) {
    for (const rule of set.enabled) visit(rule);
    return;
  }
  const enabled = set.enabled;
  if (index.byName.size === 0) {
    const all = index.unindexed;
    for (let i = 0, n = all.length; i < n; i++) visit(enabled[all[i]]);
    return;
  }
  // A visit that reaches back into this set must not clobber the scratch list.
  const nested = index.busy;
  const scratch = nested ? new Int32Array(enabled.length) : index.scratch;
  const indexed = scratch.subarray(0, gatherIndexed(index, view, scratch)).sort();
  if (nested) {
    visitMerged(enabled, indexed, index.unindexed, visit);
    return;
  }
  index.busy = true;
  try {
    visitMerged(enabled, indexed, index.unindexed, visit);
  } finally {
    index.busy = false;
  }
}

function gatherIndexed(index: RuleIndex, view: TraceView, out: Int32Array): number {
  if (++index.stamp === 0xffffffff) {
    index.stamps.fill(0);
    index.stamp = 1;
  }
  const stamp = index.stamp;
  const stamps = index.stamps;
  let count = 0;
  const add = (list: Int32Array): void => {
    for (let i = 0, n = list.length; i < n; i++) {
      const r = list[i];
      if (stamps[r] !== stamp) {
        stamps[r] = stamp;
        out[count++] = r;
      }
    }
  };
  // Walk whichever side is smaller; both are bounded by the trace's names.
  // Keys only: an entry iterator would allocate a pair per name.
  const present = view.byName;
  if (present.size <= index.byName.size) {
    const fingerprints = index.fingerprints;
    for (const name of present.keys()) {
      if (fingerprints[fingerprintOf(name)] === 0) continue;
      const list = index.byName.get(name);
      if (list !== undefined && present.get(name)!.length > 0) add(list);
    }
  } else {
    for (const name of index.byName.keys()) {
      const spans = present.get(name);
      if (spans !== undefined && spans.length > 0) add(index.byName.get(name)!);
    }
  }
  return count;
}

function visitMerged(
  enabled: readonly CompiledRule[],
  indexed: Int32Array,
  unindexed: Int32Array,
  visit: (rule: CompiledRule) => void,
): void {
  let a = 0;
  let b = 0;
  while (a < indexed.length || b < unindexed.length) {
    const takeIndexed = b >= unindexed.length || (a < indexed.length && indexed[a] < unindexed[b]);
    visit(enabled[takeIndexed ? indexed[a++] : unindexed[b++]]);
  }
}
