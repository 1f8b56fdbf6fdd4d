import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { parseDuration } from '../../config/duration';

describe('parseDuration', () => {
  const valid: ReadonlyArray<[string, number]> = [
    ['250ms', 250],
    ['1.5s', 1500],
    ['1.1s', 1100],
    ['.5s', 500],
    ['5s', 5000],
    ['10m', 600_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['1h0m0.5s', 3_600_500],
    ['300s', 300_000],
    ['1500us', 1.5],
    ['1500µs', 1.5],
    ['1000000ns', 1],
    ['0.001s', 1],
    ['0s', 0],
    ['0ms', 0],
  ];
  for (const [text, ms] of valid) {
    it(`reads "${text}" as ${ms}ms`, () => {
      assert.equal(parseDuration(text), ms);
    });
  }

  const invalid: ReadonlyArray<[string, string]> = [
    ['5', 'duration "5" has no unit (write e.g. "5s" or "5ms"; units: ns, us, ms, s, m, h)'],
    ['0', 'duration "0" has no unit (write e.g. "0s" or "0ms"; units: ns, us, ms, s, m, h)'],
    ['2.5', 'duration "2.5" has no unit (write e.g. "2.5s" or "2.5ms"; units: ns, us, ms, s, m, h)'],
    ['-1s', 'duration "-1s" is negative'],
    ['500us', 'duration "500us" is below 1ms, the smallest non-zero duration'],
    ['0.5ms', 'duration "0.5ms" is below 1ms, the smallest non-zero duration'],
    ['0.1ns', 'duration "0.1ns" is below 1ms, the smallest non-zero duration'],
    ['5x', 'duration "5x" has an unknown unit "x" (units: ns, us, ms, s, m, h)'],
    ['5S', 'duration "5S" has an unknown unit "S" (units: ns, us, ms, s, m, h)'],
    ['30d', 'duration "30d" has an unknown unit "d" (units: ns, us, ms, s, m, h)'],
    ['5 s', 'duration "5 s" has an unknown unit " s" (units: ns, us, ms, s, m, h)'],
    ['1m30', 'duration "1m30" has a number without a unit (units: ns, us, ms, s, m, h)'],
    ['abc', 'duration "abc" is not a number with a unit (e.g. "5s", "250ms", "1.5m")'],
    ['', 'duration is empty (write e.g. "5s" or "250ms")'],
  ];
  for (const [text, message] of invalid) {
    it(`rejects "${text}"`, () => {
      assert.throws(() => parseDuration(text), (err: { code: string; message: string }) => {
        assert.equal(err.code, 'ERR_CONFIG_BAD_DURATION');
        assert.equal(err.message, message);
        return true;
      });
    });
  }
});
