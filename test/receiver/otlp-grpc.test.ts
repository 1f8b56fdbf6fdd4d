import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import zlib from 'node:zlib';

import * as grpc from '@grpc/grpc-js';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';

import { BetraceError } from '../../processor/errors';
import { IngestRefusedError } from '../../processor/receiver/ingest';
import { createGrpcReceiver } from '../../processor/receiver/otlp-grpc';
import { decodeTraceRequest } from '../../proto/decode-request';
import { decodeExportResponse } from '../../proto/export-response';
import { EMPTY_PROJECTION } from '../../dsl/trace-model';
import { decodeRequestFull } from '../helpers/otlp-decode';
import { countSpans, createDeferred, createFakeIngest } from './fake-ingest';
import {
  createTestDeps,
  grpcConfig,
  metricValue,
  refusedRequests,
  refusedSpans,
  timedRequests,
} from './fixtures';
import { callUnary, createRawClient, sendGzipFrame } from './raw-grpc';
import { decodeRpcStatus } from './rpc-status-decode';
import { createTrace, exportSpans } from './sdk-client';

import type { GrpcReceiverConfig } from '../../config/types';
import type { Receiver } from '../../processor/receiver/ingest';
import type { FakeIngest } from './fake-ingest';
import type { TestDeps } from './fixtures';

// Statuses the OTLP specification lets a client retry.
const RETRYABLE_CODES = new Set([1, 4, 10, 11, 14, 15]);

const GZIP = 'gzip' as NonNullable<ConstructorParameters<typeof OTLPTraceExporter>[0]>['compression'];

interface Started {
  receiver: Receiver;
  ingest: FakeIngest;
  deps: TestDeps;
  client: grpc.Client;
}

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function startReceiver(config: Partial<GrpcReceiverConfig> = {}): Promise<Started> {
  const ingest = createFakeIngest();
  const deps = createTestDeps();
  const receiver = createGrpcReceiver(grpcConfig(config), ingest, deps);
  await receiver.start();
  cleanups.push(() => receiver.shutdown(Date.now()));
  const client = createRawClient(receiver.endpoint);
  cleanups.push(() => client.close());
  return { receiver, ingest, deps, client };
}

async function sampleRequest(names: readonly string[] = ['checkout', 'db.query']): Promise<Uint8Array> {
  const { spans } = await createTrace(names);
  return ProtobufTraceSerializer.serializeRequest(spans)!;
}

function spansOf(requests: readonly Uint8Array[]): Array<{ name: string; traceId: string }> {
  const spans: Array<{ name: string; traceId: string }> = [];
  for (const request of requests) {
    for (const rs of decodeRequestFull(request).resourceSpans) {
      for (const ss of rs.scopeSpans) {
        for (const span of ss.spans) {
          spans.push({ name: span.name as string, traceId: span.traceId as string });
        }
      }
    }
  }
  return spans;
}

function spanNamesOf(...requests: Uint8Array[]): string[] {
  return spansOf(requests).map((s) => s.name).sort();
}

describe('createGrpcReceiver: with the OpenTelemetry gRPC exporter', () => {
  it('receives every span the SDK exports and counts them', async () => {
    const { receiver, ingest, deps } = await startReceiver();
    const exporter = new OTLPTraceExporter({ url: `http://${receiver.endpoint}` });
    const sent = await createTrace(['checkout', 'db.query', 'payment.charge'], exporter);
    await exporter.shutdown();

    const requests = ingest.requests.map((r) => r.bytes);
    assert.deepEqual(spanNamesOf(...requests), [...sent.names].sort());
    assert.deepEqual([...new Set(spansOf(requests).map((s) => s.traceId))], [sent.traceId]);
    assert.ok(ingest.requests.every((r) => r.transport === 'grpc'));
    assert.equal(await metricValue(deps.registry, 'betrace_spans_received_total', { transport: 'grpc' }), 3);
    assert.equal(await timedRequests(deps, 'grpc'), ingest.requests.length);
  });

  it('accepts gzip-compressed exports', async () => {
    const { receiver, ingest } = await startReceiver();
    const exporter = new OTLPTraceExporter({ url: `http://${receiver.endpoint}`, compression: GZIP });
    const { spans, names } = await createTrace(['checkout', 'inventory.reserve']);
    const result = await exportSpans(exporter, spans);
    await exporter.shutdown();

    assert.equal(result.code, 0, String(result.error));
    assert.equal(ingest.requests.length, 1);
    assert.deepEqual(spanNamesOf(ingest.requests[0].bytes), [...names].sort());
  });

  it('passes the request bytes to the pipeline exactly as sent', async () => {
    const { ingest, client } = await startReceiver();
    const request = await sampleRequest();
    const { error } = await callUnary(client, request);

    assert.equal(error, null);
    assert.deepEqual(ingest.requests[0].bytes, Buffer.from(request));
  });
});

describe('createGrpcReceiver: lifecycle', () => {
  it('reports the bound port when the endpoint asks for port 0', async () => {
    const { receiver } = await startReceiver();
    const match = /^127\.0\.0\.1:(\d+)$/.exec(receiver.endpoint);
    assert.ok(match, receiver.endpoint);
    assert.notEqual(Number(match[1]), 0);
  });

  it('logs one line when it starts listening and one when it stops', async () => {
    const { receiver, deps } = await startReceiver();
    await receiver.shutdown(Date.now() + 1000);
    const lines = deps.logs.map((l) => [l.msg, l.endpoint, l.transport]);
    assert.deepEqual(lines, [
      ['receiver listening', receiver.endpoint, 'grpc'],
      ['receiver stopped', receiver.endpoint, 'grpc'],
    ]);
  });

  it('refuses to start on a port that is taken', async () => {
    const { receiver } = await startReceiver();
    const config = grpcConfig({ endpoint: receiver.endpoint });
    const second = createGrpcReceiver(config, createFakeIngest(), createTestDeps());
    await assert.rejects(second.start(), (err: BetraceError) => {
      assert.equal(err.code, 'ERR_PROCESSOR_STARTUP');
      assert.match(err.message, new RegExp(`cannot listen on ${receiver.endpoint}`));
      return true;
    });
  });

  it('lets an in-flight request finish on shutdown, then takes no more', async () => {
    const { receiver, ingest, client } = await startReceiver();
    const arrived = createDeferred<void>();
    const release = createDeferred<void>();
    ingest.behaviour = async (request) => {
      arrived.resolve();
      await release.promise;
      return { total: countSpans(request), rejected: 0, message: '' };
    };
    const request = await sampleRequest();
    const call = callUnary(client, request);
    await arrived.promise;

    const stopped = receiver.shutdown(Date.now() + 10_000);
    release.resolve();
    const outcome = await call;
    await stopped;

    assert.equal(outcome.error, null);
    const late = createRawClient(receiver.endpoint);
    cleanups.push(() => late.close());
    const refused = await callUnary(late, request);
    assert.equal(refused.error?.code, grpc.status.UNAVAILABLE);
  });

  it('cuts off calls still running at the deadline', async () => {
    const { receiver, ingest, client } = await startReceiver();
    const arrived = createDeferred<void>();
    ingest.behaviour = () => {
      arrived.resolve();
      return new Promise(() => undefined);
    };
    const call = callUnary(client, await sampleRequest());
    await arrived.promise;

    await receiver.shutdown(Date.now() + 20);
    const outcome = await call;
    assert.notEqual(outcome.error, null);
  });
});

describe('createGrpcReceiver: answers', () => {
  it('replies with the partial-success count and message', async () => {
    const { ingest, client, deps } = await startReceiver();
    ingest.behaviour = (request) => ({
      total: countSpans(request),
      rejected: 1,
      message: 'span 0 has an all-zero trace ID',
    });
    const { error, response } = await callUnary(client, await sampleRequest());

    assert.equal(error, null);
    assert.deepEqual(decodeExportResponse(response!), {
      rejected: 1,
      message: 'span 0 has an all-zero trace ID',
    });
    assert.equal(await refusedSpans(deps, 'grpc', 'invalid_span'), 1);
  });

  it('replies with an empty response when everything is accepted', async () => {
    const { client } = await startReceiver();
    const { error, response } = await callUnary(client, await sampleRequest());
    assert.equal(error, null);
    assert.deepEqual(decodeExportResponse(response!), { rejected: 0, message: '' });
  });

  it('answers malformed protobuf INVALID_ARGUMENT with the decoder message', async () => {
    const { ingest, client, deps } = await startReceiver();
    ingest.behaviour = (request) => {
      const batch = decodeTraceRequest(request, EMPTY_PROJECTION);
      return { total: batch.total, rejected: batch.rejected, message: batch.rejectMessage };
    };
    // Field 1 (resource_spans) claims 255 bytes and the message ends after 1.
    const malformed = Buffer.from([0x0a, 0xff, 0x01, 0x00]);
    let expected = '';
    try {
      decodeTraceRequest(malformed, EMPTY_PROJECTION);
    } catch (err) {
      assert.equal((err as BetraceError).code, 'ERR_PROTO_MALFORMED');
      expected = (err as BetraceError).message;
    }
    const { error } = await callUnary(client, malformed);

    assert.equal(error?.code, grpc.status.INVALID_ARGUMENT);
    assert.notEqual(expected, '');
    assert.equal(error?.details, expected);
    assert.equal(await refusedRequests(deps, 'grpc', 'malformed'), 1);
  });

  it('answers a full queue UNAVAILABLE with a RetryInfo delay and counts the spans', async () => {
    const { ingest, client, deps } = await startReceiver();
    ingest.behaviour = (request) => {
      const spans = countSpans(request);
      throw new IngestRefusedError('ERR_RECEIVER_QUEUE_FULL', 'the exporter queue is full', spans, {
        retryable: true,
        retryAfterMs: 2500,
      });
    };
    const { error } = await callUnary(client, await sampleRequest(['a', 'b', 'c']));

    assert.equal(error?.code, grpc.status.UNAVAILABLE);
    assert.equal(error?.details, 'the exporter queue is full');
    const [details] = error!.metadata.get('grpc-status-details-bin') as Buffer[];
    const status = decodeRpcStatus(details);
    assert.deepEqual(status, {
      code: grpc.status.UNAVAILABLE,
      message: 'the exporter queue is full',
      detailTypes: ['type.googleapis.com/google.rpc.RetryInfo'],
      retryDelayMs: 2500,
    });
    assert.equal(await refusedSpans(deps, 'grpc', 'queue_full'), 3);
    assert.equal(await refusedRequests(deps, 'grpc', 'queue_full'), 1);
  });

  it('answers other retryable errors UNAVAILABLE', async () => {
    const { ingest, client, deps } = await startReceiver();
    ingest.behaviour = () => {
      throw new BetraceError('ERR_EXPORTER_SEND_FAILED', 'downstream did not answer', { retryable: true });
    };
    const { error } = await callUnary(client, await sampleRequest());

    assert.equal(error?.code, grpc.status.UNAVAILABLE);
    assert.equal(error?.details, 'downstream did not answer');
    assert.equal(await refusedRequests(deps, 'grpc', 'unavailable'), 1);
  });

  it('answers unexpected errors INTERNAL without their text and logs each kind once', async () => {
    const { ingest, client, deps } = await startReceiver();
    ingest.behaviour = () => {
      throw new TypeError('secret detail');
    };
    const request = await sampleRequest();
    const first = await callUnary(client, request);
    const second = await callUnary(client, request);

    for (const { error } of [first, second]) {
      assert.equal(error?.code, grpc.status.INTERNAL);
      assert.doesNotMatch(error?.details ?? '', /secret/);
    }
    const errorLines = deps.logs.filter((l) => l.level === 50);
    assert.equal(errorLines.length, 1);
    assert.equal((errorLines[0].err as { message: string }).message, 'secret detail');
    assert.equal(await refusedRequests(deps, 'grpc', 'internal'), 2);
  });

  it('answers the metrics and logs services UNIMPLEMENTED', async () => {
    const { client, ingest } = await startReceiver();
    const request = await sampleRequest();
    for (const path of [
      '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export',
      '/opentelemetry.proto.collector.logs.v1.LogsService/Export',
    ]) {
      const { error } = await callUnary(client, request, path);
      assert.equal(error?.code, grpc.status.UNIMPLEMENTED, path);
    }
    assert.equal(ingest.requests.length, 0);
  });
});

describe('createGrpcReceiver: size limit and compression', () => {
  const LIMIT_BYTES = 4096;

  it('refuses a message over the limit RESOURCE_EXHAUSTED and serves the next one', async () => {
    const { ingest, client, deps } = await startReceiver({ maxRecvMsgSizeBytes: LIMIT_BYTES });
    const refused = await callUnary(client, Buffer.alloc(LIMIT_BYTES + 1));
    const request = await sampleRequest();
    const accepted = await callUnary(client, request);

    assert.equal(refused.error?.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(accepted.error, null);
    assert.equal(ingest.requests.length, 1);
    assert.deepEqual(ingest.requests[0].bytes, Buffer.from(request));
    assert.equal(await refusedRequests(deps, 'grpc', 'too_large'), 1);
  });

  it('refuses a compressed message that inflates past the limit and serves the next one', async () => {
    const { receiver, ingest, client, deps } = await startReceiver({ maxRecvMsgSizeBytes: LIMIT_BYTES });
    const bomb = zlib.gzipSync(Buffer.alloc(LIMIT_BYTES * 64));
    assert.ok(bomb.length < LIMIT_BYTES);
    const refused = await sendGzipFrame(receiver.endpoint, bomb);
    const accepted = await callUnary(client, await sampleRequest());

    assert.equal(refused.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(accepted.error, null);
    assert.equal(ingest.requests.length, 1);
    assert.equal(await refusedRequests(deps, 'grpc', 'too_large'), 1);
  });

  it('inflates a gzip message and passes on the original bytes', async () => {
    const { receiver, ingest } = await startReceiver();
    const request = await sampleRequest();
    const outcome = await sendGzipFrame(receiver.endpoint, zlib.gzipSync(request));

    assert.equal(outcome.code, grpc.status.OK);
    assert.deepEqual(ingest.requests[0].bytes, Buffer.from(request));
  });

  it('refuses corrupt and truncated gzip with a status that is not retryable', async () => {
    const { receiver, ingest, deps } = await startReceiver();
    const gzipped = zlib.gzipSync(await sampleRequest());
    const corrupt = await sendGzipFrame(receiver.endpoint, Buffer.from('this is not gzip at all'));
    const truncated = await sendGzipFrame(receiver.endpoint, gzipped.subarray(0, gzipped.length - 12));

    for (const outcome of [corrupt, truncated]) {
      assert.equal(outcome.code, grpc.status.INTERNAL);
      assert.ok(!RETRYABLE_CODES.has(outcome.code));
    }
    assert.equal(ingest.requests.length, 0);
    assert.equal(await refusedRequests(deps, 'grpc', 'bad_gzip'), 2);
  });
});
