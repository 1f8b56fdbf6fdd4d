/**
 * Several processors on one shared Redis buffer, in the test process, in
 * front of one downstream sink: each member has its own config, rule files
 * and loopback ports; all share the Redis URL and key prefix.
 */

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { parseConfig } from '../../config/load';
import { createSilentLogger } from '../../processor/log';
import { startService } from '../../processor/service';
import { startOtlpSink } from '../helpers/otlp-sink';
import { callUnary, createRawClient } from '../receiver/raw-grpc';

import type * as grpc from '@grpc/grpc-js';

import type { FleetOptions } from '../../processor/fleet/fleet';
import type { Logger } from '../../processor/log';
import type { Service } from '../../processor/service';
import type { OtlpSink } from '../helpers/otlp-sink';
import type { UnaryOutcome } from '../receiver/raw-grpc';

/** Short timeouts, so tests stay fast. */
export const FLEET_BUFFER = { idleTimeout: '400ms', rootGrace: '300ms', maxTraceAge: '10s' };

/** What a member is configured with. */
export interface MemberOptions {
  /** Rule files by name, written into the member's `rules/`. */
  readonly rules: Readonly<Record<string, string>>;
  /** Extra keys under exporters.otlp, one flow-style key per line. */
  readonly exporterConfig?: string;
  readonly fleet?: FleetOptions;
  /** The member's `rules.api_file` (inside its folder); none by default. */
  readonly apiFile?: string;
  /** `shutdown_timeout`; default 5s. */
  readonly shutdownTimeout?: string;
  /** Where the member logs; silent by default. */
  readonly logger?: Logger;
}

/** One running member. */
export interface FleetMember {
  readonly service: Service;
  readonly dir: string;
  readonly grpcEndpoint: string;
  /** `http://127.0.0.1:PORT` of the admin listener. */
  readonly adminUrl: string;
  /** Sends one request to the member's gRPC receiver. */
  send(request: Uint8Array): Promise<UnaryOutcome>;
  /** Shuts the member down (its claims go back to the fleet). */
  stop(): Promise<void>;
}

/** Writes a member's config file and returns its path and text. */
export function writeMemberConfig(
  redisUrl: string,
  keyPrefix: string,
  sink: OtlpSink,
  options: MemberOptions,
): { dir: string; file: string; yaml: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'betrace-fleet-'));
  fs.mkdirSync(path.join(dir, 'rules'));
  for (const [name, text] of Object.entries(options.rules)) fs.writeFileSync(path.join(dir, 'rules', name), text);
  const yaml = `receivers:
  otlp:
    protocols:
      grpc: { endpoint: 127.0.0.1:0 }
buffer:
  type: redis
  idle_timeout: ${FLEET_BUFFER.idleTimeout}
  root_grace: ${FLEET_BUFFER.rootGrace}
  max_trace_age: ${FLEET_BUFFER.maxTraceAge}
  decided_cache: { max_traces: 100000, ttl: 1m }
  redis: { url: "${redisUrl}", key_prefix: "${keyPrefix}" }
rules:
  files: [rules/*.yaml]
${options.apiFile === undefined ? '' : `  api_file: ${options.apiFile}\n`}  watch: false
exporters:
  otlp:
    endpoint: ${sink.grpcEndpoint}
    protocol: grpc
    tls: { insecure: true }
    retry: { initial_interval: 20ms, max_interval: 100ms, max_elapsed_time: 5s }
${(options.exporterConfig ?? '').split('\n').filter((l) => l.trim() !== '').map((l) => `    ${l.trim()}`).join('\n')}
admin:
  endpoint: 127.0.0.1:0
shutdown_timeout: ${options.shutdownTimeout ?? '5s'}
`;
  const file = path.join(dir, 'config.yaml');
  fs.writeFileSync(file, yaml);
  return { dir, file, yaml };
}

/** Starts one member in this process. */
export async function startMember(redisUrl: string, keyPrefix: string, sink: OtlpSink, options: MemberOptions): Promise<FleetMember> {
  const { dir, file, yaml } = writeMemberConfig(redisUrl, keyPrefix, sink, options);
  const config = parseConfig(yaml, file, {});
  const service = await startService(config, {
    logger: options.logger ?? createSilentLogger(),
    fleet: { leaseMs: 1000, rulesPollMs: 100, ...options.fleet },
  });
  const endpoints = service.endpoints();
  const client: grpc.Client = createRawClient(endpoints.grpc);
  let stopped = false;
  return {
    service,
    dir,
    grpcEndpoint: endpoints.grpc,
    adminUrl: `http://${endpoints.admin}`,
    send: (request) => callUnary(client, request),
    async stop() {
      if (stopped) return;
      stopped = true;
      client.close();
      await service.shutdown();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A sink with the members in front of it. */
export interface Fleet {
  readonly sink: OtlpSink;
  readonly members: FleetMember[];
  stop(): Promise<void>;
}

/** A shared sink and `count` members with the same options. */
export async function startFleet(redisUrl: string, keyPrefix: string, count: number, options: MemberOptions): Promise<Fleet> {
  const sink = await startOtlpSink({ protocol: 'grpc' });
  const members: FleetMember[] = [];
  try {
    for (let i = 0; i < count; i++) members.push(await startMember(redisUrl, keyPrefix, sink, options));
  } catch (err) {
    for (const m of members) await m.stop();
    await sink.close();
    throw err;
  }
  return {
    sink,
    members,
    async stop() {
      for (const m of members) await m.stop();
      await sink.close();
    },
  };
}

/** Sum of one counter over the members (all series whose line starts with `name`). */
export async function sumMetric(members: ReadonlyArray<{ readonly service: Service }>, name: string): Promise<number> {
  let total = 0;
  for (const m of members) {
    const text = await m.service.registry.metrics();
    for (const line of text.split('\n')) {
      if (line.startsWith(name) && (line[name.length] === ' ' || line[name.length] === '{')) total += Number(line.split(' ').pop());
    }
  }
  return total;
}

/** Polls until `check` holds; fails naming `what` after `timeoutMs`. */
export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
