/**
 * `betrace serve` as a separate process, as an operator runs it: it starts
 * from a config file, and on SIGTERM stops receiving, evaluates what is
 * buffered, flushes it downstream and exits 0.
 */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { buildRequest, hexId, spansNamed } from '../helpers/otlp-build';
import { startOtlpSink } from '../helpers/otlp-sink';
import { callUnary, createRawClient } from '../receiver/raw-grpc';

import type { ChildProcess } from 'node:child_process';
import type { OtlpSink } from '../helpers/otlp-sink';

const MAIN = path.resolve(__dirname, '..', '..', 'processor', 'cli', 'main.js');

interface Running {
  readonly child: ChildProcess;
  readonly grpcEndpoint: string;
  readonly adminEndpoint: string;
  stderr(): string;
  exited: Promise<number | null>;
}

/** Starts the processor and waits for its startup log line, which names the bound endpoints. */
async function startServe(configPath: string): Promise<Running> {
  const child = spawn(process.execPath, [MAIN, 'serve', '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const started = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no startup line in 10s:\n${err}`)), 10_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      for (const line of err.split('\n')) {
        if (!line.includes('"betrace started"')) continue;
        clearTimeout(timer);
        resolve(JSON.parse(line) as Record<string, unknown>);
      }
    });
    void exited.then((code) => reject(new Error(`exited with ${code}:\n${err}`)));
  });
  const receivers = started.receivers as string[];
  const admin = /"component":"admin","endpoint":"([^"]+)"/.exec(err);
  return {
    child,
    grpcEndpoint: receivers[0],
    adminEndpoint: admin?.[1] ?? '',
    stderr: () => err,
    exited,
  };
}

describe('betrace serve as a process', () => {
  let sink: OtlpSink;
  let dir: string;
  before(async () => {
    sink = await startOtlpSink({ protocol: 'grpc' });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'betrace-serve-'));
    fs.writeFileSync(path.join(dir, 'rules.yaml'), 'rules:\n  - id: needs-b\n    severity: critical\n    condition: when { a.step } always { b.step }\n');
  });
  after(async () => {
    await sink.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('evaluates and flushes buffered traces on SIGTERM, then exits 0', async () => {
    const configPath = path.join(dir, 'config.yaml');
    fs.writeFileSync(configPath, `receivers:
  otlp:
    protocols:
      grpc: { endpoint: 127.0.0.1:0 }
buffer:
  idle_timeout: 1h
  root_grace: 1h
  max_trace_age: 1h
rules:
  files: [rules.yaml]
exporters:
  otlp:
    endpoint: ${sink.grpcEndpoint}
    tls: { insecure: true }
admin:
  endpoint: 127.0.0.1:0
shutdown_timeout: 5s
`);
    const running = await startServe(configPath);
    running.child.kill('SIGUSR1');
    const ignoredAt = Date.now();
    while (!running.stderr().includes('"signal":"SIGUSR1"') && Date.now() - ignoredAt < 5000) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.match(running.stderr(), /"signal":"SIGUSR1".*"msg":"signal ignored"/, 'SIGUSR1 opens no debugger');
    assert.doesNotMatch(running.stderr(), /Debugger listening/);
    const traceId = hexId(16);
    const client = createRawClient(running.grpcEndpoint);
    const outcome = await callUnary(client, buildRequest([{ spans: [{ traceId, spanId: hexId(8), name: 'a.step', parentSpanId: hexId(8) }] }]));
    client.close();
    assert.equal(outcome.error, null);
    await sink.waitFor((reqs) => reqs.length >= 1, 5000);
    assert.equal(spansNamed(sink.requests, 'betrace.violation').length, 0, 'nothing completes before the signal');

    running.child.kill('SIGTERM');
    const code = await running.exited;
    assert.equal(code, 0, running.stderr());
    const [violation] = spansNamed(sink.requests, 'betrace.violation');
    assert.ok(violation !== undefined, 'the buffered trace was evaluated and flushed');
    assert.equal(violation.span.traceId, traceId);
    assert.equal(violation.attributes['betrace.violation.trigger'], 'shutdown');
    assert.match(running.stderr(), /"msg":"stopped"/);
  });

  it('ignores a second signal while it flushes, and still exits 0 with everything delivered', async () => {
    const configPath = path.join(dir, 'twice.yaml');
    fs.writeFileSync(configPath, `receivers:
  otlp:
    protocols:
      grpc: { endpoint: 127.0.0.1:0 }
buffer: { idle_timeout: 1h, root_grace: 1h, max_trace_age: 1h }
rules:
  files: [rules.yaml]
exporters:
  otlp:
    endpoint: ${sink.grpcEndpoint}
    tls: { insecure: true }
admin:
  endpoint: 127.0.0.1:0
shutdown_timeout: 10s
`);
    sink.reset();
    const running = await startServe(configPath);
    const traceId = hexId(16);
    const client = createRawClient(running.grpcEndpoint);
    const outcome = await callUnary(client, buildRequest([{ spans: [{ traceId, spanId: hexId(8), name: 'a.step' }] }]));
    client.close();
    assert.equal(outcome.error, null);
    sink.setDelay(600);
    running.child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 150));
    running.child.kill('SIGINT');
    running.child.kill('SIGTERM');
    const code = await running.exited;
    sink.setDelay(0);
    assert.equal(code, 0, running.stderr());
    assert.match(running.stderr(), /"signal":"SIGINT".*"msg":"already shutting down; signal ignored"/);
    assert.ok(spansNamed(sink.requests, 'betrace.violation').some((s) => s.span.traceId === traceId),
      'the buffered trace was evaluated and delivered despite the repeated signals');
    assert.match(running.stderr(), /"msg":"stopped"/);
  });

  it('logs process warnings as JSON lines, and exits after shutdown though a TLS handshake hangs', async () => {
    // A listener that takes connections and never speaks TLS.
    const sockets: net.Socket[] = [];
    const silent = net.createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as net.AddressInfo).port;
    const configPath = path.join(dir, 'tls-ip.yaml');
    // TLS to an IP address makes Node warn that the server name is an IP (DEP0123).
    fs.writeFileSync(configPath, `receivers:
  otlp:
    protocols:
      grpc: { endpoint: 127.0.0.1:0 }
rules:
  files: [rules.yaml]
exporters:
  otlp:
    endpoint: https://127.0.0.1:${port}
    retry: { initial_interval: 10ms, max_interval: 50ms, max_elapsed_time: 300ms }
admin:
  endpoint: 127.0.0.1:0
shutdown_timeout: 1s
`);
    const running = await startServe(configPath);
    const client = createRawClient(running.grpcEndpoint);
    await callUnary(client, buildRequest([{ spans: [{ traceId: hexId(16), spanId: hexId(8), name: 'a.step' }] }]));
    client.close();
    running.child.kill('SIGTERM');
    const code = await running.exited;
    for (const socket of sockets) socket.destroy();
    silent.close();
    const lines = running.stderr().split('\n').filter((l) => l !== '');
    for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), `not a JSON log line: ${line}`);
    assert.ok(lines.some((l) => (JSON.parse(l) as { code?: string }).code === 'DEP0123'), running.stderr());
    assert.equal(code, 0, running.stderr());
    assert.match(running.stderr(), /"msg":"connections still open after shutdown; exiting anyway"/);
  });

  it('refuses to start on rules that do not compile, with exit code 2 and the position', async () => {
    fs.writeFileSync(path.join(dir, 'bad.yaml'), 'rules:\n  - id: broken\n    condition: when { a.step } always { b.step\n');
    const configPath = path.join(dir, 'bad-config.yaml');
    fs.writeFileSync(configPath, `receivers:\n  otlp:\n    protocols:\n      grpc: { endpoint: 127.0.0.1:0 }\nrules:\n  files: [bad.yaml]\nexporters:\n  console: { enabled: true }\nadmin:\n  endpoint: 127.0.0.1:0\n`);
    const child = spawn(process.execPath, [MAIN, 'serve', '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 2);
    assert.match(err, /bad\.yaml:3:\d+/);
    assert.match(err, /\^/);
  });

  it('names the config key of a listener whose port is taken, and exits 2', async () => {
    const taken = net.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as net.AddressInfo).port;
    const configPath = path.join(dir, 'clash.yaml');
    fs.writeFileSync(configPath, `receivers:\n  otlp:\n    protocols:\n      grpc: { endpoint: 127.0.0.1:0 }\nexporters:\n  console: { enabled: true }\nadmin:\n  endpoint: 127.0.0.1:${port}\n`);
    const child = spawn(process.execPath, [MAIN, 'serve', '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    taken.close();
    assert.equal(code, 2);
    assert.match(err, new RegExp(`admin\\.endpoint 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`));
  });

  it('refuses a config with an unknown key, naming the file, line and key', async () => {
    const configPath = path.join(dir, 'typo.yaml');
    fs.writeFileSync(configPath, 'buffer:\n  idle_timout: 5s\nexporters:\n  console: { enabled: true }\n');
    const child = spawn(process.execPath, [MAIN, 'serve', '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    assert.equal(code, 2);
    assert.match(err, /typo\.yaml:2:3/);
    assert.match(err, /idle_timeout/);
  });
});
