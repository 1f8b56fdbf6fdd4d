import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';

import { createGrpcTransport } from '../../processor/exporter/grpc-transport';
import { createHttpTransport } from '../../processor/exporter/http-transport';
import { startOtlpSink } from '../helpers/otlp-sink';
import { makeConfig, makeRequest } from './fixtures';

import type { ExportTransport } from '../../processor/exporter/transport';
import type { OtlpSink } from '../helpers/otlp-sink';

describe('export transports classify downstream answers', () => {
  let sink: OtlpSink;
  let transports: Record<'grpc' | 'http', ExportTransport>;
  const signal = new AbortController().signal;

  before(async () => {
    sink = await startOtlpSink({ protocol: 'both' });
    transports = {
      grpc: createGrpcTransport(makeConfig(sink.grpcEndpoint, 'grpc')),
      http: createHttpTransport(makeConfig(sink.httpEndpoint, 'http/protobuf')),
    };
  });

  beforeEach(() => sink.reset());

  after(async () => {
    transports.grpc.close();
    transports.http.close();
    await sink.close();
  });

  const cases: Array<{ name: string; grpcCode?: number; httpStatus?: number; retryable: boolean }> = [
    { name: 'UNAVAILABLE / 503', grpcCode: 14, httpStatus: 503, retryable: true },
    { name: 'RESOURCE_EXHAUSTED / 429', grpcCode: 8, httpStatus: 429, retryable: true },
    { name: 'ABORTED / 502', grpcCode: 10, httpStatus: 502, retryable: true },
    { name: 'DATA_LOSS / 504', grpcCode: 15, httpStatus: 504, retryable: true },
    { name: 'OUT_OF_RANGE / 503', grpcCode: 11, httpStatus: 503, retryable: true },
    { name: 'INVALID_ARGUMENT / 400', grpcCode: 3, httpStatus: 400, retryable: false },
    { name: 'PERMISSION_DENIED / 403', grpcCode: 7, httpStatus: 403, retryable: false },
    { name: 'UNIMPLEMENTED / 404', grpcCode: 12, httpStatus: 404, retryable: false },
    { name: 'INTERNAL / 500', grpcCode: 13, httpStatus: 500, retryable: false },
  ];

  for (const transport of ['grpc', 'http'] as const) {
    for (const c of cases) {
      it(`treats ${c.name} as ${c.retryable ? 'retryable' : 'permanent'} over ${transport}`, async () => {
        sink.failNext(1, { grpcCode: c.grpcCode, httpStatus: c.httpStatus });
        const prepared = await transports[transport].prepare(makeRequest('classify').bytes);

        const outcome = await prepared.attempt(1000, signal);

        assert.equal(outcome.ok, false);
        if (outcome.ok) return;
        assert.equal(outcome.retryable, c.retryable);
        assert.equal(outcome.status, transport === 'http' ? `http_${c.httpStatus}` : outcome.status);
        assert.match(outcome.message, /scripted failure/);
      });
    }

    it(`reads the delay the downstream asks for over ${transport}`, async () => {
      sink.failNext(1, { grpcCode: 8, httpStatus: 429, retryAfterSeconds: 7 });
      const prepared = await transports[transport].prepare(makeRequest('delay').bytes);

      const outcome = await prepared.attempt(1000, signal);

      assert.equal(outcome.ok, false);
      if (outcome.ok) return;
      assert.equal(outcome.retryAfterMs, 7000);
    });

    it(`sends the same prepared request again after a failure over ${transport}`, async () => {
      const request = makeRequest('again');
      sink.failNext(1, { grpcCode: 14, httpStatus: 503 });
      const prepared = await transports[transport].prepare(request.bytes);

      assert.equal((await prepared.attempt(1000, signal)).ok, false);
      assert.equal((await prepared.attempt(1000, signal)).ok, true);
      assert.deepEqual(sink.requests, [Buffer.from(request.bytes)]);
    });

    it(`ends an attempt as retryable when it is aborted over ${transport}`, async () => {
      sink.setDelay(2000);
      const controller = new AbortController();
      const prepared = await transports[transport].prepare(makeRequest('abort').bytes);

      const pending = prepared.attempt(5000, controller.signal);
      await sink.waitFor(() => sink.attempts === 1, 2000);
      controller.abort();
      const outcome = await pending;

      assert.equal(outcome.ok, false);
      if (outcome.ok) return;
      assert.equal(outcome.retryable, true);
      assert.equal(sink.requests.length, 0);
    });
  }
});
