/**
 * A real downstream OTLP trace receiver on loopback, for tests: it records
 * the raw protobuf bytes of every accepted request and can be scripted to
 * fail, to answer slowly, or to restart on the same port.
 */

import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import zlib from 'node:zlib';

import * as grpc from '@grpc/grpc-js';

import type { AddressInfo } from 'node:net';

const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
const HTTP_PATH = '/v1/traces';
const HOST = '127.0.0.1';
const GRPC_UNAVAILABLE = 14;

/** Which transports the sink serves; each gets its own port. */
export type SinkProtocol = 'grpc' | 'http' | 'both';

export interface OtlpSinkOptions {
  /** Default 'both'. */
  readonly protocol?: SinkProtocol;
  /** Serve TLS (gRPC over TLS, HTTPS) with this PEM certificate and key. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string };
}

/** How the next scripted requests are answered. */
export interface SinkFailure {
  /** gRPC status code for gRPC requests (mapped from httpStatus when absent). */
  readonly grpcCode?: number;
  /** HTTP status for HTTP requests (mapped from grpcCode when absent). */
  readonly httpStatus?: number;
  /** Wait this long before answering. With no code the request then succeeds. */
  readonly delayMs?: number;
  /** The delay asked for: HTTP Retry-After, or a gRPC RetryInfo in the status details. */
  readonly retryAfterSeconds?: number;
}

/** One accepted request. */
export interface SinkRecord {
  readonly transport: 'grpc' | 'http';
  /** The ExportTraceServiceRequest bytes, decompressed. */
  readonly body: Buffer;
  /** Lower-case header or metadata names; repeated values joined with ', '. */
  readonly headers: Readonly<Record<string, string>>;
  /** HTTP Content-Encoding ('' when absent); always '' for gRPC. */
  readonly contentEncoding: string;
}

/** A running sink. */
export interface OtlpSink {
  /** `127.0.0.1:PORT`, or '' when gRPC is not served. */
  readonly grpcEndpoint: string;
  /** `http(s)://127.0.0.1:PORT/v1/traces`, or '' when HTTP is not served. */
  readonly httpEndpoint: string;
  /** Bodies of the accepted requests, in arrival order (live array). */
  readonly requests: Buffer[];
  /** Same order as `requests`, with transport and headers (live array). */
  readonly records: SinkRecord[];
  /** Every request that reached a handler, failed, cancelled or accepted. */
  readonly attempts: number;
  /**
   * Resolves once `predicate` holds, checked now and after every request
   * received or accepted; rejects after `timeoutMs` naming what arrived.
   */
  waitFor(
    predicate: (requests: readonly Buffer[], records: readonly SinkRecord[]) => boolean,
    timeoutMs: number,
  ): Promise<void>;
  /** Answers the next `count` requests as `failure` says. Calls add up in order. */
  failNext(count: number, failure: SinkFailure): void;
  /** Delays every answer that has no scripted delay (0 = none). */
  setDelay(delayMs: number): void;
  /** The body of successful answers; default empty (a valid empty response). */
  setResponse(body: Uint8Array): void;
  /** Forgets recorded requests, attempts and scripted failures; clears the delay and response. */
  reset(): void;
  /** Stops (dropping open connections and calls), waits `downMs`, listens again on the same ports. */
  restart(downMs?: number): Promise<void>;
  /** Stops for good. */
  close(): Promise<void>;
}

/** Starts a sink on 127.0.0.1 with ports chosen by the system. */
export async function startOtlpSink(options: OtlpSinkOptions = {}): Promise<OtlpSink> {
  const sink = new Sink(options);
  await sink.listen();
  return sink;
}

interface Waiter {
  readonly check: () => boolean;
  readonly resolve: () => void;
}

class Sink implements OtlpSink {
  readonly requests: Buffer[] = [];
  readonly records: SinkRecord[] = [];
  private readonly protocol: SinkProtocol;
  private readonly tls: { cert: Buffer; key: Buffer } | null;

  private attemptCount = 0;
  private delayMs = 0;
  private responseBody: Buffer = Buffer.alloc(0);
  private script: Array<{ remaining: number; failure: SinkFailure }> = [];
  private grpcServer: grpc.Server | null = null;
  private httpServer: http.Server | null = null;
  private grpcPort = 0;
  private httpPort = 0;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly waiters = new Set<Waiter>();
  private closed = false;

  constructor(options: OtlpSinkOptions) {
    this.protocol = options.protocol ?? 'both';
    this.tls = options.tls
      ? { cert: fs.readFileSync(options.tls.certFile), key: fs.readFileSync(options.tls.keyFile) }
      : null;
  }

  get grpcEndpoint(): string {
    return this.servesGrpc() ? `${HOST}:${this.grpcPort}` : '';
  }

  get httpEndpoint(): string {
    if (!this.servesHttp()) return '';
    return `${this.tls ? 'https' : 'http'}://${HOST}:${this.httpPort}${HTTP_PATH}`;
  }

  get attempts(): number {
    return this.attemptCount;
  }

  async listen(): Promise<void> {
    if (this.servesGrpc()) await this.listenGrpc();
    if (this.servesHttp()) await this.listenHttp();
  }

  waitFor(
    predicate: (requests: readonly Buffer[], records: readonly SinkRecord[]) => boolean,
    timeoutMs: number,
  ): Promise<void> {
    const check = (): boolean => predicate(this.requests, this.records);
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        check,
        resolve: () => {
          clearTimeout(timer);
          this.waiters.delete(waiter);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(
          `otlp sink: condition not met within ${timeoutMs} ms ` +
            `(${this.requests.length} requests accepted, ${this.attemptCount} received)`,
        ));
      }, timeoutMs);
      this.waiters.add(waiter);
    });
  }

  failNext(count: number, failure: SinkFailure): void {
    if (count > 0) this.script.push({ remaining: count, failure });
  }

  setDelay(delayMs: number): void {
    this.delayMs = delayMs;
  }

  setResponse(body: Uint8Array): void {
    this.responseBody = Buffer.from(body);
  }

  reset(): void {
    this.requests.length = 0;
    this.records.length = 0;
    this.attemptCount = 0;
    this.script = [];
    this.delayMs = 0;
    this.responseBody = Buffer.alloc(0);
  }

  async restart(downMs = 0): Promise<void> {
    this.stopServers();
    if (downMs > 0) await new Promise((resolve) => setTimeout(resolve, downMs));
    if (this.closed) return;
    await this.listen();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.stopServers();
  }

  private servesGrpc(): boolean {
    return this.protocol !== 'http';
  }

  private servesHttp(): boolean {
    return this.protocol !== 'grpc';
  }

  private async listenGrpc(): Promise<void> {
    // No size limit: tests send large requests on purpose.
    const server = new grpc.Server({
      'grpc.max_receive_message_length': -1,
      'grpc.max_send_message_length': -1,
    });
    const identity = (bytes: Buffer): Buffer => bytes;
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
    server.addService(service, {
      Export: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) =>
        this.handleGrpc(call, callback),
    });
    const credentials = this.tls
      ? grpc.ServerCredentials.createSsl(null, [{ private_key: this.tls.key, cert_chain: this.tls.cert }], false)
      : grpc.ServerCredentials.createInsecure();
    this.grpcPort = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`${HOST}:${this.grpcPort}`, credentials, (err, port) =>
        err ? reject(err) : resolve(port));
    });
    this.grpcServer = server;
  }

  private async listenHttp(): Promise<void> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse): void =>
      this.handleHttp(req, res);
    const server = this.tls
      ? https.createServer({ cert: this.tls.cert, key: this.tls.key }, handler)
      : http.createServer(handler);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.httpPort, HOST, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.httpPort = (server.address() as AddressInfo).port;
    this.httpServer = server;
  }

  private stopServers(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.grpcServer?.forceShutdown();
    this.grpcServer = null;
    if (this.httpServer) {
      this.httpServer.close();
      this.httpServer.closeAllConnections();
      this.httpServer = null;
    }
  }

  private handleGrpc(
    call: grpc.ServerUnaryCall<Buffer, Buffer>,
    callback: grpc.sendUnaryData<Buffer>,
  ): void {
    this.countAttempt();
    const failure = this.takeFailure();
    let cancelled = false;
    call.on('cancelled', () => {
      cancelled = true;
    });
    this.after(failure?.delayMs ?? this.delayMs, () => {
      // A call the client gave up on was never acknowledged, so it is not recorded.
      if (cancelled) return;
      const code = failure ? toGrpcCode(failure) : undefined;
      if (code !== undefined && code !== 0) {
        const details = `otlp sink: scripted failure ${code}`;
        const metadata = new grpc.Metadata();
        if (failure?.retryAfterSeconds !== undefined) {
          metadata.set('grpc-status-details-bin', encodeStatus(code, details, failure.retryAfterSeconds));
        }
        callback({ code, details, metadata });
        return;
      }
      this.record({
        transport: 'grpc',
        body: call.request,
        headers: metadataToRecord(call.metadata),
        contentEncoding: '',
      });
      callback(null, this.responseBody);
    });
  }

  private handleHttp(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = (req.url ?? '').split('?')[0];
    if (req.method !== 'POST' || url !== HTTP_PATH) {
      req.resume();
      res.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => this.answerHttp(req, res, Buffer.concat(chunks)));
  }

  private answerHttp(req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer): void {
    this.countAttempt();
    const failure = this.takeFailure();
    const contentEncoding = String(req.headers['content-encoding'] ?? '').toLowerCase();
    this.after(failure?.delayMs ?? this.delayMs, () => {
      if (res.destroyed || req.socket.destroyed) return;
      const status = failure ? toHttpStatus(failure) : undefined;
      if (status !== undefined && status !== 200) {
        const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/x-protobuf' };
        if (failure?.retryAfterSeconds !== undefined) headers['retry-after'] = String(failure.retryAfterSeconds);
        res.writeHead(status, headers).end(encodeStatus(toGrpcCode(failure!) ?? 2, `otlp sink: scripted failure ${status}`));
        return;
      }
      let body: Buffer;
      try {
        body = contentEncoding === 'gzip' ? zlib.gunzipSync(raw) : raw;
      } catch {
        res.writeHead(400, { 'content-type': 'text/plain' }).end('bad gzip body');
        return;
      }
      this.record({ transport: 'http', body, headers: httpHeadersToRecord(req.headers), contentEncoding });
      res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end(this.responseBody);
    });
  }

  private takeFailure(): SinkFailure | undefined {
    const head = this.script[0];
    if (!head) return undefined;
    head.remaining--;
    if (head.remaining <= 0) this.script.shift();
    return head.failure;
  }

  private after(delayMs: number, fn: () => void): void {
    if (delayMs <= 0) {
      fn();
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, delayMs);
    this.timers.add(timer);
  }

  private record(entry: SinkRecord): void {
    this.requests.push(entry.body);
    this.records.push(entry);
    this.notifyWaiters();
  }

  private countAttempt(): void {
    this.attemptCount++;
    this.notifyWaiters();
  }

  private notifyWaiters(): void {
    for (const waiter of [...this.waiters]) {
      if (waiter.check()) waiter.resolve();
    }
  }
}

function toGrpcCode(failure: SinkFailure): number | undefined {
  if (failure.grpcCode !== undefined) return failure.grpcCode;
  const status = failure.httpStatus;
  if (status === undefined) return undefined;
  if (status === 200) return 0;
  if (status === 400) return 3; // INVALID_ARGUMENT
  if (status === 429) return 8; // RESOURCE_EXHAUSTED
  if (status === 502 || status === 503 || status === 504) return GRPC_UNAVAILABLE;
  return 2; // UNKNOWN
}

function toHttpStatus(failure: SinkFailure): number | undefined {
  if (failure.httpStatus !== undefined) return failure.httpStatus;
  const code = failure.grpcCode;
  if (code === undefined) return undefined;
  if (code === 0) return 200;
  // The OTLP/HTTP retryable statuses for the retryable gRPC codes.
  if (code === 8) return 429;
  if ([1, 4, 10, 11, 14, 15].includes(code)) return 503;
  return 400;
}

/** A google.rpc.Status, with a RetryInfo detail when `retryAfterSeconds` is given. */
function encodeStatus(code: number, message: string, retryAfterSeconds?: number): Buffer {
  const parts = [varintField(1, code), bytesField(2, Buffer.from(message, 'utf8'))];
  if (retryAfterSeconds !== undefined) {
    const duration = varintField(1, retryAfterSeconds);
    const retryInfo = bytesField(1, duration);
    const any = Buffer.concat([
      bytesField(1, Buffer.from('type.googleapis.com/google.rpc.RetryInfo', 'utf8')),
      bytesField(2, retryInfo),
    ]);
    parts.push(bytesField(3, any));
  }
  return Buffer.concat(parts);
}

function varint(value: number): Buffer {
  const out: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
  return Buffer.from(out);
}

function varintField(field: number, value: number): Buffer {
  return Buffer.concat([varint(field * 8), varint(value)]);
}

function bytesField(field: number, bytes: Buffer): Buffer {
  return Buffer.concat([varint(field * 8 + 2), varint(bytes.length), bytes]);
}

function metadataToRecord(metadata: grpc.Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(metadata.toJSON())) {
    out[key] = value.map((v) => v.toString()).join(', ');
  }
  return out;
}

function httpHeadersToRecord(headers: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(headers)) {
    if (value !== undefined) out[key] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}
