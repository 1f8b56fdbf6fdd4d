import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { createPressureLog } from '../../processor/buffer/pressure-log';

import type { Logger } from '../../processor/log';

function recordingLogger(lines: Array<[Record<string, unknown>, string]>): Logger {
  return { warn: (fields: Record<string, unknown>, msg: string) => lines.push([fields, msg]) } as unknown as Logger;
}

describe('createPressureLog', () => {
  it('warns when eviction starts, then sums it up at most once per interval', () => {
    const lines: Array<[Record<string, unknown>, string]> = [];
    let now = 0;
    const log = createPressureLog(recordingLogger(lines), { maxTraces: 10, maxBytes: 100 }, () => now, 1000);
    log.evicted('evaluate');
    assert.equal(lines.length, 1);
    assert.match(lines[0][1], /raise buffer\.max_traces/);
    assert.deepEqual(lines[0][0], { evaluated: 1, dropped: 0, maxTraces: 10, maxBytes: 100 });
    for (let i = 0; i < 500; i++) log.evicted(i % 2 === 0 ? 'evaluate' : 'drop');
    assert.equal(lines.length, 1, 'no line per eviction');
    now = 1000;
    log.evicted('drop');
    assert.equal(lines.length, 2);
    assert.deepEqual(lines[1][0], { evaluated: 250, dropped: 251, maxTraces: 10, maxBytes: 100 });
    assert.equal(lines[1][1], 'buffer still evicting traces');
  });
});
