/**
 * A whole processor for admin API tests: config and rule files in a temp
 * folder, every listener on a loopback port the system picks, logs kept in
 * memory, SIGHUP from an emitter the test holds, and optionally a real
 * downstream sink. The service can be stopped and started again on the
 * same folder, as a restart would.
 */

import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';

import pino from 'pino';

import { parseConfig } from '../../config/load';
import { startService } from '../../processor/service';
import { buildRequest } from '../helpers/otlp-build';
import { startOtlpSink } from '../helpers/otlp-sink';

import type { Service } from '../../processor/service';
import type { TestBlock } from '../helpers/otlp-build';
import type { OtlpSink } from '../helpers/otlp-sink';

export interface AdminHarnessOptions {
  /** Rule files by name, written into `rules/` and loaded through `rules/*.yaml`. */
  readonly rules?: Readonly<Record<string, string>>;
  /** Configure `rules.api_file: rules/api.yaml` (default true). */
  readonly apiFile?: boolean;
  /** Write this into `admin-token` and configure admin.token_file. */
  readonly tokenFile?: string;
  /** Environment the config is read with (BETRACE_* variables). */
  readonly env?: Readonly<Record<string, string>>;
  /** Start a downstream gRPC sink and export to it (default false: console only). */
  readonly sink?: boolean;
  /** rules.watch (default true). */
  readonly watch?: boolean;
  /** Lines under `buffer:`, indented by two spaces. */
  readonly buffer?: string;
  readonly maxViolations?: number;
  /** Reuse a folder (and its files) from an earlier harness. */
  readonly dir?: string;
}

/** What one request got back. */
export interface ApiAnswer {
  readonly status: number;
  readonly headers: Headers;
  /** The parsed JSON body, or null when there was none. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any;
}

export interface AdminHarness {
  readonly service: Service;
  readonly dir: string;
  readonly sink: OtlpSink | null;
  readonly signals: EventEmitter;
  /** `http://127.0.0.1:PORT`. */
  readonly baseUrl: string;
  readonly apiFile: string;
  /** Parsed log lines so far. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  logs(): any[];
  /** What the console exporter printed. */
  consoleText(): string;
  /** One JSON request; `body` undefined sends none. */
  request(method: string, urlPath: string, body?: unknown, headers?: Record<string, string>): Promise<ApiAnswer>;
  /** Sends spans to the OTLP/HTTP receiver. */
  sendSpans(blocks: readonly TestBlock[]): Promise<void>;
  /** Writes a rule file under `rules/`. */
  writeRules(name: string, text: string): void;
  /** Stops the service (the sink and the folder stay). */
  stopService(): Promise<void>;
  /** Stops everything and removes the folder. */
  stop(): Promise<void>;
}

const DEFAULT_BUFFER = `
  idle_timeout: 60s
  root_grace: 60s
  max_trace_age: 120s`;

/** Starts the processor on a temp folder (or `options.dir`). */
export async function startAdminHarness(options: AdminHarnessOptions = {}): Promise<AdminHarness> {
  const dir = options.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'betrace-admin-'));
  fs.mkdirSync(path.join(dir, 'rules'), { recursive: true });
  for (const [name, text] of Object.entries(options.rules ?? {})) fs.writeFileSync(path.join(dir, 'rules', name), text);
  if (options.tokenFile !== undefined) fs.writeFileSync(path.join(dir, 'admin-token'), options.tokenFile);
  const sink = options.sink === true ? await startOtlpSink({ protocol: 'grpc' }) : null;
  const yaml = configText(options, sink);
  const configPath = path.join(dir, 'config.yaml');
  fs.writeFileSync(configPath, yaml);
  const config = parseConfig(yaml, configPath, { ...(options.env ?? {}) });

  const lines: string[] = [];
  const logStream = new Writable({
    write(chunk, _enc, done) {
      lines.push(...String(chunk).split('\n').filter((l) => l !== ''));
      done();
    },
  });
  let printed = '';
  const consoleOut = new Writable({
    write(chunk, _enc, done) {
      printed += String(chunk);
      done();
    },
  });
  const signals = new EventEmitter();
  let service: Service;
  try {
    service = await startService(config, {
      logger: pino({ level: 'info' }, logStream),
      consoleOut,
      signals,
      rulesWatchDebounceMs: 20,
    });
  } catch (err) {
    await sink?.close();
    if (options.dir === undefined) fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const endpoints = service.endpoints();
  const baseUrl = `http://${endpoints.admin}`;
  let stopped = false;
  const stopService = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await service.shutdown();
  };
  return {
    service,
    dir,
    sink,
    signals,
    baseUrl,
    apiFile: path.join(dir, 'rules', 'api.yaml'),
    logs: () => lines.map((l) => JSON.parse(l)),
    consoleText: () => printed,
    request: (method, urlPath, body, headers = {}) => requestJson(baseUrl, method, urlPath, body, headers),
    async sendSpans(blocks) {
      const res = await fetch(`http://${endpoints.http}/v1/traces`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-protobuf' },
        body: buildRequest(blocks),
      });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`the receiver answered ${res.status}`);
    },
    writeRules(name, text) {
      fs.writeFileSync(path.join(dir, 'rules', name), text);
    },
    stopService,
    async stop() {
      await stopService();
      await sink?.close();
      if (options.dir === undefined) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Sends one request with an optional JSON body and reads the JSON answer. */
export async function requestJson(
  baseUrl: string,
  method: string,
  urlPath: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<ApiAnswer> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${baseUrl}${urlPath}`, init);
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  return { status: res.status, headers: res.headers, body: text !== '' && type.includes('json') ? JSON.parse(text) : null };
}

/** Polls `check` until it holds; fails with `what` after `timeoutMs`. */
export async function waitUntil(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function configText(options: AdminHarnessOptions, sink: OtlpSink | null): string {
  const exporter = sink === null
    ? ''
    : `  otlp:
    endpoint: ${sink.grpcEndpoint}
    protocol: grpc
    tls: { insecure: true }
    retry: { initial_interval: 20ms, max_interval: 100ms, max_elapsed_time: 3s }
`;
  return `receivers:
  otlp:
    protocols:
      http: { endpoint: 127.0.0.1:0 }
buffer:${options.buffer ?? DEFAULT_BUFFER}
rules:
  files: [rules/*.yaml]
${options.apiFile === false ? '' : '  api_file: rules/api.yaml\n'}  watch: ${options.watch ?? true}
exporters:
${exporter}  console: { enabled: true }
admin:
  endpoint: 127.0.0.1:0
${options.tokenFile !== undefined ? '  token_file: admin-token\n' : ''}violations: { max_records: ${options.maxViolations ?? 1000} }
shutdown_timeout: 5s
`;
}
