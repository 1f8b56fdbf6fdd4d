/**
 * Backpressure and delivery guarantees: a full exporter queue pushes back
 * on the senders, a disabled queue acknowledges only what the downstream
 * accepted, and eviction completes traces under pressure.
 */

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { buildRequest, hexId, receivedSpans, spansNamed } from '../helpers/otlp-build';
import { startHarness } from '../helpers/processor-harness';
import { callUnary, createRawClient } from '../receiver/raw-grpc';

import type { Harness } from '../helpers/processor-harness';

const RULES = 'rules:\n  - id: needs-b\n    condition: when { a.step } always { b.step }\n';

/** Sends one span of `traceId`; the sender gives up after `timeoutMs`. */
async function send(h: Harness, traceId: string, name = 'a.step', timeoutMs?: number) {
  const client = createRawClient(h.grpcEndpoint);
  try {
    return await callUnary(client, buildRequest([{ spans: [{ traceId, spanId: hexId(8), name }] }]), undefined, timeoutMs);
  } finally {
    client.close();
  }
}

/** A processor whose exporter has the queue disabled and retries as `retry` says. */
function startWithoutQueue(retry: string): Promise<Harness> {
  return startHarness({
    rules: { 'r.yaml': RULES },
    exporterConfig: ['queue: { enabled: false }', `retry: ${retry}`].join('\n'),
  });
}

describe('a full exporter queue', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      rules: { 'r.yaml': RULES },
      exporterConfig: 'queue: { enabled: true, max_requests: 1, max_bytes_mib: 16 }',
    });
  });
  after(async () => {
    await h.stop();
  });

  it('answers UNAVAILABLE, turns /readyz not ready, and takes data again once drained', async () => {
    h.sink!.setDelay(400);
    const first = await send(h, hexId(16));
    assert.equal(first.error, null);
    const refusedTrace = hexId(16);
    const second = await send(h, refusedTrace);
    assert.equal(second.error?.code, 14, 'UNAVAILABLE');
    const ready = await fetch(`${h.adminUrl}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(await ready.text(), /queue full/);
    h.sink!.setDelay(0);
    await h.sink!.waitFor((reqs) => reqs.length >= 1, 5000);
    // Ready again once the exporter has its answer and frees the slot.
    let status = 503;
    for (let i = 0; i < 100 && status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 20));
      status = (await fetch(`${h.adminUrl}/readyz`)).status;
    }
    assert.equal(status, 200);
    const third = await send(h, hexId(16));
    assert.equal(third.error, null);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(receivedSpans(h.sink!.requests).filter((s) => s.span.traceId === refusedTrace).length, 0,
      'a refused request is neither forwarded nor buffered');
    assert.equal(spansNamed(h.sink!.requests, 'betrace.violation').filter((s) => s.span.traceId === refusedTrace).length, 0);
  });
});

describe('with the queue disabled', () => {
  let h: Harness;
  before(async () => {
    h = await startWithoutQueue('{ initial_interval: 10ms, max_interval: 20ms, max_elapsed_time: 150ms }');
  });
  after(async () => {
    await h.stop();
  });

  it('acknowledges a request only after the downstream accepted it', async () => {
    const traceId = hexId(16);
    h.sink!.setDelay(150);
    const outcome = await send(h, traceId);
    h.sink!.setDelay(0);
    assert.equal(outcome.error, null);
    assert.ok(receivedSpans(h.sink!.requests).some((s) => s.span.traceId === traceId),
      'the downstream had the span when the sender got its answer');
  });

  it('answers UNAVAILABLE while the downstream refuses, and buffers nothing of it', async () => {
    const traceId = hexId(16);
    h.sink!.failNext(1000, { grpcCode: 14 });
    const outcome = await send(h, traceId);
    h.sink!.reset();
    assert.equal(outcome.error?.code, 14);
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(spansNamed(h.sink!.requests, 'betrace.violation').filter((s) => s.span.traceId === traceId).length, 0);
  });
});

describe('eviction under max_traces', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      rules: { 'r.yaml': RULES },
      bufferConfig: '\n  max_traces: 2\n  idle_timeout: 10s\n  max_trace_age: 20s',
    });
  });
  after(async () => {
    await h.stop();
  });

  it('evaluates the least recently active trace when a third one arrives', async () => {
    const [t1, t2, t3] = [hexId(16), hexId(16), hexId(16)];
    await send(h, t1);
    await send(h, t2);
    await send(h, t3);
    await h.sink!.waitFor((reqs) => spansNamed(reqs, 'betrace.violation').length === 1, 5000);
    const [violation] = spansNamed(h.sink!.requests, 'betrace.violation');
    assert.equal(violation.span.traceId, t1);
    assert.equal(violation.attributes['betrace.violation.trigger'], 'evicted');
    const text = await (await fetch(`${h.adminUrl}/metrics`)).text();
    assert.match(text, /betrace_traces_evicted_total\{action="evaluate"\} 1\n/);
    assert.match(text, /betrace_traces_buffered 2\n/);
  });
});

describe('with the queue disabled and a sender deadline', () => {
  let h: Harness;
  before(async () => {
    h = await startWithoutQueue('{ initial_interval: 20ms, max_interval: 50ms, max_elapsed_time: 10s }');
  });
  after(async () => {
    await h.stop();
  });

  it('stops retrying the forward at the sender\'s deadline and answers in time, so a late success cannot duplicate it', async () => {
    const traceId = hexId(16);
    h.sink!.failNext(1000, { grpcCode: 14 });
    const outcome = await send(h, traceId, 'a.step', 300);
    assert.equal(outcome.error?.code, 14, 'UNAVAILABLE, answered before the sender gave up');
    assert.match(outcome.error?.details ?? '', /deadline/);
    await new Promise((r) => setTimeout(r, 100));
    const attempts = h.sink!.attempts;
    h.sink!.reset();
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(h.sink!.attempts, 0, `no attempt after the deadline (${attempts} before it)`);
    assert.equal(receivedSpans(h.sink!.requests).filter((s) => s.span.traceId === traceId).length, 0);
    const text = await (await fetch(`${h.adminUrl}/metrics`)).text();
    assert.match(text, /^betrace_exporter_failed_requests_total\{reason="deadline"\} 1$/m);
  });

  it('answers a sender in time even when the downstream hangs', async () => {
    h.sink!.setDelay(5000);
    const outcome = await send(h, hexId(16), 'a.step', 1000);
    h.sink!.reset();
    assert.equal(outcome.error?.code, 14, `the processor's own answer, not the sender's DEADLINE_EXCEEDED: ${outcome.error?.details}`);
  });
});
