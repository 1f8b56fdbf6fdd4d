import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { encodeRpcStatus, toRpcStatusJson } from '../../processor/receiver/rpc-status';
import { decodeRpcStatus } from './rpc-status-decode';

describe('encodeRpcStatus', () => {
  it('writes code and message as google.rpc.Status', () => {
    const message = 'field resource_spans[0] ends past the request (byte 3)';
    assert.deepEqual(decodeRpcStatus(encodeRpcStatus(3, message)), {
      code: 3,
      message,
      detailTypes: [],
      retryDelayMs: null,
    });
  });

  it('writes messages longer than one length byte and outside ASCII', () => {
    const message = `${'ü'.repeat(200)} ✓`;
    assert.equal(decodeRpcStatus(encodeRpcStatus(14, message)).message, message);
  });

  it('adds a RetryInfo detail with the delay split into seconds and nanos', () => {
    for (const delayMs of [0, 250, 1000, 2500, 86_400_000]) {
      const status = decodeRpcStatus(encodeRpcStatus(14, 'busy', delayMs));
      assert.deepEqual(status.detailTypes, ['type.googleapis.com/google.rpc.RetryInfo']);
      assert.equal(status.retryDelayMs, delayMs);
    }
  });

  it('writes nothing for code 0 and an empty message', () => {
    assert.equal(encodeRpcStatus(0, '').length, 0);
  });
});

describe('toRpcStatusJson', () => {
  it('writes the proto3 JSON form with the message escaped', () => {
    const message = 'bad "traceId"\nat line 2';
    assert.deepEqual(JSON.parse(toRpcStatusJson(3, message)), { code: 3, message });
  });
});
