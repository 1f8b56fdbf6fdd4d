/**
 * Rule compile time and evaluation cost per trace, for 10 / 100 / 1000 rules
 * on traces of 10 / 100 / 1000 spans, against a baseline loop that only
 * visits each span once. Most rules name spans that the traces do not hold,
 * so the span-name index should keep 1000 rules close to 10.
 * Run: node dist/benchmarks/dsl-eval.js
 */

import { compileCondition } from '../dsl/compile';
import { createRuleSet, forEachCandidateRule } from '../dsl/rule-set';
import { createTraceView, lookupAttr } from '../dsl/trace-model';

import type { CompiledRule } from '../dsl/rule';
import type { RuleSet } from '../dsl/rule-set';
import type { SpanRecord, TraceView } from '../dsl/trace-model';

const RULE_COUNTS = [10, 100, 1000];
const SPAN_COUNTS = [10, 100, 1000];
/** Rules whose span names occur in every trace. */
const PRESENT_RULES = 5;
const TRACES_PER_SIZE = 20;

// Four shapes of rule, so that evaluation is not one monomorphic closure.
function ruleText(i: number): string {
  switch (i % 4) {
    case 0:
      return `when { svc${i}.op.where(amount > 100) } always { svc${i}.audit }`;
    case 1:
      return `when { svc${i}.op } never { svc${i}.op.where(status matches "^5\\d\\d$" or retries >= 3) }`;
    case 2:
      return `when { svc${i}.op.where(tier in [gold, platinum]) } always { svc${i}.audit.where(actor != "") }`;
    default:
      return `when { svc${i}.op and not svc${i}.skip } never { count(svc${i}.op) > 3 }`;
  }
}

function compileRules(n: number): CompiledRule[] {
  return Array.from({ length: n }, (_, i) => {
    const { program } = compileCondition(ruleText(i), { dialect: 'current' });
    if (program === null) throw new Error(`benchmark rule ${i} does not compile`);
    return {
      id: `rule-${i}`, name: `rule ${i}`, description: '', severity: 'MEDIUM', enabled: true,
      dialect: 'current', condition: ruleText(i), complianceFrameworks: [], compliance: [], tags: [], program,
    } as CompiledRule;
  });
}

/** A trace of `size` spans: the present rules' spans first, filler after. */
function makeTrace(size: number, seed: number): TraceView {
  const spans: SpanRecord[] = [];
  const resource = { attrs: ['service.name', 'bench'], raw: null };
  for (let i = 0; i < size; i++) {
    const rule = i % (PRESENT_RULES * 2);
    const name = i < PRESENT_RULES * 2 * 2
      ? `svc${rule >> 1}.${rule % 2 === 0 ? 'op' : 'audit'}`
      : `app.step${i % 50}`;
    spans.push({
      spanId: (seed * 100000 + i + 1).toString(16).padStart(16, '0'),
      name,
      isRoot: i === 0,
      startNs: 1e18 + i * 1000,
      durationNs: 1000 + ((i * 7919 + seed) % 5000),
      status: i % 13 === 0 ? 2 : 0,
      kind: 1,
      attrs: [
        'amount', String((i * 37 + seed) % 400), 'status', String(200 + ((i + seed) % 4) * 100),
        'retries', String(i % 4), 'tier', i % 3 === 0 ? 'gold' : 'silver', 'actor', `u${i}`,
      ],
      resource,
    });
  }
  return createTraceView(`${seed.toString(16).padStart(32, '0')}`, spans);
}

/**
 * Nanoseconds per trace of each function, per round: each round runs every
 * function over the traces for about `sliceMs`, in an order that alternates.
 */
function measureRounds(
  traces: readonly TraceView[],
  fns: readonly ((t: TraceView) => number)[],
  rounds: number,
  sliceMs: number,
): number[][] {
  let sink = 0;
  const timeOne = (fn: (t: TraceView) => number): number => {
    let calls = 0;
    const t0 = process.hrtime.bigint();
    const until = performance.now() + sliceMs;
    do {
      for (let k = 0; k < traces.length; k++) sink += fn(traces[k]);
      calls += traces.length;
    } while (performance.now() < until);
    return Number(process.hrtime.bigint() - t0) / calls;
  };
  for (const fn of fns) timeOne(fn);
  const out: number[][] = [];
  for (let r = 0; r < rounds; r++) {
    const order = fns.map((_, i) => i);
    if (r % 2 === 1) order.reverse();
    const row: number[] = new Array(fns.length);
    for (const i of order) row[i] = timeOne(fns[i]);
    out.push(row);
  }
  if (sink === -1) console.log(sink);
  return out;
}

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[sorted.length >> 1];
}

/** Nanoseconds per call of fn over the traces, median of timed rounds. */
function nsPerTrace(traces: readonly TraceView[], fn: (t: TraceView) => number, budgetMs: number): number {
  const rounds = measureRounds(traces, [fn], Math.max(5, Math.round(budgetMs / 40)), 40);
  return median(rounds.map((r) => r[0]));
}

function evaluateAll(set: RuleSet): (t: TraceView) => number {
  return (view) => {
    let violations = 0;
    forEachCandidateRule(set, view, (rule) => {
      if (rule.program.evaluate(view) === 'violation') violations++;
    });
    return violations;
  };
}

// The baseline: visit each span once, reading its name and one attribute.
function visitSpans(view: TraceView): number {
  let n = 0;
  const spans = view.spans;
  for (let i = 0, len = spans.length; i < len; i++) {
    if (spans[i].name.length > 0 && lookupAttr(spans[i].attrs, 'amount') !== undefined) n++;
  }
  return n;
}

function main(): void {
  // The first pass includes the JIT warming up; the third is the steady cost.
  const passes: number[] = [];
  let allRules: CompiledRule[] = [];
  for (let pass = 0; pass < 3; pass++) {
    const start = process.hrtime.bigint();
    allRules = compileRules(1000);
    passes.push(Number(process.hrtime.bigint() - start) / 1000 / 1000);
  }
  const compileUsPerRuleCold = passes[0];
  const compileUsPerRule = passes[2];

  const sets = new Map(RULE_COUNTS.map((n) => [n, createRuleSet(allRules.slice(0, n))]));
  const results: Record<string, number> = {};
  const ratios: Record<string, number> = {};
  console.log('spans  rules  ns/trace  baseline ns  over baseline');
  for (const size of SPAN_COUNTS) {
    const traces = Array.from({ length: TRACES_PER_SIZE }, (_, s) => makeTrace(size, s + 1));
    const fns = [visitSpans, ...RULE_COUNTS.map((n) => evaluateAll(sets.get(n)!))];
    // Rounds measure every variant back to back, so drift on a shared
    // machine hits all of them alike; ratios are taken within a round.
    const rounds = measureRounds(traces, fns, 15, 40);
    const medians = rounds[0].map((_, i) => median(rounds.map((r) => r[i])));
    results[`baseline_ns_${size}_spans`] = Math.round(medians[0]);
    RULE_COUNTS.forEach((n, i) => {
      const ns = medians[i + 1];
      results[`eval_ns_${n}_rules_${size}_spans`] = Math.round(ns);
      console.log(`${String(size).padStart(5)} ${String(n).padStart(6)} ${ns.toFixed(0).padStart(9)} ` +
        `${medians[0].toFixed(0).padStart(12)} ${(ns / medians[0]).toFixed(2).padStart(14)}`);
    });
    const first = 1;
    const last = RULE_COUNTS.length;
    ratios[`eval_ratio_1000_10_${size}_spans`] = round(median(rounds.map((r) => r[last] / r[first])));
  }

  // For scale: the same 1000 rules run one by one without the index.
  const traces100 = Array.from({ length: TRACES_PER_SIZE }, (_, s) => makeTrace(100, s + 1));
  const unindexed = nsPerTrace(traces100, (view) => {
    let v = 0;
    for (const rule of allRules) if (rule.program.evaluate(view) === 'violation') v++;
    return v;
  }, 300);
  console.log(`without the index, 1000 rules on 100 spans: ${unindexed.toFixed(0)} ns/trace`);

  const worst = Math.max(...Object.values(ratios));
  console.log(`compile: ${compileUsPerRule.toFixed(1)} us per rule (first pass ${compileUsPerRuleCold.toFixed(1)} us)`);
  console.log(`BENCH_JSON ${JSON.stringify({
    eval_ratio_1000_10: worst,
    ...ratios,
    compile_us_per_rule: round(compileUsPerRule),
    compile_us_per_rule_first_pass: round(compileUsPerRuleCold),
    unindexed_1000_rules_100_spans_ns: Math.round(unindexed),
    ...results,
  })}`);
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}

main();
