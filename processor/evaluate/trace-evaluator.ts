/**
 * Evaluates completed traces against the rule set each was captured under
 * and turns verdicts into violation and evidence spans.
 */

import { forEachCandidateRule } from '../../dsl/rule-set';
import { createTraceView } from '../../dsl/trace-model';
import { hasCompliance, toCompliancePairs } from '../emit/compliance-pairs';
import { buildEvidenceSpan, buildViolationSpan } from '../emit/emitted-spans';

import type { RuleSet } from '../../dsl/rule-set';
import type { CompletedTrace } from '../buffer/types';
import type { DetectionTime, EmittedSpan } from '../emit/emitted-spans';
import type { PipelineMetrics } from '../pipeline-metrics';

/**
 * Runs every candidate rule of the trace's rule set once and returns the
 * spans to emit. Rules the span-name index skips are not applicable and are
 * neither run nor counted.
 */
export function evaluateCompletedTrace(
  trace: CompletedTrace<RuleSet>,
  time: DetectionTime,
  metrics: PipelineMetrics,
): EmittedSpan[] {
  const started = process.hrtime.bigint();
  const view = createTraceView(trace.traceId, trace.spans);
  const emitted: EmittedSpan[] = [];
  forEachCandidateRule(trace.context, view, (rule) => {
    const outcome = rule.program.evaluate(view);
    metrics.countOutcome(rule, outcome);
    const withEvidence = hasCompliance(rule) &&
      (rule.dialect === 'legacy' ? outcome === 'violation' : outcome !== 'not_applicable');
    if (outcome !== 'violation' && !withEvidence) return;
    const verdict = rule.program.explain(view);
    if (outcome === 'violation') {
      emitted.push(buildViolationSpan(rule, verdict, view, trace.trigger, time));
      metrics.countersFor(rule).violations.inc();
    }
    if (withEvidence) {
      emitted.push(buildEvidenceSpan(rule, verdict, view, trace.trigger, time));
      const pairs = toCompliancePairs(rule);
      metrics.complianceSpans.inc({
        framework: pairs.frameworks[0],
        control: pairs.controls[0],
        outcome: outcome === 'violation' ? 'fail' : 'pass',
      });
    }
  });
  metrics.evaluationDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
  return emitted;
}
