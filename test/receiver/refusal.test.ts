import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { BetraceError } from '../../processor/errors';
import { IngestRefusedError } from '../../processor/receiver/ingest';
import { DEFAULT_RETRY_AFTER_MS, toRefusal, toRetryAfterSeconds } from '../../processor/receiver/refusal';

describe('toRefusal', () => {
  const cases: Array<{ name: string; err: unknown; want: [string, number, number] }> = [
    {
      name: 'decoder errors are malformed input',
      err: new BetraceError('ERR_PROTO_MALFORMED', 'truncated at byte 3'),
      want: ['malformed', 3, 400],
    },
    {
      name: 'JSON errors are malformed input',
      err: new BetraceError('ERR_PROTO_JSON_FIELD', 'traceId: expected hex'),
      want: ['malformed', 3, 400],
    },
    {
      name: 'an oversized body is too_large',
      err: new BetraceError('ERR_RECEIVER_BODY_TOO_LARGE', 'too big'),
      want: ['too_large', 8, 413],
    },
    {
      name: 'bad gzip is bad_gzip',
      err: new BetraceError('ERR_RECEIVER_BAD_GZIP', 'not gzip'),
      want: ['bad_gzip', 3, 400],
    },
    {
      name: 'an unknown content type is unsupported_media_type',
      err: new BetraceError('ERR_RECEIVER_UNSUPPORTED_MEDIA_TYPE', 'text/plain'),
      want: ['unsupported_media_type', 3, 415],
    },
    {
      name: 'an unknown content encoding is unsupported_encoding',
      err: new BetraceError('ERR_RECEIVER_UNSUPPORTED_ENCODING', 'br'),
      want: ['unsupported_encoding', 3, 400],
    },
    {
      name: 'a full queue is queue_full even when not marked retryable',
      err: new IngestRefusedError('ERR_RECEIVER_QUEUE_FULL', 'full', 4),
      want: ['queue_full', 14, 503],
    },
    {
      name: 'shutting down is shutting_down',
      err: new IngestRefusedError('ERR_RECEIVER_SHUTTING_DOWN', 'stopping', 0, { retryable: true }),
      want: ['shutting_down', 14, 503],
    },
    {
      name: 'another retryable error is unavailable',
      err: new BetraceError('ERR_EXPORTER_SEND_FAILED', 'downstream down', { retryable: true }),
      want: ['unavailable', 14, 503],
    },
    {
      name: 'another permanent error is malformed input',
      err: new BetraceError('ERR_EXPORTER_PERMANENT', 'downstream said invalid'),
      want: ['malformed', 3, 400],
    },
    { name: 'a plain Error is internal', err: new Error('bug'), want: ['internal', 13, 500] },
    { name: 'a thrown string is internal', err: 'bug', want: ['internal', 13, 500] },
  ];
  for (const { name, err, want } of cases) {
    it(`classifies: ${name}`, () => {
      const refusal = toRefusal(err);
      assert.deepEqual([refusal.reason, refusal.rpcCode, refusal.httpStatus], want);
      if (err instanceof BetraceError) assert.equal(refusal.message, err.message);
      else assert.doesNotMatch(refusal.message, /bug/);
    });
  }

  it('carries the span count of an IngestRefusedError and null otherwise', () => {
    assert.equal(toRefusal(new IngestRefusedError('ERR_RECEIVER_QUEUE_FULL', 'full', 12)).spans, 12);
    assert.equal(toRefusal(new BetraceError('ERR_RECEIVER_QUEUE_FULL', 'full')).spans, null);
  });

  it('gives retryable refusals the pipeline hint or the default, and permanent ones none', () => {
    const hinted = new IngestRefusedError('ERR_RECEIVER_QUEUE_FULL', 'full', 1, { retryAfterMs: 7000 });
    assert.equal(toRefusal(hinted).retryAfterMs, 7000);
    const unhinted = new BetraceError('ERR_X', 'down', { retryable: true });
    assert.equal(toRefusal(unhinted).retryAfterMs, DEFAULT_RETRY_AFTER_MS);
    assert.equal(toRefusal(new BetraceError('ERR_PROTO_MALFORMED', 'bad')).retryAfterMs, 0);
  });
});

describe('toRetryAfterSeconds', () => {
  it('rounds up to whole seconds and never goes below one', () => {
    assert.deepEqual([1, 999, 1000, 1001, 2500].map(toRetryAfterSeconds), [1, 1, 1, 2, 3]);
  });
});
