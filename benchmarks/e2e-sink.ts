/**
 * The downstream of the end-to-end benchmark, run as its own process: a
 * lean OTLP/gRPC receiver that takes the request bytes without decoding and
 * answers at once. It counts what arrived and, when asked to, notes the
 * arrival time of the first `betrace.violation` span of each trace.
 *
 * Started by e2e-bench.js through e2e-child.ts; not meant to be run alone.
 */

import { performance } from 'node:perf_hooks';

import * as grpc from '@grpc/grpc-js';

import { serveParent } from './e2e-child';
import { findTraceId, readSpanName, readSpanStartMs, walkSpans } from './e2e-span-walk';

/** The sink's ready message. */
export interface SinkReady {
  readonly endpoint: string;
}

/**
 * Per trace ID (hex): when its first violation span reached the sink, and
 * the detection time the processor wrote into it (its start time), both
 * epoch ms.
 */
export type ViolationArrivals = Record<string, readonly [arrivedMs: number, detectedMs: number]>;

/** What the sink has received since its last reset. */
export interface SinkCounts {
  readonly requests: number;
  readonly bytes: number;
  /** Requests that held at least one violation span (counted while watching). */
  readonly violationRequests: number;
}

/** The OTLP/gRPC trace export method, served by the sink and the baseline. */
export const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
const VIOLATION_NAME = 'betrace.violation';
const MARKER = Buffer.from(VIOLATION_NAME);
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

async function main(): Promise<void> {
  let requests = 0;
  let bytes = 0;
  let violationRequests = 0;
  let watching = false;
  let arrivals = new Map<string, [number, number]>();

  const server = new grpc.Server({ 'grpc.max_receive_message_length': MAX_MESSAGE_BYTES });
  const service: grpc.ServiceDefinition = {
    Export: {
      path: EXPORT_PATH,
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
    Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      const body = call.request;
      requests++;
      bytes += body.length;
      // Only the processor's own small requests carry the name; the scan is
      // skipped entirely outside the latency phase.
      if (watching && body.indexOf(MARKER) !== -1) {
        const arrivedMs = performance.timeOrigin + performance.now();
        if (noteViolations(body, arrivedMs, arrivals)) violationRequests++;
      }
      callback(null, empty);
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err === null ? resolve(p) : reject(err),
    ),
  );

  serveParent(
    { endpoint: `127.0.0.1:${port}` } satisfies SinkReady,
    {
      counts: (): SinkCounts => ({ requests, bytes, violationRequests }),
      reset: () => {
        requests = 0;
        bytes = 0;
        violationRequests = 0;
        return null;
      },
      watch: (on) => {
        watching = on === true;
        return null;
      },
      take: (): ViolationArrivals => {
        const taken = Object.fromEntries(arrivals);
        arrivals = new Map();
        return taken;
      },
      cpu: () => process.cpuUsage(),
    },
    () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  );
}

/** Records the violation spans of one request; true when it held any. */
function noteViolations(body: Buffer, arrivedMs: number, arrivals: Map<string, [number, number]>): boolean {
  let found = false;
  walkSpans(body, (start, end) => {
    if (readSpanName(body, start, end) !== VIOLATION_NAME) return;
    const range = findTraceId(body, start, end);
    if (range === null) return;
    found = true;
    const traceId = body.toString('hex', range.start, range.end);
    if (!arrivals.has(traceId)) arrivals.set(traceId, [arrivedMs, readSpanStartMs(body, start, end)]);
  });
  return found;
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
