/**
 * The main job end to end over loopback: the official OpenTelemetry SDK
 * exporters send traces, the processor forwards them, buffers, evaluates
 * and emits violation and evidence spans, and a real downstream OTLP
 * receiver records what arrives.
 */

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';

import { context, trace } from '@opentelemetry/api';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as HttpExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';

import { PRODUCT_VERSION } from '../../processor/paths';
import { buildRequest, hexId, receivedSpans, spansNamed } from '../helpers/otlp-build';
import { startHarness } from '../helpers/processor-harness';
import { callUnary, createRawClient } from '../receiver/raw-grpc';
import { sendHttp } from '../receiver/http-client';

import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';
import type { Harness } from '../helpers/processor-harness';

const RULES = `rules:
  - id: fraud-check
    name: High-value payments need a fraud check
    severity: high
    compliance: [{ framework: PCI-DSS, control: "10.2" }]
    condition: |
      when { payment.process.where(payment.amount > 1000) }
      always { payment.fraud_check }
  - id: no-debug-dump
    name: Orders never dump debug state
    severity: low
    condition: when { checkout.order } never { debug.dump }
`;

/** Independent derivation of the emitted span IDs (PRODUCT.md 3). */
function derived(traceId: string, ruleId: string, kind: string): { spanId: string; id: string } {
  const digest = createHash('sha256')
    .update(Buffer.concat([Buffer.from(traceId, 'hex'), Buffer.from(ruleId), Buffer.from([0]), Buffer.from(kind)]))
    .digest('hex');
  return { spanId: digest.slice(0, 16), id: digest.slice(0, 32) };
}

interface ShopTrace {
  readonly spans: ReadableSpan[];
  readonly traceId: string;
  readonly paymentSpanId: string;
}

/** A checkout trace across two services; `fraudCheck` decides whether it breaks `fraud-check`. */
function shopTrace(amount: number, fraudCheck: boolean): ShopTrace {
  const memory = new InMemorySpanExporter();
  const providerFor = (service: string) => new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': service }),
    spanProcessors: [new SimpleSpanProcessor(memory)],
  });
  const checkout = providerFor('checkout').getTracer('shop', '1.0.0');
  const payments = providerFor('payments').getTracer('shop', '1.0.0');
  const root = checkout.startSpan('checkout.order', { attributes: { 'order.total': amount } });
  const pay = payments.startSpan('payment.process', { attributes: { 'payment.amount': amount } }, trace.setSpan(context.active(), root));
  if (fraudCheck) payments.startSpan('payment.fraud_check', {}, trace.setSpan(context.active(), pay)).end();
  pay.end();
  root.end();
  return { spans: memory.getFinishedSpans(), traceId: root.spanContext().traceId, paymentSpanId: pay.spanContext().spanId };
}

function exportWith(exporter: SpanExporter, spans: ReadableSpan[]): Promise<{ code: number; error?: Error }> {
  return new Promise((resolve) => exporter.export(spans, resolve));
}

async function metricsText(h: Harness): Promise<string> {
  const res = await fetch(`${h.adminUrl}/metrics`);
  return res.text();
}

function metricValue(text: string, name: string, labels = ''): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels === '' ? ' ' : `{${labels}} `}`)
    || (labels !== '' && l.startsWith(`${name}{`) && l.includes(labels)));
  return line === undefined ? NaN : Number(line.slice(line.lastIndexOf(' ') + 1));
}

describe('the main job over gRPC and HTTP with the SDK exporters', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ rules: { 'shop.yaml': RULES } });
  });
  after(async () => {
    await h.stop();
  });

  it('forwards the SDK request byte for byte and writes a violation span into the trace', async () => {
    const shop = shopTrace(1500, false);
    const exporter = new GrpcExporter({ url: h.grpcUrl });
    const result = await exportWith(exporter, shop.spans);
    await exporter.shutdown();
    assert.equal(result.code, 0, String(result.error));
    const expected = Buffer.from(ProtobufTraceSerializer.serializeRequest(shop.spans) as Uint8Array);
    await h.sink!.waitFor((reqs) => spansNamed(reqs, 'betrace.violation').some((s) => s.span.traceId === shop.traceId), 5000);
    assert.ok(h.sink!.requests.some((r) => r.equals(expected)), 'the original request arrives unchanged');

    const [violation] = spansNamed(h.sink!.requests, 'betrace.violation').filter((s) => s.span.traceId === shop.traceId);
    const ids = derived(shop.traceId, 'fraud-check', 'violation');
    assert.equal(violation.span.spanId, ids.spanId);
    assert.equal(violation.span.parentSpanId, shop.paymentSpanId, 'parent: the span that made when hold');
    assert.equal(violation.span.kind, 1);
    assert.equal(BigInt(violation.span.endTimeUnixNano) - BigInt(violation.span.startTimeUnixNano), 1_000_000n);
    assert.equal(violation.span.status.code, 2);
    const message = 'High-value payments need a fraud check: required "payment.fraud_check" not found';
    assert.equal(violation.span.status.message, message);
    assert.equal(violation.scope?.name, 'betrace');
    assert.equal(violation.scope?.version, PRODUCT_VERSION);
    assert.equal(violation.resourceAttributes['service.name'], 'payments', 'the parent span service');
    assert.equal(violation.resourceAttributes['betrace.processor.version'], PRODUCT_VERSION);
    assert.deepEqual(violation.attributes, {
      'betrace.violation': true,
      'betrace.violation.id': ids.id,
      'betrace.violation.rule_id': 'fraud-check',
      'betrace.violation.rule_name': 'High-value payments need a fraud check',
      'betrace.violation.severity': 'HIGH',
      'betrace.violation.message': message,
      'betrace.violation.trace_id': shop.traceId,
      'betrace.violation.clause': 'always',
      'betrace.violation.trigger': 'root',
      'betrace.violation.span_ids': [shop.paymentSpanId],
      'compliance.framework': 'pci-dss',
      'compliance.control': '10.2',
      'compliance.frameworks': ['pci-dss'],
      'compliance.controls': ['10.2'],
    });

    const [evidence] = spansNamed(h.sink!.requests, 'compliance.evidence').filter((s) => s.span.traceId === shop.traceId);
    assert.equal(evidence.span.spanId, derived(shop.traceId, 'fraud-check', 'evidence').spanId);
    assert.equal(evidence.span.parentSpanId, shop.paymentSpanId);
    assert.deepEqual(evidence.attributes, {
      'compliance.framework': 'pci-dss',
      'compliance.control': '10.2',
      'compliance.frameworks': ['pci-dss'],
      'compliance.controls': ['10.2'],
      'compliance.outcome': 'fail',
      'compliance.rule_id': 'fraud-check',
      'compliance.evidence_type': 'trace_rule',
    });
    assert.match(h.consoleText(), new RegExp(`VIOLATION HIGH rule=fraud-check trace=${shop.traceId}`));
  });

  it('emits passing evidence and no violation for a trace that keeps the rule, over OTLP/HTTP', async () => {
    const shop = shopTrace(2500, true);
    const exporter = new HttpExporter({ url: h.httpUrl });
    const result = await exportWith(exporter, shop.spans);
    await exporter.shutdown();
    assert.equal(result.code, 0, String(result.error));
    await h.sink!.waitFor((reqs) => spansNamed(reqs, 'compliance.evidence').some((s) => s.span.traceId === shop.traceId), 5000);
    const [evidence] = spansNamed(h.sink!.requests, 'compliance.evidence').filter((s) => s.span.traceId === shop.traceId);
    assert.equal(evidence.attributes['compliance.outcome'], 'pass');
    assert.equal(spansNamed(h.sink!.requests, 'betrace.violation').filter((s) => s.span.traceId === shop.traceId).length, 0);
    const original = receivedSpans(h.sink!.requests).filter((s) => s.span.traceId === shop.traceId && s.scope?.name !== 'betrace');
    assert.equal(original.length, 3);
  });

  it('re-encodes OTLP/JSON to protobuf without losing 64-bit integers', async () => {
    const traceId = hexId(16).toUpperCase();
    const spanId = hexId(8);
    const json = JSON.stringify({
      resourceSpans: [{
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'json-client' } }] },
        scopeSpans: [{
          scope: { name: 'json' },
          spans: [{
            traceId, spanId, name: 'checkout.order', kind: 2,
            startTimeUnixNano: '1750000000123456789', endTimeUnixNano: '1750000000223456789',
            attributes: [{ key: 'big', value: { intValue: '9007199254740993' } }, { key: 'ratio', value: { doubleValue: 'NaN' } }],
          }],
        }],
      }],
    }).replace('"9007199254740993"', '9007199254740993');
    const res = await sendHttp(h.httpUrl.replace(/^http:\/\//, '').replace('/v1/traces', ''), json, { headers: { 'content-type': 'application/json' } });
    assert.equal(res.status, 200, res.body.toString());
    await h.sink!.waitFor((reqs) => receivedSpans(reqs).some((s) => s.span.traceId === traceId.toLowerCase()), 5000);
    const [span] = receivedSpans(h.sink!.requests).filter((s) => s.span.traceId === traceId.toLowerCase());
    assert.equal(span.attributes.big, '9007199254740993');
    assert.ok(Number.isNaN(span.attributes.ratio));
    assert.equal(span.span.startTimeUnixNano, '1750000000123456789');
  });

  it('counts what it did in its metrics', async () => {
    const text = await metricsText(h);
    assert.ok(metricValue(text, 'betrace_spans_received_total', 'transport="grpc"') >= 2);
    assert.ok(metricValue(text, 'betrace_spans_received_total', 'transport="http"') >= 4);
    assert.ok(metricValue(text, 'betrace_traces_completed_total', 'trigger="root"') >= 2);
    assert.ok(metricValue(text, 'betrace_violations_total', 'rule_id="fraud-check",severity="HIGH"') >= 1);
    assert.ok(metricValue(text, 'betrace_rule_evaluations_total', 'rule_id="fraud-check",outcome="pass"') >= 1);
    assert.ok(metricValue(text, 'betrace_compliance_spans_total', 'framework="pci-dss",control="10.2",outcome="fail"') >= 1);
    assert.ok(metricValue(text, 'betrace_exporter_sent_requests_total') >= 1);
    assert.equal(metricValue(text, 'betrace_rules_loaded'), 2);
  });
});

describe('intake edge cases', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      rules: {
        'edge.yaml': `rules:
  - id: slow-op
    severity: medium
    condition: when { job.run } never { job.run.where(span:duration < 1s) }
  - id: single-step
    severity: low
    condition: when { job.run } always { count(job.step) == 1 }
  - id: own-output
    severity: low
    condition: when { betrace.probe } always { nothing.there }
`,
      },
    });
  });
  after(async () => {
    await h.stop();
  });

  async function send(bytes: Uint8Array) {
    const client = createRawClient(h.grpcEndpoint);
    try {
      return await callUnary(client, bytes);
    } finally {
      client.close();
    }
  }

  function violationsFor(traceId: string, ruleId: string) {
    return spansNamed(h.sink!.requests, 'betrace.violation')
      .filter((s) => s.span.traceId === traceId && s.attributes['betrace.violation.rule_id'] === ruleId);
  }

  it('treats a duration whose end is before its start as missing', async () => {
    const broken = hexId(16);
    const normal = hexId(16);
    const start = 1_750_000_000_000_000_000n;
    const outcome = await send(buildRequest([{
      spans: [
        { traceId: broken, spanId: hexId(8), name: 'job.run', startNs: start, endNs: start - 1n },
        { traceId: normal, spanId: hexId(8), name: 'job.run', startNs: start, endNs: start + 1000n },
      ],
    }]));
    assert.equal(outcome.error, null);
    await h.sink!.waitFor(() => violationsFor(normal, 'slow-op').length === 1, 5000);
    h.service.pipeline.tick();
    assert.equal(violationsFor(broken, 'slow-op').length, 0, 'a missing duration is not < 1s');
    const forwarded = receivedSpans(h.sink!.requests).filter((s) => s.span.traceId === broken && s.scope?.name !== 'betrace');
    assert.equal(forwarded.length, 1, 'the odd span is still forwarded');
  });

  it('counts a span sent twice once, and spans after the verdict as late', async () => {
    const traceId = hexId(16);
    const step = { traceId, spanId: hexId(8), name: 'job.step' };
    const run = { traceId, spanId: hexId(8), name: 'job.run', endNs: 1_750_000_000_000_000_001n, startNs: 1_750_000_000_000_000_000n };
    await send(buildRequest([{ spans: [run, step] }]));
    await send(buildRequest([{ spans: [step] }]));
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(violationsFor(traceId, 'single-step').length, 0, 'the repeated step counted once');
    const before = metricValue(await metricsText(h), 'betrace_late_spans_total');
    await send(buildRequest([{ spans: [{ traceId, spanId: hexId(8), name: 'job.step' }] }]));
    await h.sink!.waitFor((reqs) => receivedSpans(reqs).filter((s) => s.span.traceId === traceId).length >= 4, 5000);
    const later = metricValue(await metricsText(h), 'betrace_late_spans_total');
    assert.equal(later - before, 1);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(violationsFor(traceId, 'single-step').length, 0, 'a late span never reopens the verdict');
  });

  it('forwards spans of its own scope without evaluating them', async () => {
    const traceId = hexId(16);
    await send(buildRequest([{ scope: { name: 'betrace', version: '0.0.1' }, spans: [{ traceId, spanId: hexId(8), name: 'betrace.probe' }] }]));
    await h.sink!.waitFor((reqs) => receivedSpans(reqs).some((s) => s.span.traceId === traceId), 5000);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(violationsFor(traceId, 'own-output').length, 0);
  });

  it('refuses malformed protobuf and forwards none of it', async () => {
    const count = h.sink!.requests.length;
    const outcome = await send(Buffer.from([0x0a, 0x05, 0x01]));
    assert.equal(outcome.error?.code, 3, 'INVALID_ARGUMENT');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(h.sink!.requests.length, count);
  });

  it('rejects spans with bad IDs through partial success and forwards the rest', async () => {
    const good = hexId(16);
    const outcome = await send(buildRequest([{
      spans: [
        { traceId: good, spanId: hexId(8), name: 'job.step' },
        { traceId: '00000000000000000000000000000000', spanId: hexId(8), name: 'job.step' },
      ],
    }]));
    assert.equal(outcome.error, null);
    assert.ok(outcome.response !== null && outcome.response.length > 0, 'a partial-success reply');
    await h.sink!.waitFor((reqs) => receivedSpans(reqs).some((s) => s.span.traceId === good), 5000);
    const zero = receivedSpans(h.sink!.requests).filter((s) => s.span.traceId === '00000000000000000000000000000000');
    assert.equal(zero.length, 0);
  });
});

describe('a trace of 100000 spans', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      rules: { 'big.yaml': 'rules:\n  - id: big\n    condition: when { bulk.item } always { bulk.done }\n' },
      bufferConfig: '\n  idle_timeout: 2s\n  max_trace_age: 20s\n  max_spans_per_trace: 10000',
    });
  });
  after(async () => {
    await h.stop();
  });

  it('is completed by the span cap, forwarded whole, and the rest counted late', async () => {
    const traceId = hexId(16);
    const client = createRawClient(h.grpcEndpoint, undefined, { 'grpc.max_send_message_length': 64 << 20 });
    let sent = 0;
    for (let batch = 0; batch < 20; batch++) {
      const spans = Array.from({ length: 5000 }, () => ({ traceId, spanId: hexId(8), name: 'bulk.item' }));
      const outcome = await callUnary(client, buildRequest([{ spans }]));
      assert.equal(outcome.error, null);
      sent += spans.length;
    }
    client.close();
    assert.equal(sent, 100000);
    // Checks the count first: decoding 100000 spans on every arrival would starve the processor.
    await h.sink!.waitFor((reqs) => reqs.length === 21 && spansNamed(reqs, 'betrace.violation').length === 1, 10000);
    const [violation] = spansNamed(h.sink!.requests, 'betrace.violation');
    assert.equal(violation.attributes['betrace.violation.trigger'], 'span_cap');
    // The exporter counts a request once its answer is back, a moment after the sink recorded it.
    let text = await metricsText(h);
    for (let i = 0; i < 250 && metricValue(text, 'betrace_exporter_sent_spans_total') < 100001; i++) {
      await new Promise((r) => setTimeout(r, 20));
      text = await metricsText(h);
    }
    assert.equal(metricValue(text, 'betrace_exporter_sent_spans_total'), 100001);
    assert.equal(metricValue(text, 'betrace_traces_completed_total', 'trigger="span_cap"'), 1);
    assert.equal(metricValue(text, 'betrace_late_spans_total'), 90000);
  });
});
