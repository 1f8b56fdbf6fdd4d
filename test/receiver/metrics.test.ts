import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { Registry } from 'prom-client';

import { createReceiverMetrics } from '../../processor/receiver/metrics';
import { metricValue } from './fixtures';

describe('createReceiverMetrics', () => {
  it('exports every transport and reason series from the start', async () => {
    const registry = new Registry();
    createReceiverMetrics(registry);
    const text = await registry.metrics();
    for (const series of [
      'betrace_spans_received_total{transport="grpc"} 0',
      'betrace_spans_refused_total{transport="http",reason="invalid_span"} 0',
      'betrace_requests_refused_total{transport="grpc",reason="too_large"} 0',
      'betrace_receiver_request_duration_seconds_count{transport="http"} 0',
    ]) {
      assert.ok(text.includes(series), series);
    }
  });

  it('counts received spans, partial rejections and refusals by reason', async () => {
    const registry = new Registry();
    const metrics = createReceiverMetrics(registry);
    metrics.recordAccepted('grpc', { total: 10, rejected: 3, message: 'bad ids' });
    metrics.recordAccepted('http', { total: 4, rejected: 0, message: '' });
    metrics.recordRefused('grpc', 'queue_full', 6);
    metrics.recordRefused('grpc', 'malformed', 9);
    metrics.recordRefused('http', 'too_large', null);
    metrics.observeDurationSeconds('http', 0.002);

    const value = (name: string, transport: string, reason?: string): Promise<number> =>
      metricValue(registry, name, reason === undefined ? { transport } : { transport, reason });
    assert.equal(await value('betrace_spans_received_total', 'grpc'), 10);
    assert.equal(await value('betrace_spans_received_total', 'http'), 4);
    assert.equal(await value('betrace_spans_refused_total', 'grpc', 'invalid_span'), 3);
    assert.equal(await value('betrace_spans_refused_total', 'grpc', 'queue_full'), 6);
    assert.equal(await value('betrace_requests_refused_total', 'grpc', 'queue_full'), 1);
    assert.equal(await value('betrace_requests_refused_total', 'grpc', 'malformed'), 1);
    assert.equal(await value('betrace_requests_refused_total', 'http', 'too_large'), 1);
    assert.equal(await value('betrace_receiver_request_duration_seconds_count', 'http'), 1);
    // Malformed requests have no span series: their spans were never read.
    const text = await registry.metrics();
    assert.doesNotMatch(text, /betrace_spans_refused_total\{[^}]*reason="malformed"/);
  });
});
