/**
 * Receiver overhead: the product's gRPC and HTTP receivers (with a pipeline
 * that acknowledges at once) against bare servers on the same transports
 * that only take the bytes and answer, measured in the same run.
 *
 * One closed-loop client per run (fixed concurrency) sends realistic
 * 512-span requests over loopback; runs alternate A B A B and the medians
 * are compared. Prints one `BENCH_JSON {...}` line.
 *
 * Usage: node dist/benchmarks/receiver-ingest.js [runMs]
 */

import http from 'node:http';
import { performance } from 'node:perf_hooks';

import * as grpc from '@grpc/grpc-js';
import { Registry } from 'prom-client';

import { createSilentLogger } from '../processor/log';
import { createReceiverMetrics } from '../processor/receiver/metrics';
import { TRACE_EXPORT_PATH, createGrpcReceiver } from '../processor/receiver/otlp-grpc';
import { createHttpReceiver } from '../processor/receiver/otlp-http';
import { createWorkload } from './otlp-workload';

import type { Receiver, ReceiverDeps, TraceIngest } from '../processor/receiver/ingest';

const RUN_MS = Number(process.argv[2] ?? 2000);
const CONCURRENCY = 8;
const ROUNDS = 2;
const LIMIT_BYTES = 16 * 1024 * 1024;
const NO_TLS = { certFile: '', keyFile: '', clientCaFile: '' };

interface Target {
  readonly endpoint: string;
  stop(): Promise<void>;
}

type Send = (request: Uint8Array) => Promise<void>;

const workload = createWorkload({ requests: 16 });
const spansPerRequest = workload.spans / workload.requests.length;

// Acknowledges without decoding, so the figures are the receivers' own cost.
const ACK: TraceIngest = {
  ingest: async () => ({ total: spansPerRequest, rejected: 0, message: '' }),
};

function deps(): ReceiverDeps {
  return { logger: createSilentLogger(), metrics: createReceiverMetrics(new Registry()) };
}

async function startProduct(receiver: Receiver): Promise<Target> {
  await receiver.start();
  return { endpoint: receiver.endpoint, stop: () => receiver.shutdown(Date.now() + 1000) };
}

async function startBareGrpc(): Promise<Target> {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': LIMIT_BYTES });
  const service: grpc.ServiceDefinition = {
    Export: {
      path: TRACE_EXPORT_PATH,
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: (b: Buffer) => b,
      responseDeserialize: (b: Buffer) => b,
    },
  };
  const empty = Buffer.alloc(0);
  server.addService(service, {
    Export: (_call: unknown, callback: grpc.sendUnaryData<Buffer>) => callback(null, empty),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err === null ? resolve(p) : reject(err),
    ),
  );
  return {
    endpoint: `127.0.0.1:${port}`,
    stop: () => new Promise((resolve) => server.tryShutdown(() => resolve())),
  };
}

async function startBareHttp(): Promise<Target> {
  const server = http.createServer((req, res) => {
    const parts: Buffer[] = [];
    req.on('data', (chunk: Buffer) => parts.push(chunk));
    req.on('end', () => {
      Buffer.concat(parts);
      res.setHeader('Content-Type', 'application/x-protobuf');
      res.setHeader('Content-Length', 0);
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as { port: number };
  return {
    endpoint: `127.0.0.1:${address.port}`,
    stop: () => {
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

function grpcSender(endpoint: string): { send: Send; close(): void } {
  const client = new grpc.Client(endpoint, grpc.credentials.createInsecure());
  const send: Send = (request) =>
    new Promise((resolve, reject) => {
      client.makeUnaryRequest<Buffer, Buffer>(
        TRACE_EXPORT_PATH,
        (b) => b,
        (b) => b,
        Buffer.from(request.buffer, request.byteOffset, request.byteLength),
        (err) => (err ? reject(err) : resolve()),
      );
    });
  return { send, close: () => client.close() };
}

function httpSender(endpoint: string): { send: Send; close(): void } {
  const [host, port] = endpoint.split(':');
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const send: Send = (request) =>
    new Promise((resolve, reject) => {
      const req = http.request(
        {
          host,
          port: Number(port),
          method: 'POST',
          path: '/v1/traces',
          agent,
          headers: {
            'Content-Type': 'application/x-protobuf',
            'Content-Length': request.byteLength,
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode === 200) resolve();
            else reject(new Error(`status ${res.statusCode}`));
          });
        },
      );
      req.on('error', reject);
      req.end(request);
    });
  return { send, close: () => agent.destroy() };
}

/** Sends for RUN_MS with CONCURRENCY requests in flight; returns spans per second. */
async function drive(send: Send): Promise<number> {
  let next = 0;
  let sent = 0;
  const deadline = performance.now() + RUN_MS;
  const startedAt = performance.now();
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      await send(workload.requests[next++ % workload.requests.length]);
      sent += 1;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return (sent * spansPerRequest) / ((performance.now() - startedAt) / 1000);
}

async function measure(
  start: () => Promise<Target>,
  sender: (endpoint: string) => { send: Send; close(): void },
): Promise<number> {
  const target = await start();
  const client = sender(target.endpoint);
  try {
    return await drive(client.send);
  } finally {
    client.close();
    await target.stop();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function compare(
  product: () => Promise<Target>,
  baseline: () => Promise<Target>,
  sender: (endpoint: string) => { send: Send; close(): void },
): Promise<[number, number]> {
  // One short warm-up of each, so the JIT state is alike for both.
  await measure(product, sender);
  await measure(baseline, sender);
  const a: number[] = [];
  const b: number[] = [];
  for (let i = 0; i < ROUNDS; i += 1) {
    a.push(await measure(product, sender));
    b.push(await measure(baseline, sender));
  }
  return [median(a), median(b)];
}

async function main(): Promise<void> {
  const grpcConfig = { endpoint: '127.0.0.1:0', maxRecvMsgSizeBytes: LIMIT_BYTES, tls: NO_TLS };
  const httpConfig = { endpoint: '127.0.0.1:0', maxRequestBodySizeBytes: LIMIT_BYTES, tls: NO_TLS };
  const [grpcProduct, grpcBaseline] = await compare(
    () => startProduct(createGrpcReceiver(grpcConfig, ACK, deps())),
    startBareGrpc,
    grpcSender,
  );
  const [httpProduct, httpBaseline] = await compare(
    () => startProduct(createHttpReceiver(httpConfig, ACK, deps())),
    startBareHttp,
    httpSender,
  );
  const round = (x: number): number => Math.round(x);
  console.log(
    `BENCH_JSON ${JSON.stringify({
      bench: 'receiver-ingest',
      spans_per_request: spansPerRequest,
      concurrency: CONCURRENCY,
      run_ms: RUN_MS,
      grpc_spans_per_sec: round(grpcProduct),
      baseline_grpc_spans_per_sec: round(grpcBaseline),
      grpc_ratio: Number((grpcProduct / grpcBaseline).toFixed(3)),
      http_spans_per_sec: round(httpProduct),
      baseline_http_spans_per_sec: round(httpBaseline),
      http_ratio: Number((httpProduct / httpBaseline).toFixed(3)),
    })}`,
  );
}

void main();
