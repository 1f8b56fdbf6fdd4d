/**
 * gRPC clients below the SDK: a grpc-js client with identity serializers for
 * exact bytes, and a bare HTTP/2 client for frames grpc-js would never send
 * (a corrupt gzip message, a compressed message that inflates past a limit).
 */

import http2 from 'node:http2';

import * as grpc from '@grpc/grpc-js';

import { TRACE_EXPORT_PATH } from '../../processor/receiver/otlp-grpc';

/** The outcome of one unary call. */
export interface UnaryOutcome {
  readonly error: grpc.ServiceError | null;
  readonly response: Buffer | null;
}

/** Calls `path` (Export by default) with `request` as the exact message bytes. */
export function callUnary(
  client: grpc.Client,
  request: Uint8Array,
  path: string = TRACE_EXPORT_PATH,
  timeoutMs = 10_000,
): Promise<UnaryOutcome> {
  return new Promise((resolve) => {
    client.makeUnaryRequest<Buffer, Buffer>(
      path,
      (bytes) => bytes,
      (bytes) => bytes,
      Buffer.from(request),
      new grpc.Metadata(),
      { deadline: Date.now() + timeoutMs },
      (error, response) => resolve({ error: error ?? null, response: response ?? null }),
    );
  });
}

/** A plaintext grpc-js client for `endpoint`. */
export function createRawClient(
  endpoint: string,
  credentials: grpc.ChannelCredentials = grpc.credentials.createInsecure(),
  options: grpc.ClientOptions = {},
): grpc.Client {
  return new grpc.Client(endpoint, credentials, options);
}

/** The status of a call made over bare HTTP/2. */
export interface FrameOutcome {
  readonly code: number;
  readonly message: string;
}

/**
 * Sends one length-prefixed gRPC message with the compressed flag set and
 * `grpc-encoding: gzip`, whatever the payload holds.
 */
export function sendGzipFrame(endpoint: string, payload: Buffer): Promise<FrameOutcome> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://${endpoint}`);
    session.on('error', reject);
    const stream = session.request({
      ':method': 'POST',
      ':path': TRACE_EXPORT_PATH,
      'content-type': 'application/grpc',
      'grpc-encoding': 'gzip',
      te: 'trailers',
    });
    let headerStatus: string | undefined;
    let headerMessage: string | undefined;
    stream.on('response', (headers) => {
      headerStatus = headers['grpc-status'] as string | undefined;
      headerMessage = headers['grpc-message'] as string | undefined;
    });
    stream.on('trailers', (trailers) => {
      headerStatus = trailers['grpc-status'] as string | undefined;
      headerMessage = trailers['grpc-message'] as string | undefined;
    });
    stream.on('data', () => undefined);
    stream.on('close', () => {
      session.close();
      resolve({
        code: headerStatus === undefined ? -1 : Number(headerStatus),
        message: decodeURIComponent(headerMessage ?? ''),
      });
    });
    stream.on('error', () => undefined);
    const prefix = Buffer.alloc(5);
    prefix.writeUInt8(1, 0);
    prefix.writeUInt32BE(payload.length, 1);
    stream.end(Buffer.concat([prefix, payload]));
  });
}
