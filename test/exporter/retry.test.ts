import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { computeBackoffMs, sendWithRetry } from '../../processor/exporter/retry';

import type { RetryClock } from '../../processor/exporter/retry';
import type { AttemptOutcome, PreparedRequest } from '../../processor/exporter/transport';

const POLICY = { initialIntervalMs: 100, maxIntervalMs: 1000, maxElapsedTimeMs: 5000 };

/** A clock that jumps forward by each requested delay at once. */
function jumpingClock(): RetryClock & { sleeps: number[] } {
  let nowMs = 1_000_000;
  const sleeps: number[] = [];
  return {
    sleeps,
    now: () => nowMs,
    setTimeout: (fn, delayMs) => {
      sleeps.push(delayMs);
      nowMs += delayMs;
      queueMicrotask(fn);
      return sleeps.length;
    },
    clearTimeout: () => undefined,
  };
}

function scripted(outcomes: AttemptOutcome[], clock?: { advance: (ms: number) => void; ms: number }): PreparedRequest & { calls: number[] } {
  const calls: number[] = [];
  return {
    calls,
    attempt: async (timeoutMs) => {
      calls.push(timeoutMs);
      if (clock) clock.advance(clock.ms);
      return outcomes[Math.min(calls.length - 1, outcomes.length - 1)];
    },
  };
}

const UNAVAILABLE: AttemptOutcome = { ok: false, retryable: true, timedOut: false, status: 'UNAVAILABLE', message: 'down' };
const INVALID: AttemptOutcome = { ok: false, retryable: false, timedOut: false, status: 'INVALID_ARGUMENT', message: 'bad' };
const OK: AttemptOutcome = { ok: true, rejectedSpans: 0, message: '' };

describe('computeBackoffMs', () => {
  it('doubles the interval from the initial one up to the maximum', () => {
    const top = (i: number): number => computeBackoffMs(i, POLICY, () => 0.999999);
    assert.deepEqual([0, 1, 2, 3, 4, 5].map((i) => Math.round(top(i))), [100, 200, 400, 800, 1000, 1000]);
  });

  it('never waits less than half the interval (equal jitter)', () => {
    assert.deepEqual([0, 1, 2, 3, 4].map((i) => computeBackoffMs(i, POLICY, () => 0)), [50, 100, 200, 400, 500]);
  });

  it('stays finite for very many retries', () => {
    assert.equal(computeBackoffMs(10_000, POLICY, () => 0.5), 750);
  });
});

describe('sendWithRetry', () => {
  const base = { policy: POLICY, timeoutMs: 300, deadlineAt: Infinity, random: () => 0 };

  it('returns at once on success', async () => {
    const clock = jumpingClock();
    const prepared = scripted([OK]);

    const result = await sendWithRetry(prepared, { ...base, clock, signal: new AbortController().signal });

    assert.equal(result.stop, null);
    assert.equal(result.attempts, 1);
    assert.deepEqual(clock.sleeps, []);
  });

  it('retries retryable failures with growing waits until success', async () => {
    const clock = jumpingClock();
    const prepared = scripted([UNAVAILABLE, UNAVAILABLE, UNAVAILABLE, OK]);
    const retried: number[] = [];

    const result = await sendWithRetry(prepared, {
      ...base, clock, signal: new AbortController().signal, onRetry: (_f, delayMs) => retried.push(delayMs),
    });

    assert.equal(result.stop, null);
    assert.equal(result.attempts, 4);
    assert.deepEqual(clock.sleeps, [50, 100, 200]);
    assert.deepEqual(retried, [50, 100, 200]);
  });

  it('stops at the first permanent failure', async () => {
    const clock = jumpingClock();
    const prepared = scripted([UNAVAILABLE, INVALID, OK]);

    const result = await sendWithRetry(prepared, { ...base, clock, signal: new AbortController().signal });

    assert.equal(result.stop, 'permanent');
    assert.equal(result.attempts, 2);
    assert.equal(result.outcome, INVALID);
  });

  it('gives up when the next wait would pass max elapsed time', async () => {
    const clock = jumpingClock();
    const prepared = scripted([UNAVAILABLE]);

    const result = await sendWithRetry(prepared, { ...base, clock, signal: new AbortController().signal });

    // Waits 50, 100, 200, 400, 500, 500, ... add up to 4750 before the next 500 passes 5000.
    assert.equal(result.stop, 'elapsed');
    assert.equal(clock.sleeps.reduce((a, b) => a + b, 0), 4750);
    assert.equal(result.attempts, clock.sleeps.length + 1);
  });

  it('retries forever when max elapsed time is 0, until the deadline', async () => {
    const clock = jumpingClock();
    const prepared = scripted([UNAVAILABLE]);

    const result = await sendWithRetry(prepared, {
      ...base,
      policy: { ...POLICY, maxElapsedTimeMs: 0 },
      deadlineAt: clock.now() + 60_000,
      clock,
      signal: new AbortController().signal,
    });

    assert.equal(result.stop, 'deadline');
    assert.ok(result.attempts > 60);
  });

  it('waits as long as the downstream asks when that is longer than the backoff', async () => {
    const clock = jumpingClock();
    const prepared = scripted([{ ...UNAVAILABLE, retryAfterMs: 1234 }, OK]);

    await sendWithRetry(prepared, { ...base, clock, signal: new AbortController().signal });

    assert.deepEqual(clock.sleeps, [1234]);
  });

  it('shortens the last attempt so that it ends by the deadline', async () => {
    const clock = jumpingClock();
    const prepared = scripted([UNAVAILABLE, OK]);

    await sendWithRetry(prepared, { ...base, deadlineAt: clock.now() + 150, clock, signal: new AbortController().signal });

    assert.deepEqual(prepared.calls, [150, 100]);
  });

  it('gives every attempt its full timeout within the retry budget', async () => {
    const clock = jumpingClock();
    const prepared = scripted([UNAVAILABLE]);

    await sendWithRetry(prepared, {
      ...base,
      policy: { ...POLICY, maxElapsedTimeMs: 400 },
      clock,
      signal: new AbortController().signal,
    });

    // The last attempt starts at 350 ms and still gets 300 ms, past the 400 ms budget.
    assert.deepEqual(prepared.calls, [300, 300, 300, 300]);
  });

  it('stops waiting when the signal aborts', async () => {
    const controller = new AbortController();
    const clock: RetryClock = {
      now: () => 0,
      setTimeout: () => {
        queueMicrotask(() => controller.abort());
        return 1;
      },
      clearTimeout: () => undefined,
    };

    const result = await sendWithRetry(scripted([UNAVAILABLE]), { ...base, clock, signal: controller.signal });

    assert.equal(result.stop, 'aborted');
    assert.equal(result.attempts, 1);
  });
});
