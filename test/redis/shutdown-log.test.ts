/**
 * What the Redis connection logs: losing Redis is a warning, closing the
 * connection on purpose (a normal shutdown) is not.
 */

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { createRedisConnection } from '../../processor/buffer/redis-connection';
import { startOtlpSink } from '../helpers/otlp-sink';
import { skipUnless } from '../helpers/requirements';
import { startMember, waitUntil } from './fleet-harness';
import { EVERY_SPAN_RULE } from './fleet-workload';
import { WARN, captureLog } from '../helpers/log-capture';
import { startRedis } from './redis-process';

import type { OtlpSink } from '../helpers/otlp-sink';
import type { RedisProcess } from './redis-process';

const SKIP = skipUnless('redis-server', 'BETRACE_REQUIRE_REDIS');
const UNREACHABLE = 'redis unreachable; refusing spans until it is back';

describe('the redis connection\'s log', { skip: SKIP }, () => {
  let redis: RedisProcess;
  let sink: OtlpSink;

  before(async () => {
    redis = await startRedis();
    sink = await startOtlpSink({ protocol: 'grpc' });
  });
  after(async () => {
    await sink?.close();
    await redis?.close();
  });

  it('warns when redis goes away, and says nothing of it when the connection is closed on purpose', async () => {
    const lost = captureLog();
    const dropped = createRedisConnection({ url: redis.url, keyPrefix: 'log:' }, { logger: lost.logger });
    const closed = captureLog();
    const quitting = createRedisConnection({ url: redis.url, keyPrefix: 'log:' }, { logger: closed.logger });
    try {
      assert.equal(await dropped.waitReady(5000), true);
      assert.equal(await quitting.waitReady(5000), true);
      await quitting.close();
      await redis.restart();
      await waitUntil('the lost connection back', () => dropped.isReady());
    } finally {
      await dropped.close();
      await quitting.close();
    }
    assert.deepEqual(lost.messages(), ['redis connected', UNREACHABLE, 'redis connected']);
    assert.deepEqual(closed.messages(), ['redis connected']);
  });

  it('logs no warning from a normal shutdown of an instance, down to "stopped"', async () => {
    const log = captureLog();
    const member = await startMember(redis.url, 'log:', sink, { rules: { 'steps.yaml': EVERY_SPAN_RULE }, logger: log.logger });
    const started = log.lines.length;
    await member.stop();
    const shutdown = log.lines.slice(started);
    assert.equal(shutdown[0]?.msg, 'shutting down');
    assert.equal(shutdown[shutdown.length - 1]?.msg, 'stopped');
    assert.deepEqual(shutdown.filter((l) => l.level >= WARN).map((l) => l.msg), []);
  });
});
