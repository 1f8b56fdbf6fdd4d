/**
 * Spans made by the official OpenTelemetry SDK, for comparing our codecs with
 * its serializers: two resources, every attribute value type, events, links,
 * status, kinds, remote and local parents.
 */

import { SpanKind, SpanStatusCode, TraceFlags, context, trace } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';

const T0 = [1_700_000_000, 123_456_789] as [number, number];

function at(ms: number): [number, number] {
  const ns = T0[1] + ms * 1_000_000;
  return [T0[0] + Math.floor(ns / 1e9), ns % 1e9];
}

/** Finished spans of a small payment flow from two services. */
export async function createSdkSpans(): Promise<ReadableSpan[]> {
  const exporter = new InMemorySpanExporter();
  const makeProvider = (service: string, extra: Record<string, string | number | boolean | string[]>) =>
    new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': service, ...extra }),
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
  const api = makeProvider('payment-api', { 'deployment.environment': 'prod', 'host.cores': 8 });
  const db = makeProvider('ledger-db', { 'service.version': '2.1.0', 'db.replicas': ['a', 'b'] });
  const tracer = api.getTracer('payment-http', '1.4.0');
  const dbTracer = db.getTracer('ledger-sql');

  const root = tracer.startSpan('POST /payments', {
    kind: SpanKind.SERVER,
    startTime: at(0),
    attributes: {
      'http.method': 'POST',
      'payment.amount': 1500.25,
      'payment.count': 3,
      'payment.approved': true,
      'payment.tags': ['card', 'eu'],
      'payment.retries': [0, 1, 2],
      'payment.flags': [true, false],
      'user.note': 'naïve café ☕ 𝄞',
      'empty.text': '',
    },
  });
  root.addEvent('validated', { 'rule.count': 4 }, at(2));
  const rootContext = trace.setSpan(context.active(), root);
  const check = tracer.startSpan(
    'payment.fraud_check',
    {
      kind: SpanKind.CLIENT,
      startTime: at(3),
      links: [
        {
          context: {
            traceId: '0af7651916cd43dd8448eb211c80319c',
            spanId: 'b7ad6b7169203331',
            traceFlags: TraceFlags.SAMPLED,
            isRemote: true,
          },
          attributes: { 'link.reason': 'batch' },
        },
      ],
    },
    rootContext,
  );
  check.setStatus({ code: SpanStatusCode.ERROR, message: 'score over limit' });
  check.end(at(40));
  const write = dbTracer.startSpan('ledger.write', { kind: SpanKind.INTERNAL, startTime: at(41) }, rootContext);
  write.setAttribute('db.rows', 12);
  write.setAttribute('db.bytes', new Uint8Array([0, 1, 2, 250]) as unknown as string);
  write.end(at(55));
  const remoteParent = trace.setSpanContext(context.active(), {
    traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
    spanId: '00f067aa0ba902b7',
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
  });
  const consumer = dbTracer.startSpan('ledger.consume', { kind: SpanKind.CONSUMER, startTime: at(60) }, remoteParent);
  consumer.setStatus({ code: SpanStatusCode.OK });
  consumer.end(at(61));
  root.end(at(70));

  await api.forceFlush();
  await db.forceFlush();
  const spans = exporter.getFinishedSpans();
  await api.shutdown();
  await db.shutdown();
  return spans;
}
