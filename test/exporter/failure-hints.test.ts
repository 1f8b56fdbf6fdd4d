/**
 * A TLS client meeting a plaintext downstream is the commonest first-day
 * mistake; the export failure log says what to change.
 */

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { hintFor } from '../../processor/exporter/failure-log';
import { createOtlpExporter } from '../../processor/exporter/otlp-exporter';
import { startOtlpSink } from '../helpers/otlp-sink';
import { captureLogs, makeConfig, makeRegistry, makeRequest } from './fixtures';

import type { OtlpSink } from '../helpers/otlp-sink';

describe('export failure hints', () => {
  let sink: OtlpSink;
  before(async () => {
    sink = await startOtlpSink({ protocol: 'both' });
  });
  after(async () => {
    await sink.close();
  });

  it('recognises OpenSSL talking to a plaintext peer, and nothing else', () => {
    assert.match(hintFor('14 UNAVAILABLE: ssl3_get_record:wrong version number') ?? '', /tls\.insecure: true/);
    assert.equal(hintFor('14 UNAVAILABLE: connect ECONNREFUSED'), undefined);
    assert.equal(hintFor(undefined), undefined);
  });

  for (const protocol of ['grpc', 'http/protobuf'] as const) {
    it(`hints at tls.insecure when TLS meets a plaintext ${protocol} downstream`, async () => {
      const { logger, lines } = captureLogs();
      const endpoint = protocol === 'grpc' ? sink.grpcEndpoint : sink.httpEndpoint.replace('http://', 'https://');
      const config = makeConfig(endpoint, protocol, {
        tls: { insecure: false },
        retry: { maxElapsedTimeMs: 200 },
      });
      const exporter = createOtlpExporter(config, { logger, registry: makeRegistry() });
      await assert.rejects(exporter.send(makeRequest('tls').bytes, 3));
      await exporter.shutdown(Date.now() + 1000);
      const hinted = lines.filter((l) => typeof l.hint === 'string');
      assert.ok(hinted.length >= 1, JSON.stringify(lines.map((l) => l.err)));
      assert.match(String(hinted[0].hint), /tls\.insecure: true/);
    });
  }
});
