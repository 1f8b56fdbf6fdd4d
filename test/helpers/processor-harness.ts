/**
 * Starts a whole processor in the test process, on loopback ports the system
 * picks, with rule files and config written to a temp folder, in front of a
 * real downstream sink.
 */

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';

import { parseConfig } from '../../config/load';
import { createSilentLogger } from '../../processor/log';
import { startService } from '../../processor/service';
import { startOtlpSink } from './otlp-sink';

import type { EventEmitter } from 'node:events';

import type { Logger } from '../../processor/log';
import type { Service } from '../../processor/service';
import type { OtlpSink } from './otlp-sink';

export interface HarnessOptions {
  /** Rule files by name (written into `rules/`); all loaded through `rules/*.yaml`. */
  readonly rules: Readonly<Record<string, string>>;
  /** YAML merged under the generated config's top level (buffer, exporters.otlp extras...). */
  readonly extraConfig?: string;
  /** Without a sink, only the console exporter runs. */
  readonly withSink?: boolean;
  readonly sinkProtocol?: 'grpc' | 'http';
  /** Extra keys under exporters.otlp, one flow-style key per line (`queue: { enabled: false }`). */
  readonly exporterConfig?: string;
  readonly bufferConfig?: string;
  /** Other files by name, written into the harness folder before the config is read. */
  readonly files?: Readonly<Record<string, string>>;
  /** The service's logger; silent by default. */
  readonly logger?: Logger;
  /** Where SIGHUP comes from; the process by default. */
  readonly signals?: EventEmitter;
  /** Quiet time before a watched file reloads, in ms. */
  readonly watchDebounceMs?: number;
}

export interface Harness {
  readonly service: Service;
  readonly sink: OtlpSink | null;
  readonly dir: string;
  /** `http://127.0.0.1:PORT` of the gRPC receiver (as SDK exporters take it). */
  readonly grpcUrl: string;
  /** `127.0.0.1:PORT` of the gRPC receiver. */
  readonly grpcEndpoint: string;
  /** `http://127.0.0.1:PORT/v1/traces`. */
  readonly httpUrl: string;
  /** `http://127.0.0.1:PORT` of the admin listener. */
  readonly adminUrl: string;
  /** What the console exporter printed. */
  consoleText(): string;
  stop(): Promise<void>;
}

const DEFAULT_BUFFER = `
  idle_timeout: 150ms
  root_grace: 30ms
  max_trace_age: 5s`;

export async function startHarness(options: HarnessOptions): Promise<Harness> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'betrace-e2e-'));
  fs.mkdirSync(path.join(dir, 'rules'));
  for (const [name, text] of Object.entries(options.rules)) {
    fs.writeFileSync(path.join(dir, 'rules', name), text);
  }
  for (const [name, text] of Object.entries(options.files ?? {})) {
    fs.writeFileSync(path.join(dir, name), text, { mode: 0o600 });
  }
  const sink = options.withSink === false ? null : await startOtlpSink({ protocol: options.sinkProtocol ?? 'grpc' });
  const exporterLines = sink === null
    ? ''
    : `  otlp:
    endpoint: ${options.sinkProtocol === 'http' ? sink.httpEndpoint : sink.grpcEndpoint}
    protocol: ${options.sinkProtocol === 'http' ? 'http/protobuf' : 'grpc'}
    tls: { insecure: true }
${(options.exporterConfig ?? '').includes('retry:') ? '' : '    retry: { initial_interval: 20ms, max_interval: 100ms, max_elapsed_time: 3s }\n'}${indent(options.exporterConfig ?? '', 4)}`;
  const yaml = `receivers:
  otlp:
    protocols:
      grpc: { endpoint: 127.0.0.1:0 }
      http: { endpoint: 127.0.0.1:0 }
buffer:${options.bufferConfig ?? DEFAULT_BUFFER}
rules:
  files: [rules/*.yaml]
exporters:
${exporterLines}
  console: { enabled: true }
admin:
  endpoint: 127.0.0.1:0
shutdown_timeout: 5s
${options.extraConfig ?? ''}
`;
  const configPath = path.join(dir, 'config.yaml');
  fs.writeFileSync(configPath, yaml);
  const config = parseConfig(yaml, configPath, {});
  let printed = '';
  const consoleOut = new Writable({
    write(chunk, _enc, done) {
      printed += String(chunk);
      done();
    },
  });
  const service = await startService(config, {
    logger: options.logger ?? createSilentLogger(),
    consoleOut,
    signals: options.signals,
    rulesWatchDebounceMs: options.watchDebounceMs,
  });
  const endpoints = service.endpoints();
  return {
    service,
    sink,
    dir,
    grpcUrl: `http://${endpoints.grpc}`,
    grpcEndpoint: endpoints.grpc,
    httpUrl: `http://${endpoints.http}/v1/traces`,
    adminUrl: `http://${endpoints.admin}`,
    consoleText: () => printed,
    async stop() {
      await service.shutdown();
      await sink?.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function indent(text: string, spaces: number): string {
  const pad = ' '.repeat(spaces);
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => pad + l.trimStart())
    .join('\n');
}
