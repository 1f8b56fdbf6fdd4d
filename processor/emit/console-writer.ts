/**
 * The console exporter: prints violations and compliance evidence as
 * readable lines, so a newcomer sees the processor work with nothing else
 * installed. Forwarded spans are not printed.
 */

import type { AttributeValue } from '../../proto/encode-spans';
import type { EmittedSpan } from './emitted-spans';

function attr(e: EmittedSpan, key: string): AttributeValue | undefined {
  for (const [k, v] of e.span.attributes) if (k === key) return v;
  return undefined;
}

/** One line per emitted span; no colour codes, so it reads the same in a file. */
export function formatEmittedSpan(e: EmittedSpan): string {
  const trace = e.span.traceId;
  if (e.kind === 'violation') {
    const spans = attr(e, 'betrace.violation.span_ids');
    const cited = Array.isArray(spans) && spans.length > 0 ? ` spans=${spans.join(',')}` : '';
    return `VIOLATION ${e.rule.severity} rule=${e.rule.id} trace=${trace} ` +
      `clause=${String(attr(e, 'betrace.violation.clause'))} trigger=${e.trigger}${cited}\n` +
      `  ${String(attr(e, 'betrace.violation.message'))}\n`;
  }
  const framework = String(attr(e, 'compliance.framework') ?? '');
  const control = attr(e, 'compliance.control');
  const where = control === undefined ? framework : `${framework} ${String(control)}`;
  return `EVIDENCE ${where} outcome=${String(attr(e, 'compliance.outcome'))} ` +
    `rule=${e.rule.id} trace=${trace}\n`;
}

/** Writes emitted spans to a stream (stdout by default). */
export class ConsoleWriter {
  private readonly out: NodeJS.WritableStream;

  constructor(out: NodeJS.WritableStream = process.stdout) {
    this.out = out;
  }

  write(spans: readonly EmittedSpan[]): void {
    if (spans.length === 0) return;
    let text = '';
    for (const e of spans) text += formatEmittedSpan(e);
    this.out.write(text);
  }
}
