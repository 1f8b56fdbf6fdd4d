/** Shared builders for the rule-language tests. */

import assert from 'node:assert/strict';

import { compileCondition } from '../../dsl/compile';
import { toTraceView } from '../../dsl/example-trace';

import type { Diagnostic } from '../../dsl/diagnostics';
import type { Dialect, ExampleSpan, Outcome, Program } from '../../dsl/rule';
import type { TraceView } from '../../dsl/trace-model';

/** Compiles a rule that must compile. */
export function compile(text: string, dialect: Dialect = 'current'): Program {
  const result = compileCondition(text, { dialect });
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  assert.deepEqual(errors.map((d) => `${d.code}: ${d.message}`), [], `expected ${JSON.stringify(text)} to compile`);
  assert.ok(result.program !== null);
  return result.program;
}

/** Compiles a rule that must be rejected; returns its error diagnostics. */
export function reject(text: string, dialect: Dialect = 'current'): Diagnostic[] {
  const result = compileCondition(text, { dialect });
  assert.equal(result.program, null, `expected ${JSON.stringify(text)} to be rejected`);
  const errors = result.diagnostics.filter((d) => d.severity === 'error');
  assert.ok(errors.length > 0);
  return errors;
}

/** The code of the first error of a rejected rule. */
export function rejectCode(text: string, dialect: Dialect = 'current'): string {
  return reject(text, dialect)[0].code;
}

/** Warnings of a rule that compiles. */
export function warnings(text: string): Diagnostic[] {
  const result = compileCondition(text, { dialect: 'current' });
  assert.ok(result.program !== null, `expected ${JSON.stringify(text)} to compile`);
  return result.diagnostics.filter((d) => d.severity === 'warning');
}

/** One example span. */
export function span(name: string, attributes?: Record<string, unknown>, extra: Partial<ExampleSpan> = {}): ExampleSpan {
  return attributes === undefined ? { span: name, ...extra } : { span: name, attributes, ...extra };
}

/** A trace view from example spans. */
export function trace(...spans: ExampleSpan[]): TraceView {
  return toTraceView({ trace: spans });
}

/** The outcome of a rule text on a trace. */
export function outcomeOf(text: string, ...spans: ExampleSpan[]): Outcome {
  return compile(text).evaluate(trace(...spans));
}

/**
 * Whether a filter holds on one span named `s` with these attributes: the
 * rule `when { s.where(FILTER) } always { never_present }` violates exactly
 * when the filter holds.
 */
export function holds(filter: string, attributes?: Record<string, unknown>, extra: Partial<ExampleSpan> = {}): boolean {
  const program = compile(`when { s.where(${filter}) } always { never_present }`);
  const outcome = program.evaluate(trace(span('s', attributes, extra)));
  assert.equal(program.explain(trace(span('s', attributes, extra))).outcome, outcome);
  return outcome === 'violation';
}
