import assert from 'node:assert/strict';
import http from 'node:http';
import { afterEach, describe, it } from 'node:test';
import zlib from 'node:zlib';

import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';

import { EMPTY_PROJECTION } from '../../dsl/trace-model';
import { BetraceError } from '../../processor/errors';
import { IngestRefusedError } from '../../processor/receiver/ingest';
import { createHttpReceiver } from '../../processor/receiver/otlp-http';
import { decodeTraceRequest } from '../../proto/decode-request';
import { decodeExportResponse } from '../../proto/export-response';
import { otlpJsonToProtobuf } from '../../proto/otlp-json';
import { decodeRequestFull } from '../helpers/otlp-decode';
import { countSpans, createDeferred, createFakeIngest } from './fake-ingest';
import {
  createTestDeps,
  httpConfig,
  metricValue,
  refusedRequests,
  refusedSpans,
  timedRequests,
} from './fixtures';
import { sendHttp } from './http-client';
import { decodeRpcStatus } from './rpc-status-decode';
import { createTrace, exportSpans } from './sdk-client';

import type { HttpReceiverConfig } from '../../config/types';
import type { Receiver } from '../../processor/receiver/ingest';
import type { FakeIngest } from './fake-ingest';
import type { TestDeps } from './fixtures';

const PROTOBUF = { 'Content-Type': 'application/x-protobuf' };
const JSON_TYPE = { 'Content-Type': 'application/json' };
const GZIP = 'gzip' as NonNullable<ConstructorParameters<typeof OTLPTraceExporter>[0]>['compression'];

interface Started {
  receiver: Receiver;
  ingest: FakeIngest;
  deps: TestDeps;
}

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function startReceiver(config: Partial<HttpReceiverConfig> = {}): Promise<Started> {
  const ingest = createFakeIngest();
  const deps = createTestDeps();
  const receiver = createHttpReceiver(httpConfig(config), ingest, deps);
  await receiver.start();
  cleanups.push(() => receiver.shutdown(Date.now()));
  return { receiver, ingest, deps };
}

function keepAliveAgent(): http.Agent {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  cleanups.push(() => agent.destroy());
  return agent;
}

async function sampleRequest(names: readonly string[] = ['checkout', 'db.query']): Promise<Uint8Array> {
  const { spans } = await createTrace(names);
  return ProtobufTraceSerializer.serializeRequest(spans)!;
}

function refused(deps: TestDeps, reason: string): Promise<number> {
  return refusedRequests(deps, 'http', reason);
}

function jsonStatus(body: Buffer): { code: number; message: string } {
  return JSON.parse(body.toString('utf8')) as { code: number; message: string };
}

function caught(fn: () => unknown): BetraceError {
  try {
    fn();
  } catch (err) {
    return err as BetraceError;
  }
  throw new Error('expected a throw');
}

// Accepts anything without decoding it, for tests about the body's size.
const acceptBytes = (): { total: number; rejected: number; message: string } => ({
  total: 0,
  rejected: 0,
  message: '',
});

describe('createHttpReceiver: with the OpenTelemetry HTTP exporter', () => {
  it('receives what the SDK exports as JSON, converted to protobuf without loss', async () => {
    const { receiver, ingest, deps } = await startReceiver();
    const exporter = new OTLPTraceExporter({ url: `http://${receiver.endpoint}/v1/traces` });
    const { spans } = await createTrace(['checkout', 'db.query', 'payment.charge']);
    const result = await exportSpans(exporter, spans);
    await exporter.shutdown();

    assert.equal(result.code, 0, String(result.error));
    assert.equal(ingest.requests.length, 1);
    assert.equal(ingest.requests[0].transport, 'http');
    assert.deepEqual(
      decodeRequestFull(ingest.requests[0].bytes),
      decodeRequestFull(ProtobufTraceSerializer.serializeRequest(spans)!),
    );
    assert.equal(await metricValue(deps.registry, 'betrace_spans_received_total', { transport: 'http' }), 3);
    assert.equal(await timedRequests(deps, 'http'), 1);
  });

  it('receives gzip-compressed exports through a span processor', async () => {
    const { receiver, ingest } = await startReceiver();
    const url = `http://${receiver.endpoint}/v1/traces`;
    const exporter = new OTLPTraceExporter({ url, compression: GZIP });
    const sent = await createTrace(['checkout', 'inventory.reserve'], exporter);
    await exporter.shutdown();

    const names = ingest.requests
      .flatMap((r) => decodeRequestFull(r.bytes).resourceSpans)
      .flatMap((rs) => rs.scopeSpans)
      .flatMap((ss) => ss.spans)
      .map((span) => span.name as string);
    assert.deepEqual(names.sort(), [...sent.names].sort());
  });
});

describe('createHttpReceiver: bodies and replies', () => {
  it('passes a protobuf body on exactly and answers in protobuf', async () => {
    const { receiver, ingest } = await startReceiver();
    const request = await sampleRequest();
    const reply = await sendHttp(receiver.endpoint, request, { headers: PROTOBUF });

    assert.equal(reply.status, 200);
    assert.equal(reply.headers['content-type'], 'application/x-protobuf');
    assert.deepEqual(decodeExportResponse(reply.body), { rejected: 0, message: '' });
    assert.deepEqual(ingest.requests[0].bytes, Buffer.from(request));
  });

  it('accepts content types with parameters and in any case', async () => {
    const { receiver, ingest } = await startReceiver();
    const request = await sampleRequest();
    const json = '{"resourceSpans":[]}';
    const protobufReply = await sendHttp(receiver.endpoint, request, {
      headers: { 'Content-Type': 'Application/X-Protobuf; proto=opentelemetry' },
    });
    const jsonReply = await sendHttp(receiver.endpoint, json, {
      headers: { 'Content-Type': 'application/json; charset=utf-8' },
    });

    assert.equal(protobufReply.status, 200);
    assert.equal(jsonReply.status, 200);
    assert.equal(jsonReply.headers['content-type'], 'application/json');
    assert.equal(jsonReply.body.toString(), '{}');
    assert.equal(ingest.requests.length, 2);
  });

  it('accepts JSON with hex IDs of either case, proto field names and int64 beyond 2^53', async () => {
    const { receiver, ingest } = await startReceiver();
    const traceId = '5B8EFFF798038103d269b633813fc60c';
    const spanId = 'EEE19B7EC3C1B174';
    const start = '1700000000000000001';
    const end = '1700000000000000123';
    const big = '9007199254740993';
    const json = `{"resource_spans":[{
      "resource":{"attributes":[{"key":"service.name","value":{"string_value":"checkout"}}]},
      "scope_spans":[{"scope":{"name":"lib"},"spans":[{
        "trace_id":"${traceId}","span_id":"${spanId}","name":"charge",
        "start_time_unix_nano":"${start}","end_time_unix_nano":${end},
        "unknown_field":{"x":[1,2]},
        "attributes":[{"key":"amount","value":{"int_value":${big}}}]}]}]}]}`;
    const reply = await sendHttp(receiver.endpoint, json, { headers: JSON_TYPE });

    assert.equal(reply.status, 200, reply.body.toString());
    const span = decodeRequestFull(ingest.requests[0].bytes).resourceSpans[0].scopeSpans[0].spans[0];
    assert.equal(span.traceId, traceId.toLowerCase());
    assert.equal(span.spanId, spanId.toLowerCase());
    assert.equal(span.startTimeUnixNano, start);
    assert.equal(span.endTimeUnixNano, end);
    assert.equal(span.attributes[0].value.intValue, big);
  });

  it('refuses base64 IDs with 400 naming the field', async () => {
    const { receiver, ingest, deps } = await startReceiver();
    const traceId = Buffer.from('5b8efff798038103d269b633813fc60c', 'hex').toString('base64');
    const span = `{"traceId":"${traceId}","spanId":"eee19b7ec3c1b174","name":"x"}`;
    const json = `{"resourceSpans":[{"scopeSpans":[{"spans":[${span}]}]}]}`;
    const reply = await sendHttp(receiver.endpoint, json, { headers: JSON_TYPE });

    assert.equal(reply.status, 400);
    const status = jsonStatus(reply.body);
    assert.equal(status.code, 3);
    assert.match(status.message, /resourceSpans\[0\]\.scopeSpans\[0\]\.spans\[0\]\.traceId/);
    assert.equal(ingest.requests.length, 0);
    assert.equal(await refused(deps, 'malformed'), 1);
  });

  it('refuses malformed JSON with 400 and the parser message', async () => {
    const { receiver, ingest } = await startReceiver();
    const json = '{"resourceSpans": [ {"scopeSpans": [}';
    const expected = caught(() => otlpJsonToProtobuf(json));
    const reply = await sendHttp(receiver.endpoint, json, { headers: JSON_TYPE });

    assert.equal(expected.code, 'ERR_PROTO_JSON_SYNTAX');
    assert.equal(reply.status, 400);
    assert.deepEqual(jsonStatus(reply.body), { code: 3, message: expected.message });
    assert.equal(ingest.requests.length, 0);
  });

  it('refuses malformed protobuf with 400 and a protobuf Status holding the decoder message', async () => {
    const { receiver, ingest } = await startReceiver();
    ingest.behaviour = (request) => {
      const batch = decodeTraceRequest(request, EMPTY_PROJECTION);
      return { total: batch.total, rejected: batch.rejected, message: batch.rejectMessage };
    };
    const malformed = Buffer.from([0x0a, 0xff, 0x01, 0x00]);
    const expected = caught(() => decodeTraceRequest(malformed, EMPTY_PROJECTION));
    const reply = await sendHttp(receiver.endpoint, malformed, { headers: PROTOBUF });

    assert.equal(expected.code, 'ERR_PROTO_MALFORMED');
    assert.equal(reply.status, 400);
    assert.equal(reply.headers['content-type'], 'application/x-protobuf');
    assert.deepEqual(decodeRpcStatus(reply.body), {
      code: 3,
      message: expected.message,
      detailTypes: [],
      retryDelayMs: null,
    });
  });

  it('replies with partial success in the encoding of the request', async () => {
    const { receiver, ingest, deps } = await startReceiver();
    const message = 'two spans had bad IDs';
    ingest.behaviour = (request) => ({ total: countSpans(request), rejected: 2, message });
    const request = await sampleRequest(['a', 'b', 'c']);
    const protobufReply = await sendHttp(receiver.endpoint, request, { headers: PROTOBUF });
    const jsonReply = await sendHttp(receiver.endpoint, '{"resourceSpans":[]}', { headers: JSON_TYPE });

    assert.equal(protobufReply.status, 200);
    assert.deepEqual(decodeExportResponse(protobufReply.body), { rejected: 2, message });
    assert.equal(jsonReply.status, 200);
    assert.deepEqual(JSON.parse(jsonReply.body.toString()), {
      partialSuccess: { rejectedSpans: '2', errorMessage: message },
    });
    assert.equal(await refusedSpans(deps, 'http', 'invalid_span'), 4);
  });
});

describe('createHttpReceiver: paths, methods and media types', () => {
  it('answers 404 for other paths, the metrics and logs signals among them', async () => {
    const { receiver, ingest } = await startReceiver();
    for (const path of ['/v1/metrics', '/v1/logs', '/', '/v1/traces/extra']) {
      const reply = await sendHttp(receiver.endpoint, '{}', { path, headers: JSON_TYPE });
      assert.equal(reply.status, 404, path);
      assert.equal(jsonStatus(reply.body).code, 5);
    }
    assert.equal(ingest.requests.length, 0);
  });

  it('serves /v1/traces with a query string', async () => {
    const { receiver, ingest } = await startReceiver();
    const reply = await sendHttp(receiver.endpoint, '{}', { path: '/v1/traces?x=1', headers: JSON_TYPE });
    assert.equal(reply.status, 200);
    assert.equal(ingest.requests.length, 1);
  });

  it('answers 405 with Allow: POST for other methods', async () => {
    const { receiver, ingest } = await startReceiver();
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const reply = await sendHttp(receiver.endpoint, null, { method });
      assert.equal(reply.status, 405, method);
      assert.equal(reply.headers.allow, 'POST');
    }
    assert.equal(ingest.requests.length, 0);
  });

  it('answers 415 for other content types and for none', async () => {
    const { receiver, ingest, deps } = await startReceiver();
    const plain = await sendHttp(receiver.endpoint, 'hello', { headers: { 'Content-Type': 'text/plain' } });
    const none = await sendHttp(receiver.endpoint, 'hello');

    for (const reply of [plain, none]) {
      assert.equal(reply.status, 415);
      assert.match(jsonStatus(reply.body).message, /application\/x-protobuf/);
    }
    assert.equal(ingest.requests.length, 0);
    assert.equal(await refused(deps, 'unsupported_media_type'), 2);
  });
});

describe('createHttpReceiver: compression and the body limit', () => {
  const LIMIT_BYTES = 4096;

  it('inflates gzip bodies of both encodings', async () => {
    const { receiver, ingest } = await startReceiver();
    const request = await sampleRequest();
    const protobufReply = await sendHttp(receiver.endpoint, zlib.gzipSync(request), {
      headers: { ...PROTOBUF, 'Content-Encoding': 'gzip' },
    });
    const jsonReply = await sendHttp(receiver.endpoint, zlib.gzipSync('{"resourceSpans":[]}'), {
      headers: { ...JSON_TYPE, 'Content-Encoding': 'GZIP' },
    });

    assert.equal(protobufReply.status, 200);
    assert.equal(jsonReply.status, 200);
    assert.deepEqual(ingest.requests[0].bytes, Buffer.from(request));
    assert.equal(ingest.requests[1].bytes.length, 0);
  });

  it('inflates deflate bodies, and zstd where Node.js has it', async () => {
    const { receiver, ingest, deps } = await startReceiver();
    const request = await sampleRequest();
    const deflated = await sendHttp(receiver.endpoint, zlib.deflateSync(request), {
      headers: { ...PROTOBUF, 'Content-Encoding': 'deflate' },
    });
    assert.equal(deflated.status, 200);
    assert.deepEqual(ingest.requests[0].bytes, Buffer.from(request));
    const corrupt = await sendHttp(receiver.endpoint, Buffer.from('not deflate'), {
      headers: { ...PROTOBUF, 'Content-Encoding': 'deflate' },
    });
    assert.equal(corrupt.status, 400);
    assert.match(decodeRpcStatus(corrupt.body).message, /not valid deflate/);

    const zstd = (zlib as unknown as { zstdCompressSync?: (b: Uint8Array) => Buffer }).zstdCompressSync;
    const zstdReply = await sendHttp(receiver.endpoint, zstd === undefined ? Buffer.from(request) : zstd(request), {
      headers: { ...PROTOBUF, 'Content-Encoding': 'zstd' },
    });
    if (zstd === undefined) {
      assert.equal(zstdReply.status, 400);
      assert.match(decodeRpcStatus(zstdReply.body).message, /zstd needs Node\.js 22\.15 or later/);
      assert.equal(await refused(deps, 'unsupported_encoding'), 1);
    } else {
      assert.equal(zstdReply.status, 200);
      assert.deepEqual(ingest.requests[1].bytes, Buffer.from(request));
    }
  });

  it('refuses corrupt and truncated gzip with 400', async () => {
    const { receiver, ingest, deps } = await startReceiver();
    const gzipped = zlib.gzipSync(await sampleRequest());
    const headers = { ...PROTOBUF, 'Content-Encoding': 'gzip' };
    const corrupt = await sendHttp(receiver.endpoint, Buffer.from('not gzip'), { headers });
    const cut = gzipped.subarray(0, gzipped.length - 12);
    const truncated = await sendHttp(receiver.endpoint, cut, { headers });

    for (const reply of [corrupt, truncated]) {
      assert.equal(reply.status, 400);
      assert.match(decodeRpcStatus(reply.body).message, /not valid gzip/);
    }
    assert.equal(ingest.requests.length, 0);
    assert.equal(await refused(deps, 'bad_gzip'), 2);
  });

  it('refuses content encodings other than gzip, deflate and zstd with 400', async () => {
    const { receiver, ingest, deps } = await startReceiver();
    const headers = { ...JSON_TYPE, 'Content-Encoding': 'br' };
    const reply = await sendHttp(receiver.endpoint, '{}', { headers });

    assert.equal(reply.status, 400);
    assert.match(jsonStatus(reply.body).message, /"br"/);
    assert.equal(ingest.requests.length, 0);
    assert.equal(await refused(deps, 'unsupported_encoding'), 1);
  });

  it('accepts a body at the limit and refuses one byte more with 413', async () => {
    const { receiver, ingest, deps } = await startReceiver({ maxRequestBodySizeBytes: LIMIT_BYTES });
    ingest.behaviour = acceptBytes;
    const atLimit = await sendHttp(receiver.endpoint, Buffer.alloc(LIMIT_BYTES), { headers: PROTOBUF });
    const over = await sendHttp(receiver.endpoint, Buffer.alloc(LIMIT_BYTES + 1), { headers: PROTOBUF });

    assert.equal(atLimit.status, 200);
    assert.equal(over.status, 413);
    assert.equal(decodeRpcStatus(over.body).code, 8);
    assert.equal(ingest.requests.length, 1);
    assert.equal(await refused(deps, 'too_large'), 1);
  });

  it('keeps the connection usable after refusing a declared length over the limit', async () => {
    const { receiver, ingest } = await startReceiver({ maxRequestBodySizeBytes: LIMIT_BYTES });
    const agent = keepAliveAgent();
    const body = Buffer.alloc(LIMIT_BYTES * 4);
    const over = await sendHttp(receiver.endpoint, body, { headers: PROTOBUF, agent });
    const request = await sampleRequest();
    const next = await sendHttp(receiver.endpoint, request, { headers: PROTOBUF, agent });

    assert.equal(over.status, 413);
    assert.equal(next.status, 200);
    assert.equal(next.reusedSocket, true);
    assert.deepEqual(ingest.requests.map((r) => r.bytes), [Buffer.from(request)]);
  });

  it('closes the connection after refusing a large declared body and serves the next one', async () => {
    const { receiver, ingest } = await startReceiver({ maxRequestBodySizeBytes: LIMIT_BYTES });
    const over = await sendHttp(receiver.endpoint, Buffer.alloc(2 * 1024 * 1024), { headers: PROTOBUF });
    const request = await sampleRequest();
    const next = await sendHttp(receiver.endpoint, request, { headers: PROTOBUF });

    assert.equal(over.status, 413);
    assert.equal(over.headers.connection, 'close');
    assert.equal(next.status, 200);
    assert.equal(ingest.requests.length, 1);
  });

  it('refuses an announced oversized body before the sender sends it', async () => {
    const { receiver, ingest } = await startReceiver({ maxRequestBodySizeBytes: LIMIT_BYTES });
    const over = await sendHttp(receiver.endpoint, Buffer.alloc(LIMIT_BYTES + 1), {
      headers: PROTOBUF,
      expectContinue: true,
    });
    const request = await sampleRequest();
    const next = await sendHttp(receiver.endpoint, request, { headers: PROTOBUF, expectContinue: true });

    assert.equal(over.status, 413);
    assert.equal(over.continued, false);
    assert.equal(over.headers.connection, 'close');
    assert.equal(next.status, 200);
    assert.equal(next.continued, true);
    assert.deepEqual(ingest.requests.map((r) => r.bytes), [Buffer.from(request)]);
  });

  it('refuses a chunked body once it passes the limit and serves the next request', async () => {
    const { receiver, ingest } = await startReceiver({ maxRequestBodySizeBytes: LIMIT_BYTES });
    const agent = keepAliveAgent();
    const chunks = Array.from({ length: 8 }, () => Buffer.alloc(1024));
    const over = await sendHttp(receiver.endpoint, null, { headers: PROTOBUF, agent, chunks });
    const request = await sampleRequest();
    const next = await sendHttp(receiver.endpoint, request, { headers: PROTOBUF, agent });

    assert.equal(over.status, 413);
    assert.equal(next.status, 200);
    assert.deepEqual(ingest.requests.map((r) => r.bytes), [Buffer.from(request)]);
  });

  it('refuses gzip that inflates past the limit and serves the next request', async () => {
    const { receiver, ingest, deps } = await startReceiver({ maxRequestBodySizeBytes: LIMIT_BYTES });
    ingest.behaviour = acceptBytes;
    const headers = { ...PROTOBUF, 'Content-Encoding': 'gzip' };
    const bomb = zlib.gzipSync(Buffer.alloc(LIMIT_BYTES * 256));
    assert.ok(bomb.length < LIMIT_BYTES);
    const over = await sendHttp(receiver.endpoint, bomb, { headers });
    const atLimit = await sendHttp(receiver.endpoint, zlib.gzipSync(Buffer.alloc(LIMIT_BYTES)), { headers });

    assert.equal(over.status, 413);
    assert.match(decodeRpcStatus(over.body).message, /inflates/);
    assert.equal(atLimit.status, 200);
    assert.equal(ingest.requests.length, 1);
    assert.equal(ingest.requests[0].bytes.length, LIMIT_BYTES);
    assert.equal(await refused(deps, 'too_large'), 1);
  });
});

describe('createHttpReceiver: pushback and failures', () => {
  it('answers a full queue 503 with Retry-After and counts the spans', async () => {
    const { receiver, ingest, deps } = await startReceiver();
    ingest.behaviour = (request) => {
      const spans = countSpans(request);
      throw new IngestRefusedError('ERR_RECEIVER_QUEUE_FULL', 'the exporter queue is full', spans, {
        retryable: true,
        retryAfterMs: 2500,
      });
    };
    const request = await sampleRequest(['a', 'b', 'c']);
    const reply = await sendHttp(receiver.endpoint, request, { headers: PROTOBUF });

    assert.equal(reply.status, 503);
    assert.equal(reply.headers['retry-after'], '3');
    assert.deepEqual(decodeRpcStatus(reply.body), {
      code: 14,
      message: 'the exporter queue is full',
      detailTypes: [],
      retryDelayMs: null,
    });
    assert.equal(await refusedSpans(deps, 'http', 'queue_full'), 3);
    assert.equal(await refused(deps, 'queue_full'), 1);
  });

  it('answers other retryable errors 503 with a default Retry-After', async () => {
    const { receiver, ingest, deps } = await startReceiver();
    ingest.behaviour = () => {
      throw new BetraceError('ERR_EXPORTER_SEND_FAILED', 'downstream did not answer', { retryable: true });
    };
    const reply = await sendHttp(receiver.endpoint, '{}', { headers: JSON_TYPE });

    assert.equal(reply.status, 503);
    assert.match(String(reply.headers['retry-after']), /^[1-9]\d*$/);
    assert.deepEqual(jsonStatus(reply.body), { code: 14, message: 'downstream did not answer' });
    assert.equal(await refused(deps, 'unavailable'), 1);
  });

  it('answers unexpected errors 500 without their text and logs each kind once', async () => {
    const { receiver, ingest, deps } = await startReceiver();
    ingest.behaviour = () => {
      throw new RangeError('secret detail');
    };
    const first = await sendHttp(receiver.endpoint, '{}', { headers: JSON_TYPE });
    const second = await sendHttp(receiver.endpoint, '{}', { headers: JSON_TYPE });

    for (const reply of [first, second]) {
      assert.equal(reply.status, 500);
      assert.equal(jsonStatus(reply.body).code, 13);
      assert.doesNotMatch(reply.body.toString(), /secret/);
    }
    const errorLines = deps.logs.filter((l) => l.level === 50);
    assert.equal(errorLines.length, 1);
    assert.equal(await refused(deps, 'internal'), 2);
  });
});

describe('createHttpReceiver: lifecycle', () => {
  it('reports the bound port and logs its start and stop', async () => {
    const { receiver, deps } = await startReceiver();
    assert.match(receiver.endpoint, /^127\.0\.0\.1:[1-9]\d*$/);
    await receiver.shutdown(Date.now() + 1000);
    assert.deepEqual(
      deps.logs.map((l) => [l.msg, l.endpoint, l.transport]),
      [
        ['receiver listening', receiver.endpoint, 'http'],
        ['receiver stopped', receiver.endpoint, 'http'],
      ],
    );
  });

  it('refuses to start on a port that is taken', async () => {
    const { receiver } = await startReceiver();
    const config = httpConfig({ endpoint: receiver.endpoint });
    const second = createHttpReceiver(config, createFakeIngest(), createTestDeps());
    await assert.rejects(second.start(), (err: BetraceError) => {
      assert.equal(err.code, 'ERR_PROCESSOR_STARTUP');
      assert.match(err.message, /EADDRINUSE/);
      return true;
    });
  });

  it('lets an in-flight request finish on shutdown, then takes no more', async () => {
    const { receiver, ingest } = await startReceiver();
    const arrived = createDeferred<void>();
    const release = createDeferred<void>();
    ingest.behaviour = async (request) => {
      arrived.resolve();
      await release.promise;
      return { total: countSpans(request), rejected: 0, message: '' };
    };
    const agent = keepAliveAgent();
    const request = await sampleRequest();
    const inFlight = sendHttp(receiver.endpoint, request, { headers: PROTOBUF, agent });
    await arrived.promise;

    const stopped = receiver.shutdown(Date.now() + 10_000);
    release.resolve();
    const reply = await inFlight;
    await stopped;

    assert.equal(reply.status, 200);
    assert.equal(reply.headers.connection, 'close');
    const late = sendHttp(receiver.endpoint, request, { headers: PROTOBUF });
    await assert.rejects(late, { code: 'ECONNREFUSED' });
  });

  it('cuts off requests still running at the deadline', async () => {
    const { receiver, ingest } = await startReceiver();
    const arrived = createDeferred<void>();
    ingest.behaviour = () => {
      arrived.resolve();
      return new Promise(() => undefined);
    };
    const inFlight = sendHttp(receiver.endpoint, await sampleRequest(), { headers: PROTOBUF });
    await arrived.promise;

    await receiver.shutdown(Date.now() + 20);
    await assert.rejects(inFlight, { code: 'ECONNRESET' });
  });
});
