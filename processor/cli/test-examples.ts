/**
 * `betrace test [--verbose] FILE...`: runs every rule's `example_violation`
 * (it must violate) and `example_pass` (it must not), prints
 * `FAIL <rule-id>: <what happened>` for each rule that misbehaves, then a
 * summary (PRODUCT.md 7). A rule without examples is not a failure. Exit 1
 * when a rule fails or does not compile, 2 for usage errors and unreadable
 * files.
 */

import { BetraceError } from '../errors';
import { toTraceView } from '../../dsl/example-trace';
import { loadAndReport, parseFileArgs, plural } from './check';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE } from './io';

import type { CompiledRule, ExampleTrace, Verdict } from '../../dsl/rule';
import type { CliIo } from './io';

interface ExampleResult {
  readonly ok: boolean;
  readonly text: string;
}

/** Runs `betrace test`. */
export async function testCommand(args: string[], io: CliIo): Promise<number> {
  const { files, flags } = parseFileArgs(args, 'test', ['--verbose', '-v']);
  const verbose = flags.has('--verbose') || flags.has('-v');
  const loaded = await loadAndReport(files, io);
  let passed = 0;
  let failed = 0;
  let untested = 0;
  let out = '';
  for (const rule of loaded.rules) {
    const results = testRule(rule);
    if (results.length === 0) {
      untested++;
      if (verbose) out += `SKIP ${rule.id}: no examples\n`;
      continue;
    }
    const failures = results.filter((r) => !r.ok);
    if (failures.length > 0) {
      failed++;
      out += `FAIL ${rule.id}: ${failures.map((r) => r.text).join('; ')}\n`;
    } else {
      passed++;
      if (verbose) out += `ok   ${rule.id}: ${results.map((r) => r.text).join('; ')}\n`;
    }
  }
  const broken = loaded.errors > 0 ? `, ${plural(loaded.errors, 'error')} in rule files` : '';
  out += `${plural(passed + failed + untested, 'rule')}: ${passed} passed, ${failed} failed, ` +
    `${untested} without examples${broken}\n`;
  io.stdout.write(out);
  if (loaded.exitCode === EXIT_USAGE) return EXIT_USAGE;
  return failed > 0 || loaded.errors > 0 ? EXIT_FAILED : EXIT_OK;
}

/** The results of a rule's examples (none when it has none). */
function testRule(rule: CompiledRule): ExampleResult[] {
  const results: ExampleResult[] = [];
  if (rule.exampleViolation !== undefined) {
    results.push(runExample(rule, rule.exampleViolation, 'example_violation', (v) =>
      v.outcome === 'violation'
        ? { ok: true, text: `example_violation violated (${v.failure})` }
        : { ok: false, text: `example_violation did not violate (outcome: ${v.outcome})` }));
  }
  if (rule.examplePass !== undefined) {
    results.push(runExample(rule, rule.examplePass, 'example_pass', (v) =>
      v.outcome !== 'violation'
        ? { ok: true, text: `example_pass did not violate (outcome: ${v.outcome})` }
        : { ok: false, text: `example_pass violated: ${v.failure}` }));
  }
  return results;
}

function runExample(
  rule: CompiledRule,
  example: ExampleTrace,
  field: string,
  judge: (verdict: Verdict) => ExampleResult,
): ExampleResult {
  try {
    return judge(rule.program.explain(toTraceView(example)));
  } catch (err) {
    if (err instanceof BetraceError) return { ok: false, text: `${field} cannot run: ${err.message}` };
    throw err;
  }
}
