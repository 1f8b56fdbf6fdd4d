import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { BetraceError } from '../../processor/errors';
import { createLogErrorOnce, toErrorKind } from '../../processor/receiver/log-once';
import { createTestDeps } from './fixtures';

describe('createLogErrorOnce', () => {
  it('logs the first error of each kind only', () => {
    const { logger, logs } = createTestDeps();
    const logErrorOnce = createLogErrorOnce(logger);
    const logged = [
      logErrorOnce('TypeError', new TypeError('a')),
      logErrorOnce('TypeError', new TypeError('b')),
      logErrorOnce('RangeError', new RangeError('c')),
    ];
    assert.deepEqual(logged, [true, false, true]);
    assert.deepEqual(
      logs.map((l) => (l.err as { message: string }).message),
      ['a', 'c'],
    );
  });

  it('stops remembering new kinds past its bound and says so once', () => {
    const { logger, logs } = createTestDeps();
    const logErrorOnce = createLogErrorOnce(logger, 2);
    for (const kind of ['a', 'b', 'c', 'd']) logErrorOnce(kind, new Error(kind));
    assert.deepEqual(logs.map((l) => l.level), [50, 50, 40]);
  });
});

describe('toErrorKind', () => {
  it('joins the class name and the code', () => {
    assert.equal(toErrorKind(new BetraceError('ERR_X', 'm')), 'BetraceError:ERR_X');
    assert.equal(toErrorKind(new TypeError('m')), 'TypeError');
    assert.equal(toErrorKind('text'), 'string');
  });
});
