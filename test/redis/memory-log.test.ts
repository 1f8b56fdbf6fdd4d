/**
 * The log of a Redis at its maxmemory: a Redis that refuses and takes
 * writes by turns does not flood the log, and the last state is always
 * logged.
 */

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { RedisMemoryLog } from '../../processor/buffer/redis-memory-log';
import { captureLog } from '../helpers/log-capture';

const FULL = 'redis out of memory; refusing spans while evaluated traces free memory';
const WRITABLE = 'redis takes writes again';

describe('the redis memory log', () => {
  it('logs one line per interval while redis flaps, then the state at the end of the interval', async () => {
    const log = captureLog();
    let now = 1_000_000;
    const memory = new RedisMemoryLog(log.logger, 'redis://127.0.0.1:1', 50, () => now);
    memory.full();
    for (let i = 0; i < 30; i++) {
      now += 1;
      memory.writable();
      memory.full();
    }
    now += 1;
    memory.writable();
    assert.deepEqual(log.messages(), [FULL]);
    now += 60;
    await new Promise((resolve) => setTimeout(resolve, 80));
    assert.deepEqual(log.messages(), [FULL, WRITABLE]);
    assert.equal(log.lines[1].unloggedChanges, 61);
    assert.equal(log.lines[1].fullMs, 91, 'from the first refusal');
  });

  it('logs nothing more when the flapping ends in the state already logged', async () => {
    const log = captureLog();
    let now = 0;
    const memory = new RedisMemoryLog(log.logger, 'redis://127.0.0.1:1', 50, () => now);
    memory.full();
    now += 1;
    memory.writable();
    memory.full();
    now += 60;
    await new Promise((resolve) => setTimeout(resolve, 80));
    assert.deepEqual(log.messages(), [FULL]);
    memory.writable();
    assert.deepEqual(log.messages(), [FULL, WRITABLE], 'a change after the interval is logged at once');
  });
});
