import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { fromListenAddress, toListenAddress } from '../../processor/receiver/endpoint';

import type { BetraceError } from '../../processor/errors';

describe('toListenAddress', () => {
  it('splits host:port, [v6]:port and :port', () => {
    assert.deepEqual(toListenAddress('127.0.0.1:4317'), { host: '127.0.0.1', port: 4317 });
    assert.deepEqual(toListenAddress('[::1]:0'), { host: '::1', port: 0 });
    assert.deepEqual(toListenAddress('localhost:65535'), { host: 'localhost', port: 65535 });
    assert.deepEqual(toListenAddress(':4318'), { host: '0.0.0.0', port: 4318 });
  });

  for (const endpoint of ['127.0.0.1', '127.0.0.1:', 'host:65536', 'host:12ab', 'host:-1', '[::1:80']) {
    it(`refuses "${endpoint}" with ERR_PROCESSOR_STARTUP`, () => {
      assert.throws(
        () => toListenAddress(endpoint),
        (err: BetraceError) => {
          assert.equal(err.code, 'ERR_PROCESSOR_STARTUP');
          assert.match(err.message, /is not host:port/);
          return true;
        },
      );
    });
  }
});

describe('fromListenAddress', () => {
  it('brackets IPv6 hosts only', () => {
    assert.equal(fromListenAddress('::1', 4317), '[::1]:4317');
    assert.equal(fromListenAddress('127.0.0.1', 4317), '127.0.0.1:4317');
  });
});
