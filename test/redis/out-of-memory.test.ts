/**
 * A Redis at `maxmemory` with `noeviction`: the scripts that free memory or
 * touch a claim carry `allow-oom` and go through ioredis (EVAL, then
 * EVALSHA) as they are; the buffer refuses stores as out of memory but
 * keeps claiming, rescheduling, renewing, releasing and finalising; and a
 * whole instance pushes back, reports it on /readyz, and drains by itself.
 */

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';

import { Registry } from 'prom-client';

import { RedisTraceBuffer } from '../../processor/buffer/redis-buffer';
import { createRedisConnection } from '../../processor/buffer/redis-connection';
import { createKeyLayout } from '../../processor/buffer/redis-keys';
import { createRedisMetrics } from '../../processor/buffer/redis-metrics';
import * as bufferScripts from '../../processor/buffer/redis-scripts';
import * as ruleScripts from '../../processor/fleet/rule-scripts';
import { createSilentLogger } from '../../processor/log';
import { startOtlpSink } from '../helpers/otlp-sink';
import { buildRequest, hexId } from '../helpers/otlp-build';
import { skipUnless } from '../helpers/requirements';
import { spanRecord, traceIdOf } from '../helpers/span-records';
import { startMember, sumMetric, waitUntil } from './fleet-harness';
import { receivedVerdicts } from './fleet-workload';
import { startRedis } from './redis-process';

import type Redis from 'ioredis';

import type { RedisConnection } from '../../processor/buffer/redis-connection';
import type { ScriptDefinition } from '../../processor/buffer/redis-scripts';
import type { OtlpSink } from '../helpers/otlp-sink';
import type { TestSpan } from '../helpers/otlp-build';
import type { FleetMember } from './fleet-harness';
import type { RedisProcess } from './redis-process';

const SKIP = skipUnless('redis-server', 'BETRACE_REQUIRE_REDIS');
const MAX_MEMORY = '3mb';
const T0 = 1_800_000_000_000;
const PREFIX = 'oom:';
const LIMITS = { maxSpansPerTrace: 100, idleTimeoutMs: 100, rootGraceMs: 20, maxTraceAgeMs: 1000, decidedTtlMs: 60_000, leaseMs: 500 };
/** Room left below maxmemory before spans are stored; a few dozen large spans fill it. */
const ROOM_BYTES = 128 * 1024;
/**
 * Once a store is refused, maxmemory is set this far below what Redis
 * uses: right at the limit, the memory of each refused command coming and
 * going would let Redis take writes now and then; from here only freeing
 * the stored traces brings it back under.
 */
const OVER_BYTES = 48 * 1024;
const NOTE = 'n'.repeat(2048);
/** Every trace breaks the first rule; the second makes the instance keep each span's large note. */
const RULES = `rules:
  - id: every-span
    condition: when { step } always { missing.span }
  - id: notes-read
    condition: when { step.where(note == "none") } always { missing.span }
`;

const ALL_SCRIPTS: Record<string, ScriptDefinition> = {
  STORE_SPANS: bufferScripts.STORE_SPANS,
  TAKE_DUE: bufferScripts.TAKE_DUE,
  CLAIM_TRACE: bufferScripts.CLAIM_TRACE,
  INDEX_TRACE: bufferScripts.INDEX_TRACE,
  RENEW_CLAIM: bufferScripts.RENEW_CLAIM,
  FINALISE_TRACE: bufferScripts.FINALISE_TRACE,
  RELEASE_CLAIM: bufferScripts.RELEASE_CLAIM,
  PROBE_MEMORY: bufferScripts.PROBE_MEMORY,
  LOAD_RULES: ruleScripts.LOAD_RULES,
  SAVE_RULES: ruleScripts.SAVE_RULES,
  HEARTBEAT: ruleScripts.HEARTBEAT,
};

describe('the flags of the redis scripts', () => {
  const cases: Array<[string, string]> = [
    ['STORE_SPANS', '#!lua'],
    ['SAVE_RULES', '#!lua'],
    ['PROBE_MEMORY', '#!lua'],
    ['TAKE_DUE', '#!lua flags=allow-oom'],
    ['CLAIM_TRACE', '#!lua flags=allow-oom'],
    ['INDEX_TRACE', '#!lua flags=allow-oom'],
    ['RENEW_CLAIM', '#!lua flags=allow-oom'],
    ['FINALISE_TRACE', '#!lua flags=allow-oom'],
    ['RELEASE_CLAIM', '#!lua flags=allow-oom'],
    ['HEARTBEAT', '#!lua flags=allow-oom'],
    ['LOAD_RULES', '#!lua flags=no-writes'],
  ];
  for (const [name, first] of cases) {
    it(`opens ${name} with "${first}"`, () => {
      assert.equal(ALL_SCRIPTS[name].lua.split('\n')[0], first);
    });
  }

  it('names every script in the table above', () => {
    assert.deepEqual(cases.map(([name]) => name).sort(), Object.keys(ALL_SCRIPTS).sort());
  });
});

describe('flagged scripts through ioredis on a full redis', { skip: SKIP }, () => {
  let redis: RedisProcess;
  let direct: Redis;
  let connection: RedisConnection;

  before(async () => {
    redis = await startRedis({ maxMemory: MAX_MEMORY });
    direct = redis.client();
    connection = createRedisConnection({ url: redis.url, keyPrefix: PREFIX }, { logger: createSilentLogger() });
    assert.equal(await connection.waitReady(5000), true);
  });
  after(async () => {
    await connection?.close();
    await redis?.close();
  });

  it('runs an allow-oom script by EVAL, then EVALSHA, and again after redis forgot it, and refuses an unflagged one', async () => {
    const allowed = connection.defineScript({ keys: 1, lua: '#!lua flags=allow-oom\nredis.call(\'SET\', KEYS[1], ARGV[1])\nreturn 1\n' });
    const refused = connection.defineScript({ keys: 1, lua: '#!lua\nredis.call(\'SET\', KEYS[1], ARGV[1])\nreturn 1\n' });
    await fillMemory(direct, -1);
    for (let i = 0; i < 3; i++) assert.equal(await allowed(['oom:k'], [String(i)]), 1);
    await direct.script('FLUSH');
    assert.equal(await allowed(['oom:k'], ['again']), 1);
    await assert.rejects(refused(['oom:k'], ['no']), /^ReplyError: OOM /);
    assert.equal(await direct.get('oom:k'), 'again');
    const stats = await direct.info('commandstats');
    assert.match(stats, /^cmdstat_evalsha:calls=[1-9]/m, 'EVALSHA was used');
    assert.match(stats, /^cmdstat_eval:calls=[1-9]/m, 'EVAL was used when redis lacked the script');
    await direct.del('filler');
  });
});

describe('RedisTraceBuffer when redis is at maxmemory', { skip: SKIP }, () => {
  let redis: RedisProcess;
  let direct: Redis;
  const connections: RedisConnection[] = [];

  before(async () => {
    redis = await startRedis({ maxMemory: MAX_MEMORY });
    direct = redis.client();
  });
  after(async () => {
    for (const c of connections) await c.close();
    await redis?.close();
  });
  beforeEach(async () => {
    await direct.flushall();
  });

  it('refuses stores as out of memory, keeps claiming, rescheduling, renewing, releasing and finalising, and then takes stores again', async () => {
    const connection = createRedisConnection({ url: redis.url, keyPrefix: PREFIX }, { logger: createSilentLogger() });
    connections.push(connection);
    assert.equal(await connection.waitReady(5000), true);
    const registry = new Registry();
    const layout = createKeyLayout(PREFIX);
    const buffer = new RedisTraceBuffer({ connection, keyPrefix: PREFIX, instanceId: 'a', metrics: createRedisMetrics(registry), ...LIMITS });
    const note = () => spanRecord({ name: 'step', attrs: ['note', NOTE] });
    // Each kind of command costs Redis memory the first time that later ones do not (buffers, caches).
    const warm = traceIdOf(2);
    const W0 = T0 - 10_000;
    await buffer.store([warm], [note()], 'set1', W0);
    await buffer.claimDue(W0 + LIMITS.idleTimeoutMs);
    await buffer.renew([warm], W0 + 200);
    await buffer.release([warm], W0 + 210);
    await buffer.claimDue(W0 + 220);
    await buffer.finalise([{ traceId: warm, recordIds: [] }]);

    // Stored twice, so that its index score (the first idle deadline) is earlier than its true one.
    const early = traceIdOf(1);
    await buffer.store([early], [note()], 'set1', T0);
    await buffer.store([early], [note()], 'set1', T0 + 60);

    await fillMemory(direct, ROOM_BYTES);
    const stored: string[] = [];
    let refusal: (Error & { code?: string; retryable?: boolean }) | null = null;
    for (let round = 0; refusal === null; round++) {
      assert.ok(round < 200, 'redis never ran out of memory');
      const ids = [traceIdOf(100 + round * 2), traceIdOf(101 + round * 2)];
      try {
        await buffer.store([ids[0], ids[0], ids[1], ids[1]], [note(), note(), note(), note()], 'set1', T0);
      } catch (err) {
        refusal = err as Error;
      }
      // A refused request may have stored some of its traces; a retry would store each span once.
      for (const id of ids) if (await direct.exists(layout.traceKeys(id).meta) === 1) stored.push(id);
    }
    assert.equal(refusal.code, 'ERR_REDIS_UNAVAILABLE');
    assert.match(refusal.message, /^redis at redis:\/\/127\.0\.0\.1:\d+ is out of memory \(maxmemory\)/);
    assert.equal(refusal.retryable, true);
    assert.ok(stored.length > 0);
    assert.equal(buffer.outOfMemory, true);
    await setLimitBelowUse(direct, OVER_BYTES);
    await assert.rejects(direct.set('oom:other', 'x'), /OOM/);
    assert.equal(await buffer.probeMemory(), true, 'still full');

    const claimed = await buffer.claimDue(T0 + LIMITS.idleTimeoutMs);
    assert.deepEqual(claimed.map((c) => c.traceId).sort(), [...stored].sort());
    await waitFor(async () => Number(await direct.zscore(layout.dueKey(layout.shardOf(early)), early)) === T0 + 60 + LIMITS.idleTimeoutMs);
    assert.equal(await buffer.renew(stored, T0 + 200), stored.length);
    await buffer.release([stored[0]], T0 + 210);
    const again = await buffer.claimDue(T0 + 220);
    assert.deepEqual(again.map((c) => c.traceId).sort(), [early, stored[0]].sort());
    assert.equal(await buffer.probeMemory(), true, 'claims free nothing yet');

    await buffer.finalise([early, ...stored].map((traceId) => ({ traceId, recordIds: ['r'] })));
    assert.equal(await buffer.probeMemory(), false, 'deleting the evaluated traces freed memory');
    assert.equal(buffer.outOfMemory, false);
    assert.deepEqual(await buffer.store([traceIdOf(99_999)], [note()], 'set1', T0 + 300), { buffered: 1, late: 0, duplicates: 0 });

    const text = await registry.metrics();
    for (const op of ['take', 'claim', 'reschedule', 'renew', 'release', 'finalise']) {
      assert.match(text, new RegExp(`^betrace_redis_errors_total\\{op="${op}"\\} 0$`, 'm'), op);
    }
    assert.match(text, /^betrace_redis_refused_requests_total\{reason="out_of_memory"\} 1$/m);
  });
});

describe('an instance whose redis reaches maxmemory', { skip: SKIP }, () => {
  let redis: RedisProcess;
  let direct: Redis;
  let sink: OtlpSink;
  let member: FleetMember;

  before(async () => {
    redis = await startRedis({ maxMemory: MAX_MEMORY });
    direct = redis.client();
    sink = await startOtlpSink({ protocol: 'grpc' });
    member = await startMember(redis.url, PREFIX, sink, { rules: { 'steps.yaml': RULES } });
  });
  after(async () => {
    await member?.stop();
    await sink?.close();
    await redis?.close();
  });

  it('pushes back while redis is full, drains it by itself, and takes spans again', async () => {
    // Redis's first stores, claims and finalisations cost it memory that later ones do not (buffers, caches).
    const warm = stepTrace();
    assert.equal((await member.send(buildRequest([{ resource: { 'service.name': 'shop' }, spans: warm }]))).error, null);
    await waitUntil('the first trace evaluated', async () =>
      receivedVerdicts(sink.requests).some((v) => v.traceId === warm[0].traceId) && (await direct.keys(`${PREFIX}*:spans`)).length === 0);
    await fillMemory(direct, ROOM_BYTES);
    const acked: string[] = [];
    let details = '';
    for (let round = 0; details === ''; round++) {
      assert.ok(round < 200, 'never refused');
      const traces = [stepTrace(), stepTrace()];
      const outcome = await member.send(buildRequest([{ resource: { 'service.name': 'shop' }, spans: traces.flat() }]));
      if (outcome.error === null) {
        acked.push(...traces.map((t) => String(t[0].traceId)));
      } else {
        assert.equal(outcome.error.code, 14, outcome.error.details);
        details = outcome.error.details;
      }
    }
    assert.match(details, /out of memory \(maxmemory\)/);
    assert.ok(acked.length > 0);
    await setLimitBelowUse(direct, OVER_BYTES);

    await waitUntil('spans taken again', async () => {
      const outcome = await member.send(buildRequest([{ resource: { 'service.name': 'shop' }, spans: stepTrace() }]));
      return outcome.error === null;
    }, 15_000);
    await waitUntil('every acknowledged trace evaluated', () => {
      const evaluated = new Set(receivedVerdicts(sink.requests).map((v) => v.traceId));
      return acked.every((id) => evaluated.has(id));
    });
    for (const op of ['take', 'claim', 'finalise']) {
      assert.equal(await sumMetric([member], `betrace_redis_errors_total{op="${op}"}`), 0, op);
    }
    assert.ok(await sumMetric([member], 'betrace_redis_refused_requests_total{reason="out_of_memory"}') >= 1);
  });

  it('reports "redis out of memory" on /readyz while stores are refused for it, and is ready again once redis has room', async () => {
    await setLimitBelowUse(direct, OVER_BYTES);
    const refused = await member.send(buildRequest([{ resource: { 'service.name': 'shop' }, spans: stepTrace() }]));
    assert.equal(refused.error?.code, 14);
    assert.match(refused.error?.details ?? '', /out of memory/);
    const ready = await fetch(`${member.adminUrl}/readyz`);
    assert.equal(ready.status, 503);
    assert.deepEqual(((await ready.json()) as { reasons: string[] }).reasons, ['redis out of memory']);

    await direct.config('SET', 'maxmemory', MAX_MEMORY);
    await waitUntil('ready again', async () => (await fetch(`${member.adminUrl}/readyz`)).status === 200);
    const accepted = await member.send(buildRequest([{ resource: { 'service.name': 'shop' }, spans: stepTrace() }]));
    assert.equal(accepted.error, null);
  });
});

/** A trace of four `step` spans, each with a large note. */
function stepTrace(): TestSpan[] {
  const traceId = hexId(16);
  return Array.from({ length: 4 }, () => ({ traceId, spanId: hexId(8), name: 'step', attributes: { note: NOTE } }));
}

/**
 * Writes a filler hash until Redis's memory (as it counts it for
 * maxmemory) is within `roomBytes` of the limit, or until Redis refuses a
 * write; with a negative room, until it refuses one.
 */
async function fillMemory(client: Redis, roomBytes: number): Promise<void> {
  const chunk = 'f'.repeat(16 * 1024);
  for (let round = 0; ; round++) {
    const { used, max } = await memoryOf(client);
    const left = max - roomBytes - used;
    if (left < 0) return;
    assert.ok(round < 1000, `redis memory does not grow (${used} of ${max} bytes used)`);
    // Chunks keep every command small, so no large input buffer lingers in Redis's count.
    const pipeline = client.pipeline();
    const count = Math.max(1, Math.min(16, Math.floor(left / (24 * 1024))));
    for (let i = 0; i < count; i++) pipeline.hset('filler', `${round}.${i}.${Math.random()}`, chunk);
    for (const [err] of (await pipeline.exec()) ?? []) {
      // Redis counts the command it reads too, so it may refuse one a little before the limit.
      if (err !== null && /^OOM /.test(err.message)) return;
      if (err !== null) throw err;
    }
  }
}

/** Sets maxmemory `bytes` below what Redis uses now. */
async function setLimitBelowUse(client: Redis, bytes: number): Promise<void> {
  const { used } = await memoryOf(client);
  await client.config('SET', 'maxmemory', String(used - bytes));
}

async function memoryOf(client: Redis): Promise<{ used: number; max: number }> {
  const info = await client.info('memory');
  const field = (name: string): number => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  return { used: field('used_memory') - field('mem_not_counted_for_evict'), max: field('maxmemory') };
}

async function waitFor(check: () => Promise<boolean>, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}
