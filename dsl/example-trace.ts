/**
 * Example traces of rule files (PRODUCT.md 2, DSL.md 13): reading and
 * checking their shape, and turning them into the TraceView that rules
 * evaluate, as the processor would build it from OTLP.
 */

import { BetraceError } from '../processor/errors';
import {
  DocReporter,
  describeNode,
  entryOf,
  fromJson,
  reportUnknownKeys,
  textOf,
  toPlainValue,
} from './doc-node';
import { parseDurationLiteral } from './duration';
import { KIND_NAMES, STATUS_NAMES } from './check';
import { toAttributeText } from './text-form';
import { DURATION_MISSING, createTraceView } from './trace-model';

import type { DocMap, DocNode } from './doc-node';
import type { Diagnostic } from './diagnostics';
import type { ExampleSpan, ExampleTrace } from './rule';
import type { ResourceRecord, SpanRecord, TraceView } from './trace-model';

/** The trace ID example views get unless one is given. */
export const EXAMPLE_TRACE_ID = '0000000000000000000000000000e001';

// Example spans start 1 ms apart from an arbitrary fixed time, in list order.
const BASE_START_NS = 1_700_000_000_000_000_000;
const START_STEP_NS = 1_000_000;

const TRACE_FIELDS = ['description', 'trace'] as const;
const SPAN_FIELDS = ['span', 'attributes', 'resource', 'status', 'kind', 'duration', 'duration_ms'] as const;

/**
 * Builds the view of an example: spans get IDs 1, 2, ... (16 hex digits),
 * starts 1 ms apart in list order, the first span is the root. Attribute
 * values become their text forms; null values are absent. A span without
 * `duration` or `duration_ms` has a MISSING duration.
 * Throws ERR_DSL_BAD_EXAMPLE for a status, kind or duration it cannot read.
 */
export function toTraceView(example: ExampleTrace, traceId: string = EXAMPLE_TRACE_ID): TraceView {
  const spans = example.trace.map((s, i): SpanRecord => ({
    spanId: (i + 1).toString(16).padStart(16, '0'),
    name: s.span,
    isRoot: i === 0,
    startNs: BASE_START_NS + i * START_STEP_NS,
    durationNs: toDurationNs(s),
    status: toCode(s.status, STATUS_NAMES, 'STATUS_CODE_', 'status'),
    kind: toCode(s.kind, KIND_NAMES, 'SPAN_KIND_', 'kind'),
    attrs: toAttrs(s.attributes),
    resource: toResource(s.resource),
  }));
  return createTraceView(traceId, spans);
}

function toDurationNs(s: ExampleSpan): number {
  if (s.duration !== undefined) {
    const ns = parseDurationLiteral(s.duration);
    if (ns === null) throw badExample(`duration "${s.duration}" is not a duration such as 250ms`);
    return ns;
  }
  if (s.duration_ms !== undefined) {
    const ms = Number(s.duration_ms);
    return Number.isFinite(ms) && ms >= 0 ? Math.round(ms * 1e6) : DURATION_MISSING;
  }
  return DURATION_MISSING;
}

function toCode(value: string | undefined, names: readonly string[], prefix: string, what: string): number {
  if (value === undefined) return 0;
  const code = codeOf(value, names, prefix);
  if (code < 0) throw badExample(`${what} "${value}" is not one of ${names.join(', ')}`);
  return code;
}

/** The OTLP code of a status or kind name (`error`, `ERROR`, `STATUS_CODE_ERROR`); -1 if unknown. */
function codeOf(value: string, names: readonly string[], prefix: string): number {
  const lower = value.toLowerCase();
  const bare = lower.startsWith(prefix.toLowerCase()) ? lower.slice(prefix.length) : lower;
  return names.indexOf(bare);
}

function toAttrs(map: Readonly<Record<string, unknown>> | undefined): string[] | null {
  if (map === undefined) return null;
  const attrs: string[] = [];
  for (const [key, value] of Object.entries(map)) {
    if (value === null || value === undefined) continue;
    attrs.push(key, toAttributeText(value));
  }
  return attrs.length === 0 ? null : attrs;
}

function toResource(map: Readonly<Record<string, unknown>> | undefined): ResourceRecord {
  return { attrs: toAttrs(map), raw: null };
}

function badExample(message: string): BetraceError {
  return new BetraceError('ERR_DSL_BAD_EXAMPLE', message);
}

/**
 * Reads an example (`{description, trace: [...]}`) from a document node,
 * reporting every shape problem; null when the shape is unusable.
 */
export function readExampleTrace(
  node: DocNode,
  reporter: DocReporter,
  field: string,
): ExampleTrace | null {
  if (node.kind !== 'map') {
    reporter.error(
      'ERR_DSL_BAD_EXAMPLE',
      `${field} must be a mapping with a trace list, not ${describeNode(node)}`,
      node,
    );
    return null;
  }
  const before = reporter.diagnostics.length;
  reportUnknownKeys(node, TRACE_FIELDS, reporter, field);
  const description = entryOf(node, 'description');
  if (description !== undefined && textOf(description) === null && !isNull(description)) {
    reporter.error('ERR_DSL_BAD_EXAMPLE', `${field}.description must be text`, description);
  }
  const traceNode = entryOf(node, 'trace');
  if (traceNode === undefined) {
    reporter.error(
      'ERR_DSL_MISSING_FIELD',
      `${field} has no trace`,
      node,
      'add trace: [{span: NAME, attributes: {...}}, ...]',
    );
    return null;
  }
  if (traceNode.kind !== 'seq') {
    reporter.error(
      'ERR_DSL_BAD_EXAMPLE',
      `${field}.trace must be a list of spans, not ${describeNode(traceNode)}`,
      traceNode,
    );
    return null;
  }
  const trace: ExampleSpan[] = [];
  traceNode.items.forEach((item, i) => {
    const span = readExampleSpan(item, reporter, `${field}.trace[${i}]`);
    if (span !== null) trace.push(span);
  });
  if (reporter.diagnostics.length > before) return null;
  const text = description === undefined ? null : textOf(description);
  return text === null ? { trace } : { description: text, trace };
}

function readExampleSpan(node: DocNode, reporter: DocReporter, where: string): ExampleSpan | null {
  if (node.kind !== 'map') {
    reporter.error(
      'ERR_DSL_BAD_EXAMPLE',
      `${where} must be a mapping such as {span: NAME}, not ${describeNode(node)}`,
      node,
    );
    return null;
  }
  reportUnknownKeys(node, SPAN_FIELDS, reporter, where);
  const nameNode = entryOf(node, 'span');
  const name = nameNode === undefined ? null : textOf(nameNode);
  if (nameNode === undefined) {
    reporter.error('ERR_DSL_MISSING_FIELD', `${where} has no span name`, node, 'add span: NAME');
  } else if (name === null) {
    reporter.error(
      'ERR_DSL_BAD_EXAMPLE',
      `${where}.span must be a span name, not ${describeNode(nameNode)}`,
      nameNode,
    );
  }
  const span: { -readonly [K in keyof ExampleSpan]: ExampleSpan[K] } = { span: name ?? '' };
  const attributes = readValueMap(node, 'attributes', reporter, where);
  if (attributes !== undefined) span.attributes = attributes;
  const resource = readValueMap(node, 'resource', reporter, where);
  if (resource !== undefined) span.resource = resource;
  const status = readName(node, 'status', STATUS_NAMES, 'STATUS_CODE_', reporter, where);
  if (status !== undefined) span.status = status;
  const kind = readName(node, 'kind', KIND_NAMES, 'SPAN_KIND_', reporter, where);
  if (kind !== undefined) span.kind = kind;
  readDuration(node, span, reporter, where);
  return span;
}

function readValueMap(
  node: DocMap,
  key: string,
  reporter: DocReporter,
  where: string,
): Record<string, unknown> | undefined {
  const value = entryOf(node, key);
  if (value === undefined || isNull(value)) return undefined;
  if (value.kind !== 'map') {
    reporter.error(
      'ERR_DSL_BAD_EXAMPLE',
      `${where}.${key} must be a mapping of keys to values, not ${describeNode(value)}`,
      value,
    );
    return undefined;
  }
  const out: Record<string, unknown> = {};
  for (const e of value.entries) out[e.key] = toPlainValue(e.value);
  return out;
}

function readName(
  node: DocMap,
  key: string,
  names: readonly string[],
  prefix: string,
  reporter: DocReporter,
  where: string,
): string | undefined {
  const value = entryOf(node, key);
  if (value === undefined) return undefined;
  const text = textOf(value);
  if (text === null || codeOf(text, names, prefix) < 0) {
    reporter.error(
      'ERR_DSL_BAD_EXAMPLE',
      `${where}.${key} is ${describeNode(value)}, not one of ${names.join(', ')}`,
      value,
    );
    return undefined;
  }
  return names[codeOf(text, names, prefix)];
}

function readDuration(
  node: DocMap,
  span: { duration?: string; duration_ms?: number },
  reporter: DocReporter,
  where: string,
): void {
  const duration = entryOf(node, 'duration');
  const durationMs = entryOf(node, 'duration_ms');
  if (duration !== undefined && durationMs !== undefined) {
    reporter.error(
      'ERR_DSL_BAD_EXAMPLE',
      `${where} has both duration and duration_ms`,
      durationMs,
      'keep one of them',
    );
    return;
  }
  if (duration !== undefined) {
    const text = duration.kind === 'scalar' && typeof duration.value === 'string' ? duration.value : null;
    if (text === null || parseDurationLiteral(text) === null) {
      reporter.error(
        'ERR_DSL_BAD_EXAMPLE',
        `${where}.duration is ${describeNode(duration)}, not a duration literal`,
        duration,
        'write a number and a unit (ns, us, ms, s, m, h), such as 250ms',
      );
      return;
    }
    span.duration = text;
  }
  if (durationMs !== undefined) {
    const v = durationMs.kind === 'scalar' ? durationMs.value : null;
    const ms = typeof v === 'number' || typeof v === 'bigint' ? Number(v) : NaN;
    if (!Number.isFinite(ms) || ms < 0) {
      reporter.error(
        'ERR_DSL_BAD_EXAMPLE',
        `${where}.duration_ms is ${describeNode(durationMs)}, not a number of milliseconds`,
        durationMs,
      );
      return;
    }
    span.duration_ms = ms;
  }
}

function isNull(node: DocNode): boolean {
  return node.kind === 'scalar' && node.value === null;
}

/**
 * Reads an example trace given as JSON (`{"trace": [...]}`), as the rules
 * API receives it. Diagnostics name the field; their position is 1:1.
 */
export function parseExampleTrace(
  value: unknown,
  file = '<request>',
): { example: ExampleTrace | null; diagnostics: Diagnostic[] } {
  const reporter = new DocReporter(file, null);
  const example = readExampleTrace(fromJson(value), reporter, 'example');
  return { example, diagnostics: reporter.diagnostics };
}
