/**
 * Spans made by the official OpenTelemetry JS SDK and sent with its OTLP
 * exporters, the clients the receivers must interoperate with.
 */

import { context, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';

import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

/** The exporter's verdict on one export (`{ code, error? }`). */
export type ExportResult = Parameters<Parameters<SpanExporter['export']>[1]>[0];

/** Spans as the SDK finished them, with their trace. */
export interface SdkSpans {
  readonly spans: ReadableSpan[];
  readonly traceId: string;
  readonly names: string[];
}

/**
 * Creates one trace: a root span named `names[0]` with the other names as
 * its children, on a provider with a SimpleSpanProcessor in front of
 * `exporter` (an in-memory one when absent).
 */
export async function createTrace(
  names: readonly string[],
  exporter: SpanExporter = new InMemorySpanExporter(),
): Promise<SdkSpans> {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'checkout' }),
    spanProcessors: [new SimpleSpanProcessor(memory), new SimpleSpanProcessor(exporter)],
  });
  const tracer = provider.getTracer('receiver-test', '1.0.0');
  const root = tracer.startSpan(names[0], { attributes: { 'payment.amount': 1500 } });
  const parentContext = trace.setSpan(context.active(), root);
  for (const name of names.slice(1)) {
    tracer.startSpan(name, { attributes: { 'db.system': 'postgresql' } }, parentContext).end();
  }
  root.end();
  await provider.forceFlush();
  const spans = memory.getFinishedSpans();
  await provider.shutdown();
  return { spans, traceId: root.spanContext().traceId, names: [...names] };
}

/** Sends finished spans through an exporter and returns its verdict. */
export function exportSpans(exporter: SpanExporter, spans: ReadableSpan[]): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(spans, resolve));
}
