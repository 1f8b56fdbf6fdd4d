/**
 * Exporter throughput against a loopback OTLP sink in a child process,
 * compared in the same run with a baseline that sends the same bytes with
 * the bare client (grpc-js makeUnaryRequest / node:http) at the same
 * concurrency, without queue, retry or metrics. Runs alternate A B A B and
 * medians are reported as `BENCH_JSON {...}` lines.
 *
 * Usage: node dist/benchmarks/exporter-throughput.js [requests-per-run] [concurrency]
 */

import { fork } from 'node:child_process';
import http from 'node:http';
import zlib from 'node:zlib';

import * as grpc from '@grpc/grpc-js';
import { context, trace } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { Registry } from 'prom-client';

import { createSilentLogger } from '../processor/log';
import { createOtlpExporter } from '../processor/exporter/otlp-exporter';
import { startOtlpSink } from '../test/helpers/otlp-sink';

import type { OtlpExporterConfig } from '../config/types';

const SPANS_PER_REQUEST = 512;
const TRACES_PER_REQUEST = 50;
const ATTRIBUTES_PER_SPAN = 10;
/** The exporter's own default; the second argument overrides it for both sides. */
const CONCURRENCY = Number(process.argv[3] ?? 8);
const ROUNDS = 2;
const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

type Protocol = OtlpExporterConfig['protocol'];

interface SinkPorts {
  grpcEndpoint: string;
  httpEndpoint: string;
}

async function main(): Promise<void> {
  if (process.argv[2] === '--sink') return runSinkChild();
  const requestsPerRun = Number(process.argv[2] ?? 150);
  const request = buildRequest();
  const child = fork(__filename, ['--sink'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ports = await new Promise<SinkPorts>((resolve) => child.once('message', (m) => resolve(m as SinkPorts)));
  const reset = (): Promise<void> =>
    new Promise((resolve) => {
      child.once('message', () => resolve());
      child.send('reset');
    });

  try {
    for (const protocol of ['grpc', 'http/protobuf'] as const) {
      for (const compression of ['none', 'gzip'] as const) {
        const product: number[] = [];
        const baseline: number[] = [];
        for (let round = 0; round < ROUNDS; round++) {
          await reset();
          product.push(await runExporter(protocol, compression, ports, request, requestsPerRun));
          await reset();
          baseline.push(await runBaseline(protocol, compression, ports, request, requestsPerRun));
        }
        const spansPerSec = median(product);
        const baselineSpansPerSec = median(baseline);
        console.log(`BENCH_JSON ${JSON.stringify({
          bench: 'exporter_throughput',
          protocol,
          compression,
          requests_per_run: requestsPerRun,
          spans_per_request: SPANS_PER_REQUEST,
          request_bytes: request.length,
          concurrency: CONCURRENCY,
          spans_per_sec: Math.round(spansPerSec),
          baseline_spans_per_sec: Math.round(baselineSpansPerSec),
          exporter_ratio: Number((spansPerSec / baselineSpansPerSec).toFixed(3)),
        })}`);
      }
    }
  } finally {
    child.kill();
  }
}

/** Spans per second through the exporter's queue, from the first offer until the queue is empty. */
async function runExporter(protocol: Protocol, compression: 'none' | 'gzip', ports: SinkPorts, request: Buffer, count: number): Promise<number> {
  const endpoint = protocol === 'grpc' ? ports.grpcEndpoint : ports.httpEndpoint;
  const exporter = createOtlpExporter(
    {
      endpoint,
      protocol,
      headers: {},
      tls: { insecure: true, caFile: '', certFile: '', keyFile: '', serverName: '' },
      compression,
      timeoutMs: 10_000,
      retry: { initialIntervalMs: 5, maxIntervalMs: 50, maxElapsedTimeMs: 30_000 },
      queue: { enabled: true, maxRequests: count + 1, maxBytes: (count + 1) * request.length },
    },
    { logger: createSilentLogger(), registry: new Registry(), concurrency: CONCURRENCY },
  );
  // Warm the connection so both sides measure steady state.
  await exporter.send(request, SPANS_PER_REQUEST);

  const startedAt = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    if (!exporter.offer(request, SPANS_PER_REQUEST)) throw new Error('queue refused a request');
  }
  await exporter.shutdown(Date.now() + 60_000);
  return spansPerSec(count, startedAt);
}

/** Spans per second with the bare client, `CONCURRENCY` requests in flight. */
async function runBaseline(protocol: Protocol, compression: 'none' | 'gzip', ports: SinkPorts, request: Buffer, count: number): Promise<number> {
  const sendOne = protocol === 'grpc' ? bareGrpc(ports.grpcEndpoint, compression) : bareHttp(ports.httpEndpoint, compression);
  await sendOne.send(request);

  const startedAt = process.hrtime.bigint();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next++;
      await sendOne.send(request);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const result = spansPerSec(count, startedAt);
  sendOne.close();
  return result;
}

function bareGrpc(endpoint: string, compression: 'none' | 'gzip'): { send(b: Buffer): Promise<void>; close(): void } {
  const options: grpc.ChannelOptions = { 'grpc.max_send_message_length': -1 };
  if (compression === 'gzip') options['grpc.default_compression_algorithm'] = 2;
  const client = new grpc.Client(endpoint, grpc.credentials.createInsecure(), options);
  const identity = (b: Buffer): Buffer => b;
  return {
    send: (body) =>
      new Promise((resolve, reject) => {
        client.makeUnaryRequest(EXPORT_PATH, identity, identity, body, new grpc.Metadata(), {}, (err) =>
          err ? reject(err) : resolve());
      }),
    close: () => client.close(),
  };
}

function bareHttp(endpoint: string, compression: 'none' | 'gzip'): { send(b: Buffer): Promise<void>; close(): void } {
  const agent = new http.Agent({ keepAlive: true });
  return {
    send: async (raw) => {
      const body = compression === 'gzip'
        ? await new Promise<Buffer>((resolve, reject) =>
          zlib.gzip(raw, { level: zlib.constants.Z_BEST_SPEED }, (err, out) => (err ? reject(err) : resolve(out))))
        : raw;
      const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/x-protobuf', 'content-length': body.length };
      if (compression === 'gzip') headers['content-encoding'] = 'gzip';
      await new Promise<void>((resolve, reject) => {
        const req = http.request(endpoint, { method: 'POST', agent, headers }, (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`status ${res.statusCode}`))));
        });
        req.on('error', reject);
        req.end(body);
      });
    },
    close: () => agent.destroy(),
  };
}

/** A realistic request: 512 spans in about 50 traces, 10 attributes each. */
function buildRequest(): Buffer {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
  const tracer = provider.getTracer('bench', '1.0.0');
  for (let t = 0; t < TRACES_PER_REQUEST; t++) {
    const spansInTrace = Math.ceil(SPANS_PER_REQUEST / TRACES_PER_REQUEST);
    const root = tracer.startSpan('payment.process');
    const parent = trace.setSpan(context.active(), root);
    for (let s = 1; s < spansInTrace; s++) {
      const span = tracer.startSpan(`db.query.${s % 7}`, {}, parent);
      for (let a = 0; a < ATTRIBUTES_PER_SPAN; a++) span.setAttribute(`attr.${a}`, `value-${t}-${s}-${a}`);
      span.end();
    }
    root.end();
  }
  return Buffer.from(ProtobufTraceSerializer.serializeRequest(memory.getFinishedSpans().slice(0, SPANS_PER_REQUEST))!);
}

async function runSinkChild(): Promise<void> {
  const sink = await startOtlpSink({ protocol: 'both' });
  process.on('message', (message) => {
    if (message === 'reset') {
      sink.reset();
      process.send?.('ok');
    }
  });
  process.on('disconnect', () => void sink.close().then(() => process.exit(0)));
  process.send?.({ grpcEndpoint: sink.grpcEndpoint, httpEndpoint: sink.httpEndpoint });
}

function spansPerSec(requests: number, startedAt: bigint): number {
  const seconds = Number(process.hrtime.bigint() - startedAt) / 1e9;
  return (requests * SPANS_PER_REQUEST) / seconds;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

void main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
