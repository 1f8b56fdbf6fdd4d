/**
 * Builders shared by the exporter tests: real OTLP requests made by the
 * OpenTelemetry SDK, exporter configs, a log capture, metric reads, a
 * byte-counting loopback proxy and a throwaway TLS certificate.
 */

import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import pino from 'pino';
import { Registry } from 'prom-client';

import type { Logger } from 'pino';

import type { OtlpExporterConfig } from '../../config/types';

/** An ExportTraceServiceRequest as the SDK encodes it, with its span count. */
export interface TestRequest {
  readonly bytes: Uint8Array;
  readonly spans: number;
}

/** Encodes `spans` spans named after `tag`, each with `attributeBytes` of attribute text. */
export function makeRequest(tag: string, spans = 3, attributeBytes = 16): TestRequest {
  const memory = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(memory)] });
  const tracer = provider.getTracer('exporter-test');
  for (let i = 0; i < spans; i++) {
    const span = tracer.startSpan(`${tag}-${i}`);
    span.setAttribute('test.payload', 'x'.repeat(attributeBytes));
    span.end();
  }
  const bytes = ProtobufTraceSerializer.serializeRequest(memory.getFinishedSpans());
  if (!bytes) throw new Error('the SDK serializer returned nothing');
  return { bytes, spans };
}

/** Changes to the test config; nested parts are merged. */
export type ConfigOverrides = Partial<
  Omit<OtlpExporterConfig, 'retry' | 'queue' | 'tls'>
> & {
  retry?: Partial<OtlpExporterConfig['retry']>;
  queue?: Partial<OtlpExporterConfig['queue']>;
  tls?: Partial<OtlpExporterConfig['tls']>;
};

/** An exporter config with millisecond timings, for `endpoint`. */
export function makeConfig(
  endpoint: string,
  protocol: OtlpExporterConfig['protocol'],
  overrides: ConfigOverrides = {},
): OtlpExporterConfig {
  const { retry, queue, tls, ...rest } = overrides;
  return {
    endpoint,
    protocol,
    headers: {},
    compression: 'none',
    timeoutMs: 1000,
    ...rest,
    tls: { insecure: true, caFile: '', certFile: '', keyFile: '', serverName: '', ...tls },
    retry: { initialIntervalMs: 5, maxIntervalMs: 20, maxElapsedTimeMs: 2000, ...retry },
    queue: { enabled: true, maxRequests: 100, maxBytes: 16 * 1024 * 1024, ...queue },
  };
}

/** A logger whose lines are kept, parsed, in `lines`. */
export function captureLogs(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) };
  return { logger: pino({ level: 'info' }, stream), lines };
}

/** A fresh registry. */
export function makeRegistry(): Registry {
  return new Registry();
}

/** The value of one series (0 when it has not been written). */
export async function readMetric(
  registry: Registry,
  name: string,
  labels: Record<string, string> = {},
): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`metric ${name} is not registered`);
  const { values } = await metric.get();
  const wanted = Object.entries(labels);
  const match = values.find((v) =>
    wanted.every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want) &&
    ((v as { metricName?: string }).metricName ?? name) === name);
  return match?.value ?? 0;
}

/** The sample count of a histogram series. */
export async function readHistogramCount(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`metric ${name} is not registered`);
  const { values } = await metric.get();
  const match = values.find((v) =>
    (v as { metricName?: string }).metricName === `${name}_count` &&
    Object.entries(labels).every(([k, want]) => String((v.labels as Record<string, unknown>)[k]) === want));
  return match?.value ?? 0;
}

/** A loopback TCP proxy that counts the bytes clients send through it. */
export interface CountingProxy {
  readonly port: number;
  readonly bytesFromClients: number;
  close(): Promise<void>;
}

/** Starts a proxy on 127.0.0.1 forwarding to 127.0.0.1:`targetPort`. */
export async function startCountingProxy(targetPort: number): Promise<CountingProxy> {
  let counted = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(client);
    sockets.add(upstream);
    client.on('data', (chunk: Buffer) => {
      counted += chunk.length;
    });
    client.pipe(upstream);
    upstream.pipe(client);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end);
    upstream.on('error', end);
    client.on('close', end);
    upstream.on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    get bytesFromClients() {
      return counted;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** PEM files of a self-signed certificate valid for `names`, or the reason none could be made. */
export type TestCertificate = { certFile: string; keyFile: string; dir: string } | { skip: string };

/** Makes a throwaway self-signed certificate with openssl in a temporary folder. */
export function makeCertificate(subjectAltName: string): TestCertificate {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'betrace-exporter-tls-'));
  const certFile = path.join(dir, 'cert.pem');
  const keyFile = path.join(dir, 'key.pem');
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=betrace-test',
      '-addext', `subjectAltName=${subjectAltName}`,
    ], { stdio: 'pipe' });
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    return { skip: `openssl could not make a test certificate: ${(err as Error).message.split('\n')[0]}` };
  }
  return { certFile, keyFile, dir };
}

/** A loopback port nothing listens on (bound, then released). */
export async function findClosedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
