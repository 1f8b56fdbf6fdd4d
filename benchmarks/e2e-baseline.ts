/**
 * The baseline of the end-to-end benchmark, run as its own process: a
 * grpc-js OTLP receiver with an identity deserializer whose handler forwards
 * the raw request bytes to the sink with a grpc-js client and answers once
 * the sink answered. No decoding, buffering or evaluation.
 *
 * It answers after the downstream, like the product with
 * `exporters.otlp.queue.enabled: false` (the configuration the benchmark
 * runs), and its server and channel options are the product's, so the two
 * differ only in what the product does on top of forwarding.
 *
 * Usage (through e2e-bench.js): e2e-baseline.js SINK_ENDPOINT
 */

import * as grpc from '@grpc/grpc-js';

import { serveParent } from './e2e-child';
import { EXPORT_PATH } from './e2e-sink';

/** The baseline's ready message. */
export interface BaselineReady {
  readonly endpoint: string;
}

const MAX_RECV_BYTES = 16 * 1024 * 1024;
/** The product's default per-attempt export timeout. */
const FORWARD_TIMEOUT_MS = 5_000;

async function main(): Promise<void> {
  const sinkEndpoint = process.argv[2];
  if (sinkEndpoint === undefined) throw new Error('usage: e2e-baseline.js SINK_ENDPOINT');
  const identity = (b: Buffer): Buffer => b;
  const client = new grpc.Client(sinkEndpoint, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': -1,
    'grpc.enable_retries': 0,
    'grpc.use_local_subchannel_pool': 1,
  });
  const server = new grpc.Server({ 'grpc.max_receive_message_length': MAX_RECV_BYTES });
  const service: grpc.ServiceDefinition = {
    Export: {
      path: EXPORT_PATH,
      requestStream: false,
      responseStream: false,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    },
  };
  const empty = Buffer.alloc(0);
  server.addService(service, {
    Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      client.makeUnaryRequest<Buffer, Buffer>(
        EXPORT_PATH,
        identity,
        identity,
        call.request,
        new grpc.Metadata(),
        { deadline: Date.now() + FORWARD_TIMEOUT_MS },
        (err) => {
          if (err) callback({ code: grpc.status.UNAVAILABLE, details: err.message }, null);
          else callback(null, empty);
        },
      );
    },
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err === null ? resolve(p) : reject(err),
    ),
  );

  serveParent(
    { endpoint: `127.0.0.1:${port}` } satisfies BaselineReady,
    { cpu: () => process.cpuUsage() },
    async () => {
      await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
      client.close();
    },
  );
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
