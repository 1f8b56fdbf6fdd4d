import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { MemoryTraceBuffer } from '../../processor/buffer/memory-buffer';
import { spanRecord, traceIdOf } from '../helpers/span-records';

import type { MemoryBufferOptions } from '../../processor/buffer/memory-buffer';
import type { CompletedTrace } from '../../processor/buffer/types';

const BASE: MemoryBufferOptions = {
  maxTraces: 100,
  maxSpansPerTrace: 1000,
  maxBytes: 1 << 30,
  idleTimeoutMs: 100,
  rootGraceMs: 20,
  maxTraceAgeMs: 1000,
  onEvict: 'evaluate',
  decidedCache: { maxTraces: 1000, ttlMs: 60_000 },
};

function setup(overrides: Partial<MemoryBufferOptions<string>> = {}) {
  let now = 1_000_000;
  const completed: CompletedTrace<string>[] = [];
  const dropped: string[] = [];
  const started: string[] = [];
  const buffer = new MemoryTraceBuffer<string>(
    { ...BASE, ...overrides, now: () => now },
    {
      traceStarted: (c) => started.push(c),
      traceCompleted: (t) => completed.push(t),
      traceDropped: (id) => dropped.push(id),
    },
  );
  return {
    buffer,
    completed,
    dropped,
    started,
    advance(ms: number) {
      now += ms;
      buffer.tick();
    },
  };
}

describe('MemoryTraceBuffer', () => {
  it('completes a trace after the idle timeout with no new span', () => {
    const t = setup();
    t.buffer.add([traceIdOf(1)], [spanRecord()], 'set-a');
    t.advance(60);
    t.buffer.add([traceIdOf(1)], [spanRecord()], 'set-a');
    t.advance(60);
    assert.equal(t.completed.length, 0, 'the second span restarted the idle clock');
    t.advance(41);
    assert.equal(t.completed.length, 1);
    assert.equal(t.completed[0].trigger, 'idle');
    assert.equal(t.completed[0].spans.length, 2);
    assert.equal(t.completed[0].context, 'set-a');
  });

  it('completes a trace root_grace after its root span arrived', () => {
    const t = setup();
    t.buffer.add([traceIdOf(2), traceIdOf(2)], [spanRecord(), spanRecord({ isRoot: true })], 'x');
    t.advance(19);
    assert.equal(t.completed.length, 0);
    t.advance(1);
    assert.deepEqual(t.completed.map((c) => c.trigger), ['root']);
  });

  it('completes a trace at max_trace_age even while spans keep coming', () => {
    const t = setup({ maxTraceAgeMs: 250 });
    for (let i = 0; i < 5; i++) {
      t.buffer.add([traceIdOf(3)], [spanRecord()], 'x');
      t.advance(60);
    }
    assert.deepEqual(t.completed.map((c) => c.trigger), ['max_age']);
    assert.equal(t.completed[0].spans.length, 5);
  });

  it('completes a trace at max_spans_per_trace once the request is in, and counts later spans as late', () => {
    const t = setup({ maxSpansPerTrace: 3 });
    const id = traceIdOf(4);
    const result = t.buffer.add([id, id, id, id, id], [spanRecord(), spanRecord(), spanRecord(), spanRecord(), spanRecord()], 'x');
    assert.deepEqual(t.completed.map((c) => c.trigger), ['span_cap']);
    assert.equal(t.completed[0].spans.length, 5, 'the spans of the request that reached the cap are all judged');
    assert.deepEqual(result, { buffered: 5, late: 0, duplicates: 0 });
    const later = t.buffer.add([id], [spanRecord()], 'x');
    assert.deepEqual(later, { buffered: 0, late: 1, duplicates: 0 });
  });

  it('evicts the least recently active trace at max_traces and evaluates it', () => {
    const t = setup({ maxTraces: 2 });
    t.buffer.add([traceIdOf(1)], [spanRecord()], 'x');
    t.buffer.add([traceIdOf(2)], [spanRecord()], 'x');
    t.buffer.add([traceIdOf(1)], [spanRecord()], 'x');
    t.buffer.add([traceIdOf(3)], [spanRecord()], 'x');
    assert.deepEqual(t.completed.map((c) => [c.traceId, c.trigger]), [[traceIdOf(2), 'evicted']]);
    assert.equal(t.buffer.stats().traces, 2);
  });

  it('drops evicted traces under on_evict drop and treats their later spans as late', () => {
    const t = setup({ maxTraces: 1, onEvict: 'drop' });
    t.buffer.add([traceIdOf(1)], [spanRecord()], 'x');
    t.buffer.add([traceIdOf(2)], [spanRecord()], 'x');
    assert.deepEqual(t.dropped, [traceIdOf(1)]);
    assert.equal(t.completed.length, 0);
    const later = t.buffer.add([traceIdOf(1)], [spanRecord()], 'x');
    assert.equal(later.late, 1);
  });

  it('evicts by estimated bytes at max_bytes', () => {
    const t = setup({ maxBytes: 1000 });
    for (let i = 1; i <= 10; i++) t.buffer.add([traceIdOf(i)], [spanRecord()], 'x');
    assert.ok(t.buffer.stats().bytes <= 1000, `bytes ${t.buffer.stats().bytes}`);
    assert.ok(t.completed.length >= 5);
    assert.ok(t.completed.every((c) => c.trigger === 'evicted'));
    assert.equal(t.completed[0].traceId, traceIdOf(1), 'oldest first');
  });

  it('counts a repeated span ID once, in small and in large traces', () => {
    const t = setup();
    const small = spanRecord();
    const r1 = t.buffer.add([traceIdOf(5), traceIdOf(5)], [small, { ...small }], 'x');
    assert.deepEqual(r1, { buffered: 1, late: 0, duplicates: 1 });
    const many = Array.from({ length: 50 }, () => spanRecord());
    const ids = many.map(() => traceIdOf(6));
    t.buffer.add(ids, many, 'x');
    const r2 = t.buffer.add([traceIdOf(6), traceIdOf(6)], [{ ...many[3] }, { ...many[49] }], 'x');
    assert.deepEqual(r2, { buffered: 0, late: 0, duplicates: 2 });
    assert.equal(t.buffer.stats().spans, 51);
  });

  it('treats spans of an evaluated trace as late', () => {
    const t = setup();
    t.buffer.add([traceIdOf(7)], [spanRecord()], 'x');
    t.advance(200);
    assert.equal(t.completed.length, 1);
    const result = t.buffer.add([traceIdOf(7)], [spanRecord()], 'x');
    assert.deepEqual(result, { buffered: 0, late: 1, duplicates: 0 });
    assert.equal(t.buffer.stats().traces, 0);
  });

  it('forgets decided traces after the decided cache TTL', async () => {
    const t = setup({ decidedCache: { maxTraces: 10, ttlMs: 5 } });
    t.buffer.add([traceIdOf(8)], [spanRecord()], 'x');
    t.advance(200);
    await new Promise((r) => setTimeout(r, 20));
    const result = t.buffer.add([traceIdOf(8)], [spanRecord()], 'x');
    assert.equal(result.late, 0);
    assert.equal(result.buffered, 1);
  });

  it('keeps the context a trace started with', () => {
    const t = setup();
    t.buffer.add([traceIdOf(9)], [spanRecord()], 'old');
    t.buffer.add([traceIdOf(9), traceIdOf(10)], [spanRecord(), spanRecord()], 'new');
    t.buffer.flushAll('shutdown');
    const byId = new Map(t.completed.map((c) => [c.traceId, c]));
    assert.equal(byId.get(traceIdOf(9))?.context, 'old');
    assert.equal(byId.get(traceIdOf(10))?.context, 'new');
    assert.ok(t.completed.every((c) => c.trigger === 'shutdown'));
    assert.deepEqual(t.started, ['old', 'new']);
  });

  it('reports the earliest deadline', () => {
    const t = setup();
    assert.equal(t.buffer.earliestDeadline(), Infinity);
    t.buffer.add([traceIdOf(11)], [spanRecord({ isRoot: true })], 'x');
    assert.equal(t.buffer.earliestDeadline(), 1_000_000 + 20);
  });

  describe('with spans the rules do not read', () => {
    const readsOnlyPay = (span: { name: string }) => span.name === 'pay';

    it('keeps the read spans, the first root and the earliest of the others', () => {
      const t = setup({ isLookedAt: readsOnlyPay });
      const id = traceIdOf(20);
      const early = spanRecord({ name: 'db', startNs: 10 });
      const root = spanRecord({ name: 'http', isRoot: true, startNs: 20 });
      const pay = spanRecord({ name: 'pay', startNs: 30 });
      const later = spanRecord({ name: 'db', startNs: 40 });
      t.buffer.add([id, id, id, id], [later, pay, root, early], 'x');
      assert.equal(t.buffer.stats().spans, 4, 'every span counts as waiting');
      assert.equal(t.buffer.stats().records, 3, 'only three records are kept');
      t.advance(20);
      assert.equal(t.completed.length, 1);
      assert.equal(t.completed[0].trigger, 'root');
      assert.deepEqual(new Set(t.completed[0].spans), new Set([pay, root, early]));
      assert.deepEqual(t.buffer.stats(), { traces: 0, spans: 0, records: 0, bytes: 0 });
    });

    it('counts unread spans toward max_spans_per_trace', () => {
      const t = setup({ isLookedAt: readsOnlyPay, maxSpansPerTrace: 4 });
      const id = traceIdOf(21);
      t.buffer.add([id, id, id], [spanRecord(), spanRecord(), spanRecord()], 'x');
      assert.equal(t.completed.length, 0);
      t.buffer.add([id], [spanRecord()], 'x');
      assert.deepEqual(t.completed.map((c) => c.trigger), ['span_cap']);
      assert.equal(t.completed[0].spans.length, 1, 'only the earliest of the unread spans is kept');
    });

    it('keeps an unread root that is also the earliest once', () => {
      const t = setup({ isLookedAt: readsOnlyPay });
      const id = traceIdOf(22);
      const root = spanRecord({ name: 'http', isRoot: true, startNs: 1 });
      t.buffer.add([id, id], [root, spanRecord({ name: 'db', startNs: 5 })], 'x');
      t.buffer.flushAll('shutdown');
      assert.deepEqual(t.completed[0].spans, [root]);
    });
  });
});
