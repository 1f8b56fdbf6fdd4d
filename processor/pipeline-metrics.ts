/**
 * The pipeline's own Prometheus metrics: buffer, completion, evaluation,
 * violations, compliance and rules. Receivers and the exporter declare
 * theirs beside their code. Label values are bounded: rule IDs, severities,
 * triggers, outcomes, never a trace ID.
 */

import { Counter, Gauge, Histogram } from 'prom-client';

import type { Registry } from 'prom-client';
import type { CompiledRule, Outcome } from '../dsl/rule';
import type { BufferStats, CompletionTrigger } from './buffer/types';

/** Counters of one rule, resolved once per rule set rather than per trace. */
export interface RuleCounters {
  readonly pass: Counter.Internal;
  readonly violation: Counter.Internal;
  readonly notApplicable: Counter.Internal;
  readonly violations: Counter.Internal;
}

export interface PipelineMetrics {
  readonly tracesCompleted: Counter<'trigger'>;
  readonly tracesEvicted: Counter<'action'>;
  readonly lateSpans: Counter<string>;
  readonly duplicateSpans: Counter<string>;
  readonly evaluationDuration: Histogram<string>;
  readonly complianceSpans: Counter<'framework' | 'control' | 'outcome'>;
  readonly rulesLoaded: Gauge<string>;
  readonly ruleReloads: Counter<'result'>;
  /** The counters of a rule, created on first use. */
  countersFor(rule: CompiledRule): RuleCounters;
  /** Counts one outcome of one rule. */
  countOutcome(rule: CompiledRule, outcome: Outcome): void;
}

/** Registers the pipeline metrics; `stats` is read at scrape time for the gauges. */
export function createPipelineMetrics(
  registry: Registry,
  stats: () => BufferStats,
  version: string,
): PipelineMetrics {
  const registers = [registry];
  new Gauge({
    name: 'betrace_build_info',
    help: 'Always 1; the version label names the running build',
    labelNames: ['version'],
    registers,
  }).set({ version }, 1);
  new Gauge({
    name: 'betrace_traces_buffered',
    help: 'Traces waiting in the buffer for completion',
    registers,
    collect() {
      this.set(stats().traces);
    },
  });
  new Gauge({
    name: 'betrace_spans_buffered',
    help: 'Spans of the traces waiting in the buffer',
    registers,
    collect() {
      this.set(stats().spans);
    },
  });
  new Gauge({
    name: 'betrace_span_records_buffered',
    help: 'Span records the buffer keeps: the spans rules read, plus a root and an earliest span per trace',
    registers,
    collect() {
      this.set(stats().records);
    },
  });
  new Gauge({
    name: 'betrace_buffer_bytes',
    help: 'Estimated bytes of the kept span records (compared with buffer.max_bytes_mib)',
    registers,
    collect() {
      this.set(stats().bytes);
    },
  });
  const tracesCompleted = new Counter({
    name: 'betrace_traces_completed_total',
    help: 'Traces completed, by what completed them',
    labelNames: ['trigger'] as const,
    registers,
  });
  for (const trigger of ['idle', 'root', 'max_age', 'span_cap', 'evicted', 'shutdown'] as CompletionTrigger[]) {
    tracesCompleted.labels(trigger).inc(0);
  }
  const tracesEvicted = new Counter({
    name: 'betrace_traces_evicted_total',
    help: 'Traces evicted under count or memory pressure, by on_evict action',
    labelNames: ['action'] as const,
    registers,
  });
  // Series exist from the start, so rate() and alerts see a zero, not a gap.
  tracesEvicted.labels('evaluate').inc(0);
  tracesEvicted.labels('drop').inc(0);
  const lateSpans = new Counter({
    name: 'betrace_late_spans_total',
    help: 'Spans whose trace was already evaluated: forwarded, never evaluated',
    registers,
  });
  const duplicateSpans = new Counter({
    name: 'betrace_duplicate_spans_total',
    help: 'Spans whose span ID was already buffered in their trace: forwarded, counted once',
    registers,
  });
  const ruleEvaluations = new Counter({
    name: 'betrace_rule_evaluations_total',
    help: 'Rule evaluations by rule and outcome (rules the span-name index skips are not counted)',
    labelNames: ['rule_id', 'outcome'] as const,
    registers,
  });
  const violationsTotal = new Counter({
    name: 'betrace_violations_total',
    help: 'Violation spans emitted, by rule and severity',
    labelNames: ['rule_id', 'severity'] as const,
    registers,
  });
  const evaluationDuration = new Histogram({
    name: 'betrace_evaluation_duration_seconds',
    help: 'Time to evaluate one completed trace against its rule set',
    buckets: [0.00001, 0.00005, 0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5],
    registers,
  });
  const complianceSpans = new Counter({
    name: 'betrace_compliance_spans_total',
    help: 'Compliance evidence spans emitted, by framework, control and outcome',
    labelNames: ['framework', 'control', 'outcome'] as const,
    registers,
  });
  const rulesLoaded = new Gauge({
    name: 'betrace_rules_loaded',
    help: 'Rules in the active rule set (enabled and disabled)',
    registers,
  });
  const ruleReloads = new Counter({
    name: 'betrace_rule_reloads_total',
    help: 'Rule set loads and reloads, by result',
    labelNames: ['result'] as const,
    registers,
  });
  ruleReloads.labels('success').inc(0);
  ruleReloads.labels('error').inc(0);

  const perRule = new WeakMap<CompiledRule, RuleCounters>();
  function countersFor(rule: CompiledRule): RuleCounters {
    let counters = perRule.get(rule);
    if (counters === undefined) {
      counters = {
        pass: ruleEvaluations.labels(rule.id, 'pass'),
        violation: ruleEvaluations.labels(rule.id, 'violation'),
        notApplicable: ruleEvaluations.labels(rule.id, 'not_applicable'),
        violations: violationsTotal.labels(rule.id, rule.severity),
      };
      counters.violations.inc(0);
      perRule.set(rule, counters);
    }
    return counters;
  }
  return {
    tracesCompleted,
    tracesEvicted,
    lateSpans,
    duplicateSpans,
    evaluationDuration,
    complianceSpans,
    rulesLoaded,
    ruleReloads,
    countersFor,
    countOutcome(rule, outcome) {
      const c = countersFor(rule);
      if (outcome === 'violation') c.violation.inc();
      else if (outcome === 'pass') c.pass.inc();
      else c.notApplicable.inc();
    },
  };
}
