import assert from 'node:assert/strict';
import fs from 'node:fs';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';

import { BetraceError } from '../../processor/errors';
import { createOtlpExporter } from '../../processor/exporter/otlp-exporter';
import { encodeExportResponse } from '../../proto/export-response';
import { startOtlpSink } from '../helpers/otlp-sink';
import {
  captureLogs,
  findClosedPort,
  makeCertificate,
  makeConfig,
  makeRegistry,
  makeRequest,
  readHistogramCount,
  readMetric,
  startCountingProxy,
} from './fixtures';

import type { OtlpExporterConfig } from '../../config/types';
import type { ExportSink } from '../../processor/exporter/types';
import type { OtlpSink } from '../helpers/otlp-sink';
import type { ConfigOverrides, TestRequest } from './fixtures';

const GRPC_INVALID_ARGUMENT = 3;
const GRPC_RESOURCE_EXHAUSTED = 8;
const GRPC_UNAVAILABLE = 14;
const WAIT_MS = 5000;

type Protocol = OtlpExporterConfig['protocol'];

const PROTOCOLS: ReadonlyArray<{ protocol: Protocol; sink: 'grpc' | 'http' }> =
  [
    { protocol: 'grpc', sink: 'grpc' },
    { protocol: 'http/protobuf', sink: 'http' },
  ];

/** An exporter under test with its log lines and metric readers. */
interface Started {
  readonly exporter: ExportSink;
  readonly lines: Array<Record<string, unknown>>;
  /** Reads `betrace_exporter_<name>`. */
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  /** Attempts the send-duration histogram counted for `outcome`. */
  attemptsTimed(outcome: string): Promise<number>;
}

/** Starts exporters and stops every one of them after each test. */
class Harness {
  private exporters: ExportSink[] = [];

  start(config: OtlpExporterConfig): Started {
    const registry = makeRegistry();
    const { logger, lines } = captureLogs();
    const exporter = createOtlpExporter(config, { logger, registry });
    this.exporters.push(exporter);
    return {
      exporter,
      lines,
      metric: (name, labels) =>
        readMetric(registry, `betrace_exporter_${name}`, labels),
      attemptsTimed: (outcome) =>
        readHistogramCount(registry, 'betrace_exporter_send_duration_seconds', {
          outcome,
        }),
    };
  }

  async stopAll(): Promise<void> {
    const stopping = this.exporters.map((e) => e.shutdown(Date.now() + 200));
    this.exporters = [];
    await Promise.all(stopping);
  }
}

async function rejection(promise: Promise<unknown>): Promise<BetraceError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof BetraceError, `not a BetraceError: ${String(err)}`);
    return err;
  }
  assert.fail('expected the promise to reject');
}

function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

function offerAll(exporter: ExportSink, requests: TestRequest[]): void {
  for (const request of requests) {
    assert.equal(exporter.offer(request.bytes, request.spans), true);
  }
}

/** An endpoint on a loopback port where nothing listens. */
async function downEndpoint(protocol: Protocol): Promise<string> {
  const port = await findClosedPort();
  return protocol === 'grpc'
    ? `127.0.0.1:${port}`
    : `http://127.0.0.1:${port}/v1/traces`;
}

for (const { protocol, sink: sinkProtocol } of PROTOCOLS) {
  describe(`otlp exporter over ${protocol}`, () => {
    const h = new Harness();
    let sink: OtlpSink;

    const endpoint = (): string =>
      protocol === 'grpc' ? sink.grpcEndpoint : sink.httpEndpoint;
    const start = (overrides: ConfigOverrides = {}): Started =>
      h.start(makeConfig(endpoint(), protocol, overrides));
    const startDown = async (overrides: ConfigOverrides = {}) =>
      h.start(makeConfig(await downEndpoint(protocol), protocol, overrides));
    const unqueued = { queue: { enabled: false } };

    before(async () => {
      sink = await startOtlpSink({ protocol: sinkProtocol });
    });
    beforeEach(() => sink.reset());
    afterEach(() => h.stopAll());
    after(() => sink.close());

    it('delivers the request bytes unchanged with the configured headers', async () => {
      const request = makeRequest('unchanged');
      const { exporter } = start({
        headers: { 'X-Scope-OrgID': 'acme', authorization: 'Bearer t0ken' },
      });

      assert.equal(exporter.offer(request.bytes, request.spans), true);
      await sink.waitFor((r) => r.length === 1, WAIT_MS);

      assert.deepEqual(sink.requests[0], Buffer.from(request.bytes));
      assert.equal(sink.records[0].headers['x-scope-orgid'], 'acme');
      assert.equal(sink.records[0].headers.authorization, 'Bearer t0ken');
    });

    it('compresses with gzip on the wire and the bytes arrive unchanged', async () => {
      const sinkPort = Number(endpoint().match(/:(\d+)/)?.[1]);
      const request = makeRequest('gzip', 20, 2000);
      const wireBytes: Record<string, number> = {};

      for (const compression of ['none', 'gzip'] as const) {
        const proxy = await startCountingProxy(sinkPort);
        const viaProxy = protocol === 'grpc'
          ? `127.0.0.1:${proxy.port}`
          : `http://127.0.0.1:${proxy.port}/v1/traces`;
        const { exporter } = h.start(
          makeConfig(viaProxy, protocol, { compression }),
        );
        await exporter.send(request.bytes, request.spans);
        await exporter.shutdown(Date.now() + 500);
        wireBytes[compression] = proxy.bytesFromClients;
        await proxy.close();
      }

      assert.equal(sink.requests.length, 2);
      assert.deepEqual(sink.requests[1], Buffer.from(request.bytes));
      assert.ok(wireBytes.none > request.bytes.length, `${wireBytes.none}`);
      assert.ok(
        wireBytes.gzip * 4 < wireBytes.none,
        `gzip ${wireBytes.gzip} vs plain ${wireBytes.none} bytes`,
      );
      if (protocol === 'http/protobuf') {
        assert.equal(sink.records[1].contentEncoding, 'gzip');
      }
    });

    it('retries UNAVAILABLE answers with backoff and then delivers', async () => {
      const request = makeRequest('unavailable');
      const { exporter, metric, attemptsTimed } = start();
      sink.failNext(2, { grpcCode: GRPC_UNAVAILABLE, httpStatus: 503 });

      await exporter.send(request.bytes, request.spans);

      assert.equal(sink.attempts, 3);
      assert.deepEqual(sink.requests, [Buffer.from(request.bytes)]);
      assert.equal(await metric('retries_total'), 2);
      assert.equal(await metric('sent_requests_total'), 1);
      assert.equal(await attemptsTimed('retryable'), 2);
      assert.equal(await attemptsTimed('ok'), 1);
    });

    it('gives up at once when asked to wait longer than the retry budget', async () => {
      const { exporter, metric } = start({
        ...unqueued,
        retry: { initialIntervalMs: 5, maxIntervalMs: 20, maxElapsedTimeMs: 500 },
      });
      sink.failNext(1, {
        grpcCode: GRPC_RESOURCE_EXHAUSTED,
        httpStatus: 429,
        retryAfterSeconds: 30,
      });
      const request = makeRequest('retry-after');

      const err = await rejection(exporter.send(request.bytes, request.spans));

      assert.equal(err.code, 'ERR_EXPORTER_SEND_FAILED');
      assert.equal(err.retryable, true);
      assert.equal(sink.attempts, 1);
      assert.equal(await metric('retries_total'), 0);
    });

    it('keeps a request that is being retried within the queue bounds', async () => {
      const { exporter, metric } = start({
        queue: { maxRequests: 1 },
        retry: { initialIntervalMs: 40, maxIntervalMs: 40 },
      });
      sink.failNext(2, { grpcCode: GRPC_UNAVAILABLE, httpStatus: 503 });
      const first = makeRequest('held-a', 2);
      const second = makeRequest('held-b', 2);

      assert.equal(exporter.offer(first.bytes, first.spans), true);
      await sink.waitFor(() => sink.attempts > 0, WAIT_MS);

      assert.equal(exporter.offer(second.bytes, second.spans), false);
      assert.equal(await metric('queue_size'), 1);
      assert.equal(await metric('queue_bytes'), first.bytes.length);
      await sink.waitFor((r) => r.length === 1, WAIT_MS);
      assert.deepEqual(sink.requests[0], Buffer.from(first.bytes));
    });

    it('times out a slow attempt and retries it', async () => {
      const request = makeRequest('slow');
      const { exporter, metric } = start({ timeoutMs: 60 });
      sink.failNext(1, { delayMs: 1000 });

      await exporter.send(request.bytes, request.spans);

      assert.equal(sink.attempts, 2);
      assert.equal(sink.requests.length, 1);
      assert.equal(await metric('retries_total'), 1);
    });

    it('drops INVALID_ARGUMENT / 400 without retry, counts it, logs it once', async () => {
      const { exporter, metric, lines } = start(unqueued);
      sink.failNext(5, { grpcCode: GRPC_INVALID_ARGUMENT, httpStatus: 400 });

      for (let i = 0; i < 5; i++) {
        const request = makeRequest(`bad-${i}`, 2);
        const err = await rejection(exporter.send(request.bytes, request.spans));
        assert.equal(err.code, 'ERR_EXPORTER_PERMANENT');
        assert.equal(err.retryable, false);
        assert.match(err.message, /downstream rejected the export/);
      }

      assert.equal(sink.attempts, 5);
      assert.equal(sink.requests.length, 0);
      assert.equal(await metric('failed_requests_total', { reason: 'rejected' }), 5);
      assert.equal(await metric('failed_spans_total'), 10);
      assert.equal(await metric('retries_total'), 0);
      const rejectedLines = () => lines.filter((l) => l.kind === 'rejected');
      assert.equal(rejectedLines().length, 1);

      await exporter.shutdown(Date.now() + 200);
      assert.equal(rejectedLines().length, 2);
      assert.equal(rejectedLines()[1].suppressed, 4);
    });

    it('counts spans rejected through partial success without retrying', async () => {
      sink.setResponse(encodeExportResponse(2, 'two spans had bad ids'));
      const request = makeRequest('partial', 5);
      const { exporter, metric, lines } = start();

      await exporter.send(request.bytes, request.spans);

      assert.equal(sink.attempts, 1);
      assert.equal(await metric('sent_requests_total'), 1);
      assert.equal(await metric('sent_spans_total'), 3);
      assert.equal(await metric('failed_spans_total'), 2);
      assert.equal(await metric('partial_success_total'), 1);
      const line = lines.find((l) => l.kind === 'partial_success');
      assert.equal(line?.err, 'two spans had bad ids');
    });

    it('reconnects after the downstream restarts and loses nothing queued', async () => {
      const { exporter, metric } = start({
        retry: { initialIntervalMs: 5, maxIntervalMs: 40, maxElapsedTimeMs: 5000 },
      });
      const requests = Array.from({ length: 40 }, (_, i) =>
        makeRequest(`restart-${i}`, 1));
      sink.setDelay(5);

      offerAll(exporter, requests.slice(0, 20));
      await sink.waitFor((r) => r.length >= 5, WAIT_MS);
      const restarting = sink.restart(100);
      offerAll(exporter, requests.slice(20));
      await restarting;

      const missing = (got: readonly Buffer[]): string[] => {
        const seen = new Set(got.map(hexOf));
        return requests.map((r) => hexOf(r.bytes)).filter((h) => !seen.has(h));
      };
      await sink.waitFor((r) => missing(r).length === 0, WAIT_MS);
      assert.ok((await metric('retries_total')) > 0);
      assert.equal(
        await metric('failed_requests_total', { reason: 'retries_exhausted' }),
        0,
      );
    });

    it('retries a request that was in flight when the downstream restarted', async () => {
      const request = makeRequest('in-flight');
      const { exporter } = start(unqueued);
      sink.setDelay(2000);

      const sent = exporter.send(request.bytes, request.spans);
      await sink.waitFor(() => sink.attempts > 0, WAIT_MS);
      sink.setDelay(0);
      await sink.restart(30);
      await sent;

      assert.deepEqual(sink.requests, [Buffer.from(request.bytes)]);
    });

    it('refuses offers past max_requests and delivers what it took', async () => {
      const { exporter, metric } = start({ queue: { maxRequests: 3 } });
      sink.setDelay(100);
      const requests = Array.from({ length: 4 }, (_, i) =>
        makeRequest(`full-${i}`, 1));

      assert.equal(exporter.offer(requests[0].bytes, 1), true);
      assert.equal(exporter.offer(requests[1].bytes, 1), true);
      assert.equal(exporter.isFull(), false);
      assert.equal(exporter.offer(requests[2].bytes, 1), true);
      assert.equal(exporter.isFull(), true);
      assert.equal(exporter.offer(requests[3].bytes, 1), false);
      assert.equal(await metric('refused_requests_total'), 1);
      assert.equal(await metric('queue_size'), 3);

      await sink.waitFor((r) => r.length === 3, WAIT_MS);
      const got = new Set(sink.requests.map(hexOf));
      assert.deepEqual(
        requests.map((r) => got.has(hexOf(r.bytes))),
        [true, true, true, false],
      );
      await exporter.shutdown(Date.now() + WAIT_MS);
      assert.equal(exporter.isFull(), false);
    });

    it('refuses past max_bytes but takes an oversized request when empty', async () => {
      const small = makeRequest('bytes', 1);
      const big = makeRequest('bytes-big', 4, 200);
      const { exporter, metric } = start({
        queue: { maxBytes: small.bytes.length + 10 },
      });
      sink.setDelay(100);

      assert.equal(exporter.offer(big.bytes, big.spans), true);
      assert.equal(exporter.offer(small.bytes, small.spans), false);
      assert.equal(await metric('queue_bytes'), big.bytes.length);
      await sink.waitFor((r) => r.length === 1, WAIT_MS);
    });

    it('queues a forced request past the bound', async () => {
      const { exporter } = start({ queue: { maxRequests: 1 } });
      sink.setDelay(100);
      const first = makeRequest('force-a', 1);
      const forced = makeRequest('force-b', 1);

      assert.equal(exporter.offer(first.bytes, 1), true);
      assert.equal(exporter.offer(forced.bytes, 1), false);
      assert.equal(exporter.offer(forced.bytes, 1, { force: true }), true);

      await sink.waitFor((r) => r.length === 2, WAIT_MS);
      assert.ok(sink.requests.some((b) => hexOf(b) === hexOf(forced.bytes)));
    });

    it('resolves send only once the downstream accepted, without a queue', async () => {
      const request = makeRequest('ack');
      const { exporter } = start(unqueued);
      sink.setDelay(150);
      let settled = false;

      const sent = exporter.send(request.bytes, request.spans).then(() => {
        settled = true;
        return sink.requests.length;
      });
      await sink.waitFor(() => sink.attempts > 0, WAIT_MS);

      assert.equal(settled, false);
      assert.equal(await sent, 1);
      assert.equal(exporter.queueEnabled, false);
      assert.equal(exporter.isFull(), false);
    });

    it('throws on offer when the queue is disabled', () => {
      const { exporter } = start(unqueued);

      assert.throws(
        () => exporter.offer(new Uint8Array(1), 1),
        (err: BetraceError) => err.code === 'ERR_EXPORTER_QUEUE_DISABLED',
      );
    });

    it('rejects retryable when the downstream stays down past max elapsed time', async () => {
      const { exporter, metric } = await startDown({
        ...unqueued,
        retry: { initialIntervalMs: 5, maxIntervalMs: 20, maxElapsedTimeMs: 150 },
      });
      const request = makeRequest('down', 2);

      const err = await rejection(exporter.send(request.bytes, request.spans));

      assert.equal(err.code, 'ERR_EXPORTER_SEND_FAILED');
      assert.equal(err.retryable, true);
      assert.match(err.message, /failed after retrying/);
      assert.equal(
        await metric('failed_requests_total', { reason: 'retries_exhausted' }),
        1,
      );
      assert.equal(await metric('failed_spans_total'), 2);
      assert.ok((await metric('retries_total')) >= 1);
    });

    it('rejects retryable when the caller deadline passes first', async () => {
      const { exporter, metric } = await startDown(unqueued);
      const request = makeRequest('deadline');
      const deadlineMs = Date.now() + 80;

      const err = await rejection(
        exporter.send(request.bytes, request.spans, { deadlineMs }),
      );

      assert.equal(err.code, 'ERR_EXPORTER_SEND_FAILED');
      assert.equal(err.retryable, true);
      assert.match(err.message, /not accepted before the deadline/);
      assert.equal(await metric('failed_requests_total', { reason: 'deadline' }), 1);
    });

    it('drains the queue on shutdown within the deadline', async () => {
      const { exporter, metric, lines } = start();
      sink.setDelay(10);
      const requests = Array.from({ length: 20 }, (_, i) =>
        makeRequest(`drain-${i}`, 2));
      offerAll(exporter, requests);

      await exporter.shutdown(Date.now() + WAIT_MS);

      assert.equal(sink.requests.length, 20);
      assert.equal(await metric('queue_size'), 0);
      assert.equal(await metric('queue_bytes'), 0);
      assert.equal(await metric('sent_spans_total'), 40);
      assert.ok(lines.some((l) => l.msg === 'exporter stopped' && l.drained));
    });

    it('refuses work once shut down', async () => {
      const { exporter, metric } = start();
      const request = makeRequest('late');
      await exporter.shutdown(Date.now() + 100);

      assert.equal(exporter.offer(request.bytes, request.spans), false);
      const err = await rejection(exporter.send(request.bytes, request.spans));

      assert.equal(err.code, 'ERR_EXPORTER_SHUT_DOWN');
      assert.equal(err.retryable, true);
      assert.equal(await metric('refused_requests_total'), 2);
      assert.equal(sink.attempts, 0);
    });

    it('counts what is left at the shutdown deadline as failed, logged once', async () => {
      const { exporter, metric, lines } = await startDown({
        retry: { initialIntervalMs: 10, maxIntervalMs: 50, maxElapsedTimeMs: 60_000 },
      });
      for (let i = 0; i < 12; i++) {
        exporter.offer(makeRequest(`left-${i}`, 3).bytes, 3);
      }

      await exporter.shutdown(Date.now() + 100);

      assert.equal(await metric('failed_requests_total', { reason: 'shutdown' }), 12);
      assert.equal(await metric('failed_spans_total'), 36);
      assert.equal(await metric('queue_size'), 0);
      const dropped = lines.filter((l) =>
        String(l.msg).startsWith('export not finished by the shutdown deadline'));
      assert.equal(dropped.length, 1);
      assert.equal(dropped[0].requests, 12);
      assert.equal(dropped[0].spans, 36);
    });

    it('reports sent data, attempt durations and the queue capacity', async () => {
      const { exporter, metric, lines, attemptsTimed } = start({
        queue: { maxRequests: 7 },
      });
      const a = makeRequest('metrics-a', 4);
      const b = makeRequest('metrics-b', 6);

      exporter.offer(a.bytes, a.spans);
      await exporter.send(b.bytes, b.spans);
      await sink.waitFor((r) => r.length === 2, WAIT_MS);

      assert.equal(await metric('sent_requests_total'), 2);
      assert.equal(await metric('sent_spans_total'), 10);
      assert.equal(await metric('queue_capacity'), 7);
      assert.equal(await attemptsTimed('ok'), 2);
      const started = lines.find((l) => l.msg === 'exporter started');
      assert.equal(started?.component, 'exporter/otlp');
      assert.equal(started?.protocol, protocol);
    });
  });
}

describe('otlp exporter over http/protobuf endpoints', () => {
  const h = new Harness();
  let sink: OtlpSink;

  before(async () => {
    sink = await startOtlpSink({ protocol: 'http' });
  });
  afterEach(() => h.stopAll());
  after(() => sink.close());

  it('appends /v1/traces to an endpoint without a path', async () => {
    const origin = new URL(sink.httpEndpoint).origin;
    const { exporter } = h.start(makeConfig(origin, 'http/protobuf'));
    const request = makeRequest('no-path');

    await exporter.send(request.bytes, request.spans);

    assert.deepEqual(sink.requests, [Buffer.from(request.bytes)]);
  });
});

describe('otlp exporter with TLS', () => {
  const cert = makeCertificate('DNS:sink.betrace.test');
  const skip = 'skip' in cert ? cert.skip : false;
  const h = new Harness();
  let sink: OtlpSink;

  before(async () => {
    if ('skip' in cert) return;
    const { certFile, keyFile } = cert;
    sink = await startOtlpSink({ protocol: 'both', tls: { certFile, keyFile } });
  });
  afterEach(() => h.stopAll());
  after(async () => {
    if ('skip' in cert) return;
    await sink.close();
    fs.rmSync(cert.dir, { recursive: true, force: true });
  });

  for (const { protocol } of PROTOCOLS) {
    it(`sends over ${protocol} trusting the given CA and server name`, { skip }, async () => {
      if ('skip' in cert) return;
      const endpoint = protocol === 'grpc'
        ? `https://${sink.grpcEndpoint}`
        : sink.httpEndpoint;
      const { exporter } = h.start(makeConfig(endpoint, protocol, {
        tls: {
          insecure: false,
          caFile: cert.certFile,
          serverName: 'sink.betrace.test',
        },
      }));
      const request = makeRequest(`tls-${protocol}`);
      const before = sink.requests.length;

      await exporter.send(request.bytes, request.spans);

      assert.equal(sink.requests.length, before + 1);
      assert.deepEqual(sink.requests[before], Buffer.from(request.bytes));
    });

    it(`refuses a ${protocol} TLS server it cannot verify`, { skip }, async () => {
      if ('skip' in cert) return;
      // A bare host:port with insecure false means TLS, here without the CA.
      const endpoint = protocol === 'grpc' ? sink.grpcEndpoint : sink.httpEndpoint;
      const { exporter } = h.start(makeConfig(endpoint, protocol, {
        queue: { enabled: false },
        tls: { insecure: false, serverName: 'sink.betrace.test' },
        retry: { initialIntervalMs: 5, maxIntervalMs: 10, maxElapsedTimeMs: 60 },
      }));
      const request = makeRequest(`tls-untrusted-${protocol}`);
      const before = sink.requests.length;

      const err = await rejection(exporter.send(request.bytes, request.spans));

      assert.equal(err.code, 'ERR_EXPORTER_SEND_FAILED');
      assert.equal(err.retryable, true);
      assert.equal(sink.requests.length, before);
    });
  }

  it('fails at startup naming an unreadable CA file', () => {
    const config = makeConfig('https://127.0.0.1:1', 'grpc', {
      tls: { insecure: false, caFile: '/nonexistent/ca.pem' },
    });
    const deps = { logger: captureLogs().logger, registry: makeRegistry() };

    assert.throws(
      () => createOtlpExporter(config, deps),
      (err: BetraceError) => {
        assert.equal(err.code, 'ERR_PROCESSOR_STARTUP');
        assert.match(err.message, /tls\.ca_file "\/nonexistent\/ca\.pem"/);
        return true;
      },
    );
  });
});

describe('createOtlpExporter', () => {
  it('fails at startup without an endpoint', () => {
    const deps = { logger: captureLogs().logger, registry: makeRegistry() };

    assert.throws(
      () => createOtlpExporter(makeConfig('', 'grpc'), deps),
      (err: BetraceError) => {
        assert.equal(err.code, 'ERR_PROCESSOR_STARTUP');
        assert.match(err.message, /exporters\.otlp\.endpoint is not set/);
        return true;
      },
    );
  });
});

describe('otlp exporter metrics before any failure', () => {
  it('expose every failure reason and attempt outcome at zero', async () => {
    const registry = makeRegistry();
    const exporter = createOtlpExporter(makeConfig('127.0.0.1:9', 'grpc'), { logger: captureLogs().logger, registry });
    try {
      const text = await registry.metrics();
      for (const reason of ['rejected', 'retries_exhausted', 'deadline', 'shutdown']) {
        assert.match(text, new RegExp(`^betrace_exporter_failed_requests_total\\{reason="${reason}"\\} 0$`, 'm'));
      }
      for (const outcome of ['ok', 'retryable', 'permanent']) {
        assert.match(text, new RegExp(`^betrace_exporter_send_duration_seconds_count\\{outcome="${outcome}"\\} 0$`, 'm'));
      }
    } finally {
      await exporter.shutdown(Date.now() + 100);
    }
  });
});
