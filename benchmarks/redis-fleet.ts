/**
 * Throughput of the shared Redis buffer: spans per second through a fleet
 * of two processors on one redis-server, against one processor on the
 * memory buffer measured in the same run, and the Redis commands issued
 * per span (from `INFO commandstats` before and after, which counts the
 * commands scripts call too; the commands the processors sent are given
 * apart).
 *
 * A run sends the same workload (benchmarks/otlp-workload.ts: 512-span
 * requests of about 50 traces) with a few requests in flight, round-robin
 * over the processors, and stops the clock once every trace is evaluated.
 * The two setups alternate for a few rounds; the figures are medians. It
 * prints one line:
 *   BENCH_JSON {"bench":"redis-fleet","redis_spans_per_sec":...,
 *   "memory_spans_per_sec":...,"redis_commands_per_span":...,
 *   "redis_sent_commands_per_span":...,...}
 *
 * Usage: node dist/benchmarks/redis-fleet.js [--requests N] [--rounds N]
 * Needs redis-server on the PATH; it starts its own on a free loopback
 * port and stops it at the end.
 */

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import readline from 'node:readline';

import * as grpc from '@grpc/grpc-js';
import Redis from 'ioredis';

import { BUNDLED_RULES_DIR } from '../processor/paths';
import { createWorkload } from './otlp-workload';

import type { ChildProcess } from 'node:child_process';

const EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
/** Requests in flight at once, over all processors. */
const IN_FLIGHT = 8;
const EVALUATED_TIMEOUT_MS = 60_000;
const identity = (b: Buffer): Buffer => b;

interface Member {
  readonly child: ChildProcess;
  readonly grpc: string;
  readonly admin: string;
  readonly client: grpc.Client;
}

interface RunResult {
  readonly spansPerSec: number;
  /** Commands Redis executed, those that scripts call included (INFO commandstats). */
  readonly commands: number;
  /** Commands and scripts the processors sent (their betrace_redis_commands_total). */
  readonly sent: number;
}

async function main(): Promise<void> {
  const requests = numberArg('--requests', 120);
  const rounds = numberArg('--rounds', 3);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'betrace-bench-redis-'));
  const children: ChildProcess[] = [];
  process.on('exit', () => {
    for (const c of children) c.kill('SIGKILL');
  });
  const sink = await startSink();
  const redisPort = await freePort();
  const redisArgs = ['--port', String(redisPort), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no'];
  const redis = spawn('redis-server', redisArgs, { stdio: 'ignore' });
  children.push(redis);
  const direct = new Redis({ host: '127.0.0.1', port: redisPort, retryStrategy: () => 50 });
  await direct.ping();

  const memory: RunResult[] = [];
  const shared: RunResult[] = [];
  for (let round = 0; round < rounds; round++) {
    // A fresh workload each round, so trace IDs never repeat (no late spans).
    const workload = createWorkload({ seed: 1000 + round, requests });
    const queue = [['memory', memory], ['redis', shared]] as const;
    for (const [kind, results] of round % 2 === 0 ? queue : [...queue].reverse()) {
      const count = kind === 'memory' ? 1 : 2;
      const members: Member[] = [];
      for (let i = 0; i < count; i++) members.push(await startMember(dir, kind, sink.endpoint, redisPort, children));
      await direct.flushall();
      const before = await commandCount(direct);
      const spansPerSec = await measure(members, workload.requests, workload.spans, workload.traceIds.length);
      const commands = (await commandCount(direct)) - before;
      const sent = await sumCounter(members, 'betrace_redis_commands_total{');
      results.push({ spansPerSec, commands, sent });
      for (const m of members) await stopMember(m);
      const perSpan = (commands / workload.spans).toFixed(3);
      process.stderr.write(`round ${round + 1} ${kind}: ${Math.round(spansPerSec)} spans/s, ${perSpan} redis commands/span\n`);
    }
  }
  const spans = createWorkload({ seed: 1000, requests }).spans;
  const redisCommands = median(shared.map((r) => r.commands)) / spans;
  const figures = {
    bench: 'redis-fleet',
    redis_spans_per_sec: Math.round(median(shared.map((r) => r.spansPerSec))),
    memory_spans_per_sec: Math.round(median(memory.map((r) => r.spansPerSec))),
    redis_commands_per_span: Number(redisCommands.toFixed(3)),
    redis_sent_commands_per_span: Number((median(shared.map((r) => r.sent)) / spans).toFixed(3)),
    ratio_redis_to_memory: Number((median(shared.map((r) => r.spansPerSec)) / median(memory.map((r) => r.spansPerSec))).toFixed(3)),
    redis_instances: 2,
    spans_per_round: spans,
    rounds,
    cores: os.availableParallelism(),
  };
  console.log(`BENCH_JSON ${JSON.stringify(figures)}`);
  direct.disconnect();
  redis.kill('SIGTERM');
  sink.server.forceShutdown();
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Sends every request, IN_FLIGHT at a time, then waits until each trace is evaluated; spans per second. */
async function measure(members: readonly Member[], requests: readonly Uint8Array[], spans: number, traces: number): Promise<number> {
  const started = performance.now();
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < requests.length) {
      const i = next++;
      await sendUntilAccepted(members[i % members.length].client, requests[i]);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  const deadline = Date.now() + EVALUATED_TIMEOUT_MS;
  while ((await completedTraces(members)) < traces) {
    if (Date.now() > deadline) throw new Error('traces were not all evaluated in time');
    await new Promise((r) => setTimeout(r, 5));
  }
  return spans / ((performance.now() - started) / 1000);
}

/** Retries pushback (UNAVAILABLE) as an OTLP sender would. */
async function sendUntilAccepted(client: grpc.Client, request: Uint8Array): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const code = await new Promise<number>((resolve) => {
      client.makeUnaryRequest(EXPORT_PATH, identity, identity, Buffer.from(request), new grpc.Metadata(), {},
        (err) => resolve(err === null ? 0 : (err?.code ?? 2)));
    });
    if (code === 0) return;
    if (code !== grpc.status.UNAVAILABLE || attempt > 200) throw new Error(`export failed with gRPC status ${code}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function completedTraces(members: readonly Member[]): Promise<number> {
  return sumCounter(members, 'betrace_traces_completed_total{');
}

/** The sum over the members of every series whose line starts with `prefix`. */
async function sumCounter(members: readonly Member[], prefix: string): Promise<number> {
  let total = 0;
  for (const m of members) {
    const text = await (await fetch(`http://${m.admin}/metrics`)).text();
    for (const line of text.split('\n')) {
      if (line.startsWith(prefix)) total += Number(line.split(' ').pop());
    }
  }
  return total;
}

async function startMember(dir: string, kind: 'memory' | 'redis', sinkEndpoint: string, redisPort: number, children: ChildProcess[]): Promise<Member> {
  const configFile = path.join(dir, `${kind}-${children.length}.yaml`);
  fs.writeFileSync(configFile, `receivers:
  otlp:
    protocols:
      grpc: { endpoint: 127.0.0.1:0 }
buffer:
  type: ${kind}
  idle_timeout: 100ms
  root_grace: 50ms
  max_trace_age: 10s
  redis: { url: "redis://127.0.0.1:${redisPort}", key_prefix: "bench:" }
rules:
  files: [${path.join(BUNDLED_RULES_DIR, '*.yaml')}]
  watch: false
exporters:
  otlp:
    endpoint: ${sinkEndpoint}
    protocol: grpc
    compression: none
    tls: { insecure: true }
    queue: { enabled: true, max_requests: 5000, max_bytes_mib: 512 }
admin:
  endpoint: 127.0.0.1:0
telemetry:
  logs: { level: warn }
`);
  const child = spawn(process.execPath, [path.join(__dirname, 'redis-fleet-member.js'), configFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  const line = await new Promise<string>((resolve, reject) => {
    readline.createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`processor exited with ${code}`)));
  });
  const endpoints = JSON.parse(line) as { grpc: string; admin: string };
  return { child, grpc: endpoints.grpc, admin: endpoints.admin, client: new grpc.Client(endpoints.grpc, grpc.credentials.createInsecure()) };
}

async function stopMember(member: Member): Promise<void> {
  member.client.close();
  const exited = new Promise((resolve) => member.child.once('exit', resolve));
  member.child.kill('SIGTERM');
  await exited;
}

/** Calls of every command but INFO since the server started. */
async function commandCount(redis: Redis): Promise<number> {
  const text = await redis.info('commandstats');
  let calls = 0;
  for (const match of text.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (match[1] !== 'info') calls += Number(match[2]);
  }
  return calls;
}

/** A downstream that takes every request and answers at once. */
async function startSink(): Promise<{ server: grpc.Server; endpoint: string }> {
  const server = new grpc.Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024 });
  server.addService({
    Export: {
      path: EXPORT_PATH,
      requestStream: false,
      responseStream: false,
      requestSerialize: identity,
      requestDeserialize: identity,
      responseSerialize: identity,
      responseDeserialize: identity,
    },
  }, {
    Export: (_call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => callback(null, Buffer.alloc(0)),
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p)));
  });
  return { server, endpoint: `127.0.0.1:${port}` };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

function numberArg(name: string, fallback: number): number {
  const at = process.argv.indexOf(name);
  return at === -1 ? fallback : Number(process.argv[at + 1]);
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
