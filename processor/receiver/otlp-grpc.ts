/**
 * The OTLP/gRPC trace receiver: `TraceService/Export` on a grpc-js server.
 * The request stays raw bytes (identity deserializer) and is decoded by the
 * pipeline inside the handler; decoding in the deserializer is several times
 * slower (PERF-NOTES). The metrics and logs services are not registered, so
 * grpc-js answers them UNIMPLEMENTED, as a traces-only Collector does.
 *
 * grpc-js enforces `grpc.max_receive_message_length` itself, on the wire size
 * of a message and again while it inflates a compressed one (it stops
 * inflating past the limit), answering RESOURCE_EXHAUSTED; it also inflates
 * gzip and deflate messages and answers INTERNAL for corrupt ones (as grpc-go
 * does, a status the OTLP specification treats as not retryable).
 */

import { performance } from 'node:perf_hooks';

import * as grpc from '@grpc/grpc-js';

import type { GrpcReceiverConfig } from '../../config/types';
import { encodeExportResponse } from '../../proto/export-response';
import { BetraceError } from '../errors';
import { fromListenAddress, toListenAddress } from './endpoint';
import { createLogErrorOnce, toErrorKind } from './log-once';
import { LOOP_GUARD_HEADER, refuseOwnExport } from './loop-guard';
import { toRefusal } from './refusal';
import { encodeRpcStatus } from './rpc-status';
import { loadReceiverTls } from './tls';

import type { Receiver, ReceiverDeps, TraceIngest } from './ingest';
import type { LogErrorOnce } from './log-once';
import type { ReceiverMetrics, RequestRefusalReason } from './metrics';
import type { Refusal } from './refusal';

/** The one method this receiver serves. */
export const TRACE_EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

type SendStatus = grpc.ServerInterceptingCallInterface['sendStatus'];
type StatusLike = Parameters<SendStatus>[0];

interface Answer {
  readonly error: grpc.ServerErrorResponse | null;
  readonly response: Uint8Array | null;
}

const TRACE_SERVICE: grpc.ServiceDefinition = {
  Export: {
    path: TRACE_EXPORT_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: (bytes: Buffer) => bytes,
    requestDeserialize: (bytes: Buffer) => bytes,
    responseSerialize: (bytes: Uint8Array) => toBuffer(bytes),
    responseDeserialize: (bytes: Buffer) => bytes,
  },
};

/** Creates the gRPC receiver; nothing listens until `start()`. */
export function createGrpcReceiver(
  config: GrpcReceiverConfig,
  ingest: TraceIngest,
  deps: ReceiverDeps,
): Receiver {
  const log = deps.logger.child({ component: 'receiver/otlp_grpc' });
  const logErrorOnce = createLogErrorOnce(log);
  let server: grpc.Server | null = null;
  let endpoint = config.endpoint;
  let stopped: Promise<void> | null = null;

  const onExport = createExportHandler(ingest, deps.metrics, logErrorOnce, deps.processorId);
  const onTransportRefusal = (status: StatusLike): void => {
    const reason = toTransportRefusalReason(status);
    if (reason !== null) deps.metrics.recordRefused('grpc', reason, null);
  };

  return {
    get endpoint() {
      return endpoint;
    },

    async start() {
      if (server !== null) return;
      const { host, port } = toListenAddress(config.endpoint);
      const credentials = await createCredentials(config);
      const created = new grpc.Server({
        'grpc.max_receive_message_length': config.maxRecvMsgSizeBytes,
        interceptors: [createRefusalObserver(onTransportRefusal)],
      });
      created.addService(TRACE_SERVICE, { Export: onExport });
      const boundPort = await bind(created, fromListenAddress(host, port), credentials);
      server = created;
      endpoint = fromListenAddress(host, boundPort);
      const tls = config.tls.certFile !== '';
      log.info({ endpoint, transport: 'grpc', tls }, 'receiver listening');
    },

    shutdown(deadlineMs) {
      if (server === null) return Promise.resolve();
      stopped ??= stopServer(server, deadlineMs).then(() => {
        log.info({ endpoint, transport: 'grpc' }, 'receiver stopped');
      });
      return stopped;
    },
  };
}

function createExportHandler(
  ingest: TraceIngest,
  metrics: ReceiverMetrics,
  logErrorOnce: LogErrorOnce,
  processorId: string | undefined,
): grpc.handleUnaryCall<Buffer, Uint8Array> {
  const answer = async (request: Buffer, deadlineMs: number | undefined, exportedBy: unknown): Promise<Answer> => {
    try {
      refuseOwnExport(exportedBy, processorId);
      const result = await ingest.ingest(request, 'grpc', deadlineMs);
      const response = encodeExportResponse(result.rejected, result.message);
      metrics.recordAccepted('grpc', result);
      return { error: null, response };
    } catch (err) {
      const refusal = toRefusal(err);
      metrics.recordRefused('grpc', refusal.reason, refusal.spans);
      if (refusal.reason === 'internal' || refusal.reason === 'export_loop') {
        logErrorOnce(toErrorKind(err), err, { transport: 'grpc' });
      }
      return { error: toServiceError(refusal), response: null };
    }
  };
  return (call, callback) => {
    const startedAt = performance.now();
    const exportedBy = call.metadata.get(LOOP_GUARD_HEADER)[0];
    void answer(call.request, toDeadlineMs(call.getDeadline()), exportedBy).then(({ error, response }) => {
      metrics.observeDurationSeconds('grpc', (performance.now() - startedAt) / 1000);
      if (error !== null) callback(error);
      else callback(null, response);
    });
  };
}

/** A call's deadline in epoch ms; undefined when the sender set none. */
function toDeadlineMs(deadline: grpc.Deadline): number | undefined {
  const ms = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(ms) ? ms : undefined;
}

function toServiceError(refusal: Refusal): grpc.ServerErrorResponse {
  const metadata = new grpc.Metadata();
  if (refusal.retryAfterMs > 0) {
    // RetryInfo tells OTLP exporters (the Collector's among them) how long to back off.
    metadata.set(
      'grpc-status-details-bin',
      encodeRpcStatus(refusal.rpcCode, refusal.message, refusal.retryAfterMs),
    );
  }
  return Object.assign(new Error(refusal.message), {
    code: refusal.rpcCode,
    details: refusal.message,
    metadata,
  });
}

/**
 * Sees the statuses grpc-js sends on its own (size limit, inflate failure)
 * before the handler runs, so that they are counted too. It wraps the
 * innermost call's sendStatus, through which grpc-js (1.14) sends them;
 * statuses from the handler pass the outer responder first and are not
 * counted twice. The receiver tests pin this, since it rests on how grpc-js
 * routes its own statuses rather than on a documented hook.
 */
function createRefusalObserver(onRefusal: (status: StatusLike) => void): grpc.ServerInterceptor {
  return (method, call) => {
    if (method.path !== TRACE_EXPORT_PATH) return new grpc.ServerInterceptingCall(call);
    let answeredByHandler = false;
    const sendStatus: SendStatus = call.sendStatus.bind(call);
    call.sendStatus = (status) => {
      if (!answeredByHandler) onRefusal(status);
      sendStatus(status);
    };
    return new grpc.ServerInterceptingCall(call, {
      sendStatus(status, next) {
        answeredByHandler = true;
        next(status);
      },
    });
  };
}

function toTransportRefusalReason(status: StatusLike): RequestRefusalReason | null {
  switch (status.code) {
    case grpc.status.RESOURCE_EXHAUSTED:
      return 'too_large';
    case grpc.status.UNIMPLEMENTED:
      return 'unsupported_encoding';
    case grpc.status.INTERNAL:
      return /decompress/i.test(status.details ?? '') ? 'bad_gzip' : 'internal';
    default:
      // Deadlines and cancellations are the sender's doing, not refusals.
      return null;
  }
}

async function createCredentials(config: GrpcReceiverConfig): Promise<grpc.ServerCredentials> {
  const tls = await loadReceiverTls(config.tls);
  if (tls === null) return grpc.ServerCredentials.createInsecure();
  try {
    return grpc.ServerCredentials.createSsl(
      tls.clientCa,
      [{ cert_chain: tls.cert, private_key: tls.key }],
      tls.clientCa !== null,
    );
  } catch (err) {
    throw new BetraceError(
      'ERR_PROCESSOR_STARTUP',
      `receiver tls for ${config.endpoint} is unusable: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

function bind(
  server: grpc.Server,
  address: string,
  credentials: grpc.ServerCredentials,
): Promise<number> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, credentials, (err, port) => {
      if (err === null) {
        resolve(port);
        return;
      }
      reject(
        new BetraceError('ERR_PROCESSOR_STARTUP', `cannot listen on ${address}: ${err.message}`, {
          cause: err,
        }),
      );
    });
  });
}

function stopServer(server: grpc.Server, deadlineMs: number): Promise<void> {
  return new Promise((resolve) => {
    // tryShutdown sends GOAWAY and waits for the streams in progress; the
    // timer cuts them off at the deadline.
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, Math.max(0, deadlineMs - Date.now()));
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

function toBuffer(bytes: Uint8Array): Buffer {
  if (Buffer.isBuffer(bytes)) return bytes;
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
