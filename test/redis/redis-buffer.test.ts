/**
 * The shared buffer's scripts against a real redis-server, with the clock
 * passed in: storing (each span once, late spans, the span cap), claiming
 * (true deadlines and triggers, live leases, takeovers), renewing,
 * releasing and finalising, and the TTLs that bound what is kept.
 */

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';

import { Registry } from 'prom-client';

import { decodeTraceHash, encodeSpanRecord, toResourceEntry } from '../../processor/buffer/redis-codec';
import { RedisTraceBuffer } from '../../processor/buffer/redis-buffer';
import { createRedisConnection } from '../../processor/buffer/redis-connection';
import { createKeyLayout } from '../../processor/buffer/redis-keys';
import { createRedisMetrics } from '../../processor/buffer/redis-metrics';
import { createSilentLogger } from '../../processor/log';
import { skipUnless } from '../helpers/requirements';
import { spanRecord, traceIdOf } from '../helpers/span-records';
import { startRedis } from './redis-process';

import type Redis from 'ioredis';

import type { RedisBufferOptions } from '../../processor/buffer/redis-buffer';
import type { RedisConnection } from '../../processor/buffer/redis-connection';
import type { RedisProcess } from './redis-process';

const SKIP = skipUnless('redis-server', 'BETRACE_REQUIRE_REDIS');
const T0 = 1_800_000_000_000;
const PREFIX = 'unit:';
const LIMITS = { maxSpansPerTrace: 5, idleTimeoutMs: 100, rootGraceMs: 20, maxTraceAgeMs: 1000, decidedTtlMs: 60_000, leaseMs: 500 };

describe('the redis codec', () => {
  it('reads spans back with their fields, attributes and one shared resource object', () => {
    const resource = { attrs: ['service.name', 'pay'], raw: new Uint8Array([10, 3, 1, 2, 3]) };
    const a = spanRecord({ name: 'a', isRoot: true, attrs: ['k', 'v'], resource, startNs: 2e18, durationNs: 7, status: 2, kind: 3 });
    const b = spanRecord({ name: 'b', resource, startNs: 1e18 });
    const entry = toResourceEntry(resource);
    const flat = [a.spanId, encodeSpanRecord(a, entry.field), entry.field, entry.text, b.spanId, encodeSpanRecord(b, entry.field)];
    const [first, second] = decodeTraceHash(flat);
    assert.equal(first.spanId, b.spanId, 'earliest start first');
    assert.deepEqual({ ...second, resource: null }, { ...a, resource: null });
    assert.deepEqual([...second.resource.raw!], [10, 3, 1, 2, 3]);
    assert.deepEqual(second.resource.attrs, ['service.name', 'pay']);
    assert.equal(first.resource, second.resource);
  });
});

describe('RedisTraceBuffer', { skip: SKIP }, () => {
  let redis: RedisProcess;
  let direct: Redis;
  const connections: RedisConnection[] = [];

  function createBuffer(instanceId: string, overrides: Partial<RedisBufferOptions> = {}) {
    const connection = createRedisConnection({ url: redis.url, keyPrefix: PREFIX }, { logger: createSilentLogger() });
    connections.push(connection);
    const registry = new Registry();
    const metrics = createRedisMetrics(registry);
    const buffer = new RedisTraceBuffer({ connection, keyPrefix: PREFIX, instanceId, metrics, ...LIMITS, ...overrides });
    return { buffer, registry, connection };
  }

  async function readyBuffer(instanceId: string, overrides: Partial<RedisBufferOptions> = {}) {
    const made = createBuffer(instanceId, overrides);
    assert.equal(await made.connection.waitReady(5000), true);
    return made;
  }

  before(async () => {
    redis = await startRedis();
    direct = redis.client();
  });
  after(async () => {
    for (const c of connections) await c.close();
    await redis?.close();
  });
  beforeEach(async () => {
    await direct.flushall();
  });

  it('stores each span once and counts a retried request as duplicates', async () => {
    const { buffer } = await readyBuffer('a');
    const tid = traceIdOf(1);
    const spans = [spanRecord(), spanRecord()];
    assert.deepEqual(await buffer.store([tid, tid], spans, 'set1', T0), { buffered: 2, late: 0, duplicates: 0 });
    assert.deepEqual(await buffer.store([tid, tid], spans, 'set1', T0 + 10), { buffered: 0, late: 0, duplicates: 2 });
    const keys = createKeyLayout(PREFIX).traceKeys(tid);
    assert.equal(await direct.hlen(keys.spans), 3, 'two spans and their one resource');
    assert.equal(await direct.hget(keys.meta, 'n'), '2');
    assert.equal(await direct.hget(keys.meta, 'l'), String(T0), 'duplicates do not count as activity');
  });

  it('puts every key of a trace under one hash tag and gives each a TTL', async () => {
    const { buffer } = await readyBuffer('a');
    const tid = traceIdOf(2);
    await buffer.store([tid], [spanRecord()], 'set1', Date.now());
    const keys = await direct.keys(`${PREFIX}{${tid}}:*`);
    assert.deepEqual(keys.sort(), [`${PREFIX}{${tid}}:meta`, `${PREFIX}{${tid}}:spans`]);
    for (const key of keys) assert.ok(await direct.pttl(key) > 0, key);
    const shard = createKeyLayout(PREFIX).dueKey(createKeyLayout(PREFIX).shardOf(tid));
    assert.ok(Number(await direct.zscore(shard, tid)) <= Date.now() + LIMITS.idleTimeoutMs);
  });

  it('claims nothing before a deadline and reschedules the trace to its true deadline', async () => {
    const { buffer, registry } = await readyBuffer('a');
    const tid = traceIdOf(3);
    await buffer.store([tid], [spanRecord()], 'set1', T0);
    await buffer.store([tid], [spanRecord()], 'set1', T0 + 80);
    assert.deepEqual(await buffer.claimDue(T0 + 150), [], 'idle until T0 + 180');
    const layout = createKeyLayout(PREFIX);
    await waitFor(async () => Number(await direct.zscore(layout.dueKey(layout.shardOf(tid)), tid)) === T0 + 180);
    const claimed = await buffer.claimDue(T0 + 180);
    assert.deepEqual(claimed.map((c) => [c.traceId, c.trigger, c.spans.length, c.ruleSetKey, c.takeover]), [[tid, 'idle', 2, 'set1', false]]);
    const text = await registry.metrics();
    assert.match(text, /betrace_redis_claims_total\{result="early"\} 1/);
    assert.match(text, /betrace_redis_claims_total\{result="claimed"\} 1/);
  });

  it('completes a trace root_grace after its root span, and an idle one after idle_timeout', async () => {
    const { buffer } = await readyBuffer('a');
    const rooted = traceIdOf(4);
    const plain = traceIdOf(5);
    await buffer.store([rooted, plain], [spanRecord({ isRoot: true }), spanRecord()], 'set1', T0);
    const atGrace = await buffer.claimDue(T0 + 20);
    assert.deepEqual(atGrace.map((c) => [c.traceId, c.trigger]), [[rooted, 'root']]);
    const atIdle = await buffer.claimDue(T0 + 100);
    assert.deepEqual(atIdle.map((c) => [c.traceId, c.trigger]), [[plain, 'idle']]);
  });

  it('finds a trace that keeps getting spans due at its max age', async () => {
    const { buffer } = await readyBuffer('a', { maxSpansPerTrace: 1000 });
    const tid = traceIdOf(7);
    for (let t = 0; t <= 1000; t += 50) {
      await buffer.store([tid], [spanRecord()], 'set1', T0 + t);
      const claimed = await buffer.claimDue(T0 + t);
      if (t < 1000) assert.deepEqual(claimed, [], `nothing due at ${t} ms`);
      else assert.deepEqual(claimed.map((c) => c.trigger), ['max_age']);
    }
  });

  it('makes spans past the span cap late and the trace due at once', async () => {
    const { buffer } = await readyBuffer('a');
    const tid = traceIdOf(8);
    const ids = Array.from({ length: 7 }, () => tid);
    const added = await buffer.store(ids, ids.map(() => spanRecord()), 'set1', T0);
    assert.deepEqual(added, { buffered: 5, late: 2, duplicates: 0 });
    const layout = createKeyLayout(PREFIX);
    await waitFor(async () => Number(await direct.zscore(layout.dueKey(layout.shardOf(tid)), tid)) === T0);
    const claimed = await buffer.claimDue(T0);
    assert.deepEqual(claimed.map((c) => [c.trigger, c.spans.length]), [['span_cap', 5]]);
  });

  it('holds a claim for its lease, then lets another instance take it over', async () => {
    const a = await readyBuffer('a');
    const b = await readyBuffer('b');
    const tid = traceIdOf(9);
    await a.buffer.store([tid], [spanRecord()], 'set1', T0);
    assert.equal((await a.buffer.claimDue(T0 + 100)).length, 1);
    assert.deepEqual(await b.buffer.claimDue(T0 + 590), [], 'the take moved it to the lease expiry');
    const late = await a.buffer.store([tid], [spanRecord()], 'set1', T0 + 300);
    assert.deepEqual(late, { buffered: 0, late: 1, duplicates: 0 }, 'a claimed trace is being evaluated');
    const taken = await b.buffer.claimDue(T0 + 600);
    assert.deepEqual(taken.map((c) => [c.traceId, c.takeover, c.spans.length]), [[tid, true, 1]]);
    assert.match(await b.registry.metrics(), /betrace_redis_takeovers_total 1/);
    await a.buffer.finalise([{ traceId: tid, recordIds: [] }]);
    assert.match(await a.registry.metrics(), /betrace_redis_claims_lost_total 1/);
  });

  it('keeps a renewed claim past its first lease', async () => {
    const a = await readyBuffer('a');
    const b = await readyBuffer('b');
    const tid = traceIdOf(10);
    await a.buffer.store([tid], [spanRecord()], 'set1', T0);
    await a.buffer.claimDue(T0 + 100);
    assert.equal(await a.buffer.renew([tid], T0 + 400), 1);
    assert.deepEqual(await b.buffer.claimDue(T0 + 700), []);
    const claim = await direct.hmget(createKeyLayout(PREFIX).traceKeys(tid).meta, 'c', 'x');
    assert.deepEqual(claim, ['a', String(T0 + 900)]);
    assert.equal(await b.buffer.renew([tid], T0 + 700), 0, 'only the holder renews');
  });

  it('hands a released claim to another instance at once', async () => {
    const a = await readyBuffer('a');
    const b = await readyBuffer('b');
    const tid = traceIdOf(11);
    await a.buffer.store([tid], [spanRecord()], 'set1', T0);
    await a.buffer.claimDue(T0 + 100);
    await a.buffer.release([tid], T0 + 110);
    const taken = await b.buffer.claimDue(T0 + 120);
    assert.deepEqual(taken.map((c) => [c.traceId, c.takeover, c.trigger]), [[tid, false, 'idle']]);
  });

  it('keeps only the decided marker after finalising, with the decided-cache TTL, and makes later spans late', async () => {
    const { buffer } = await readyBuffer('a');
    const tid = traceIdOf(12);
    await buffer.store([tid], [spanRecord({ isRoot: true })], 'set1', T0);
    await buffer.claimDue(T0 + 50);
    await buffer.finalise([{ traceId: tid, recordIds: ['r1', 'r2'] }]);
    const keys = createKeyLayout(PREFIX).traceKeys(tid);
    assert.deepEqual(await direct.keys(`${PREFIX}*`), [keys.decided]);
    assert.equal(await direct.get(keys.decided), 'r1,r2');
    const ttl = await direct.pttl(keys.decided);
    assert.ok(ttl > 50_000 && ttl <= 60_000, `ttl ${ttl}`);
    assert.deepEqual(await buffer.store([tid], [spanRecord()], 'set1', T0 + 60), { buffered: 0, late: 1, duplicates: 0 });
    assert.deepEqual(await buffer.claimDue(T0 + 500), [], 'a late span does not reopen the trace');
    await waitFor(async () => (await direct.keys(`${PREFIX}due:*`)).length === 0);
  });

  it('rejects a store while redis is down, and works again once it is back', async () => {
    const { buffer, connection, registry } = await readyBuffer('a');
    await redis.stop();
    await waitFor(async () => !connection.isReady());
    await assert.rejects(buffer.store([traceIdOf(13)], [spanRecord()], 'set1', T0));
    assert.match(await registry.metrics(), /betrace_redis_errors_total\{op="store"\} 1/);
    await redis.restart();
    assert.equal(await connection.waitReady(5000), true);
    assert.deepEqual(await buffer.store([traceIdOf(13)], [spanRecord()], 'set1', T0), { buffered: 1, late: 0, duplicates: 0 });
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
