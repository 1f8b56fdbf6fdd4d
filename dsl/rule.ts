/**
 * The shapes shared by the rule compiler, the rule-file loader and the
 * processor: rule definitions as written, compiled programs, and verdicts.
 */

import type { Projection, SpanRecord, TraceView } from './trace-model';

export type Severity = 'CRITICAL' | 'HIGH' | 'MEDIUM' | 'LOW';

/** `current` is the `when { } always { } never { }` form; `legacy` is `trace.has()`. */
export type Dialect = 'current' | 'legacy';

/** Outcome of one rule on one trace (DSL.md 2.3); legacy rules never answer not_applicable. */
export type Outcome = 'not_applicable' | 'pass' | 'violation';

/** Which part of a rule failed (PRODUCT.md 3, `betrace.violation.clause`). */
export type FailedClause = 'always' | 'never' | 'both' | 'condition';

/** A position in a source file; line and column start at 1, columns count characters. */
export interface SourcePosition {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** A `{framework, control}` pair as declared by a rule. */
export interface ComplianceControl {
  readonly framework: string;
  readonly control: string;
}

/** One span of an example trace in the rule-file shape (DSL.md 13). */
export interface ExampleSpan {
  readonly span: string;
  readonly attributes?: Readonly<Record<string, unknown>>;
  readonly resource?: Readonly<Record<string, unknown>>;
  readonly status?: string;
  readonly kind?: string;
  readonly duration?: string;
  readonly duration_ms?: number;
}

export interface ExampleTrace {
  readonly description?: string;
  readonly trace: readonly ExampleSpan[];
}

/** A rule as written in a rule file or sent to the rules API, before compiling. */
export interface RuleDefinition {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly severity: Severity;
  readonly enabled: boolean;
  readonly dialect: Dialect;
  readonly condition: string;
  readonly complianceFrameworks: readonly string[];
  readonly compliance: readonly ComplianceControl[];
  readonly tags: readonly string[];
  readonly exampleViolation?: ExampleTrace;
  readonly examplePass?: ExampleTrace;
  /** Where the rule starts in its file, when it came from one. */
  readonly origin?: SourcePosition;
}

/** What explain() reports for one rule on one trace. */
export interface Verdict {
  readonly outcome: Outcome;
  /** Set when outcome is violation. */
  readonly clause: FailedClause | null;
  /**
   * Spans that made `when` hold (legacy: the condition), distinct, earliest
   * start first; empty when `when` held without naming a present span.
   */
  readonly whenSpans: readonly SpanRecord[];
  /** For a failed `never`: the spans that matched it, earliest first. */
  readonly neverSpans: readonly SpanRecord[];
  /**
   * What failed, readable, without the rule name; empty unless a violation.
   * For example `required "payment.fraud_check" not found`.
   */
  readonly failure: string;
}

/** A compiled rule condition: closures built once, run per trace. */
export interface Program {
  /**
   * Span names one of which a trace must contain for `when` (legacy: the
   * condition) to hold; null when it may hold on any trace. Traces without
   * any of these names need not run the rule: its outcome there is
   * not_applicable (legacy: pass).
   */
  readonly indexNames: readonly string[] | null;
  /** The attributes this program reads. */
  readonly projection: Projection;
  /** The outcome alone; the fast path. */
  evaluate(trace: TraceView): Outcome;
  /** The outcome with the spans and clause behind it. */
  explain(trace: TraceView): Verdict;
}

/** A rule definition with its compiled program. */
export interface CompiledRule extends RuleDefinition {
  readonly program: Program;
}
