/**
 * `betrace eval --rules FILE [--all] TRACES...`: evaluates OTLP/JSON trace
 * files offline and prints one JSON object per line (PRODUCT.md 7). A file
 * holds one ExportTraceServiceRequest, or one per line as the Collector's
 * file exporter writes them.
 */

import fs from 'node:fs';
import path from 'node:path';

import { formatDiagnostic } from '../../dsl/diagnostics';
import { compileRuleFiles } from '../../dsl/rule-file';
import { createRuleSet, forEachCandidateRule } from '../../dsl/rule-set';
import { createTraceView } from '../../dsl/trace-model';
import { decodeTraceRequest } from '../../proto/decode-request';
import { otlpJsonToProtobuf } from '../../proto/otlp-json';
import { BetraceError } from '../errors';
import { EXIT_OK, EXIT_USAGE, UsageError } from './io';

import type { CompiledRule, Outcome } from '../../dsl/rule';
import type { RuleSet } from '../../dsl/rule-set';
import type { SpanRecord } from '../../dsl/trace-model';
import type { CliIo } from './io';

interface EvalArgs {
  readonly ruleFiles: string[];
  readonly all: boolean;
  readonly traceFiles: string[];
}

function parseArgs(args: string[]): EvalArgs {
  const ruleFiles: string[] = [];
  const traceFiles: string[] = [];
  let all = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === '--rules') {
      const value = args[++i];
      if (value === undefined) throw new UsageError('--rules needs a file');
      ruleFiles.push(value);
    } else if (arg.startsWith('--rules=')) {
      ruleFiles.push(arg.slice('--rules='.length));
    } else if (arg === '--all') {
      all = true;
    } else if (arg.startsWith('-') && arg !== '-') {
      throw new UsageError(`unknown option "${arg}"`);
    } else {
      traceFiles.push(arg);
    }
  }
  if (ruleFiles.length === 0) throw new UsageError('--rules FILE is required');
  if (traceFiles.length === 0) throw new UsageError('no trace files given');
  return { ruleFiles, all, traceFiles };
}

/** A malformed trace file: the message names the file and the position. */
class TraceFileError extends Error {}

/**
 * Splits a file into OTLP/JSON requests: the whole text when it is one JSON
 * document, else one per non-empty line. Yields each with its first line.
 */
function* requestsOf(text: string): Generator<{ json: string; line: number }> {
  const lines = text.split('\n');
  const filled = lines.filter((l) => l.trim() !== '');
  if (filled.length > 1 && looksComplete(filled[0])) {
    for (let i = 0; i < lines.length; i++) {
      if (lines[i].trim() !== '') yield { json: lines[i], line: i + 1 };
    }
    return;
  }
  yield { json: text, line: 1 };
}

/** True when the line holds a whole JSON object (the file exporter's one-request-per-line shape). */
function looksComplete(line: string): boolean {
  const t = line.trim();
  if (!t.startsWith('{') || !t.endsWith('}')) return false;
  try {
    JSON.parse(t);
    return true;
  } catch {
    return false;
  }
}

/** Shifts a "line L, column C" position in an error message by the request's first line. */
function locate(file: string, err: unknown, firstLine: number): string {
  const message = err instanceof Error ? err.message : String(err);
  if (firstLine === 1) return `${file}: ${message}`;
  return `${file}:${firstLine}: ${message}`;
}

interface TraceGroup {
  readonly traceId: string;
  readonly spans: SpanRecord[];
}

function readTraces(files: readonly string[], set: RuleSet, io: CliIo): TraceGroup[] {
  const groups = new Map<string, TraceGroup>();
  let rejected = 0;
  for (const file of files) {
    const full = path.resolve(io.cwd, file);
    let text: string;
    try {
      text = fs.readFileSync(full, 'utf8');
    } catch (err) {
      throw new TraceFileError(`${file}: cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
    for (const { json, line } of requestsOf(text)) {
      let batch;
      try {
        batch = decodeTraceRequest(otlpJsonToProtobuf(json), set.projection);
      } catch (err) {
        if (err instanceof BetraceError) throw new TraceFileError(locate(file, err, line));
        throw err;
      }
      rejected += batch.rejected;
      if (batch.rejected > 0) io.stderr.write(`${file}:${line}: ${batch.rejected} span(s) skipped: ${batch.rejectMessage}\n`);
      for (let i = 0; i < batch.spans.length; i++) {
        const traceId = batch.traceIds[i];
        let group = groups.get(traceId);
        if (group === undefined) {
          group = { traceId, spans: [] };
          groups.set(traceId, group);
        }
        group.spans.push(batch.spans[i]);
      }
    }
  }
  if (rejected > 0) io.stderr.write(`${rejected} span(s) skipped in all\n`);
  return [...groups.values()];
}

function skippedOutcome(rule: CompiledRule): Outcome {
  // A legacy rule answers violation or pass; one the index skips has a false condition.
  return rule.dialect === 'legacy' ? 'pass' : 'not_applicable';
}

export async function evalCommand(args: string[], io: CliIo): Promise<number> {
  const options = parseArgs(args);
  const compiled = await compileRuleFiles(options.ruleFiles.map((f) => path.resolve(io.cwd, f)));
  const errors = compiled.diagnostics.filter((d) => d.severity === 'error');
  for (const d of compiled.diagnostics) io.stderr.write(`${formatDiagnostic(d, compiled.sources.get(d.file))}\n`);
  if (errors.length > 0) {
    io.stderr.write(`betrace eval: ${errors.length} error(s); no trace evaluated\n`);
    return EXIT_USAGE;
  }
  const set = createRuleSet(compiled.rules);
  let traces: TraceGroup[];
  try {
    traces = readTraces(options.traceFiles, set, io);
  } catch (err) {
    if (err instanceof TraceFileError) {
      io.stderr.write(`betrace eval: ${err.message}\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
  const progress = io.stderr.isTTY === true && traces.length >= 1000;
  const candidates = new Set<CompiledRule>();
  let out = '';
  for (let t = 0; t < traces.length; t++) {
    const view = createTraceView(traces[t].traceId, traces[t].spans);
    candidates.clear();
    forEachCandidateRule(set, view, (rule) => candidates.add(rule));
    for (const rule of set.enabled) {
      const outcome = candidates.has(rule) ? rule.program.evaluate(view) : skippedOutcome(rule);
      if (outcome === 'violation' || options.all) {
        out += `${JSON.stringify({ trace_id: view.traceId, rule_id: rule.id, outcome })}\n`;
      }
    }
    if (out.length > 65536) {
      io.stdout.write(out);
      out = '';
    }
    if (progress && t % 1000 === 0) io.stderr.write(`\r${t}/${traces.length} traces`);
  }
  if (progress) io.stderr.write(`\r${traces.length}/${traces.length} traces\n`);
  io.stdout.write(out);
  return EXIT_OK;
}
