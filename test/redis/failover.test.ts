/**
 * Failures under load. An instance killed with SIGKILL while it holds
 * claims and has acknowledged spans (queue disabled): every trace is still
 * evaluated, by the instance that takes the claims over, and cites every
 * acknowledged span. Redis (appendonly) stopped and restarted: the
 * receivers push back while it is down, /readyz turns not ready, nothing
 * acknowledged is lost and evaluation resumes.
 */

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { after, before, describe, it } from 'node:test';

import { captureLog } from '../helpers/log-capture';
import { startOtlpSink } from '../helpers/otlp-sink';
import { startTcpProxy } from '../helpers/tcp-proxy';
import { skipUnless } from '../helpers/requirements';
import { callUnary, createRawClient } from '../receiver/raw-grpc';
import { startMember, sumMetric, waitUntil, writeMemberConfig } from './fleet-harness';
import { EVERY_SPAN_RULE, createStepTraces, receivedVerdicts, toRounds } from './fleet-workload';
import { findFreePort, startRedis } from './redis-process';

import type { ChildProcess } from 'node:child_process';

import type * as grpc from '@grpc/grpc-js';

import type { OtlpSink } from '../helpers/otlp-sink';
import type { TcpProxy } from '../helpers/tcp-proxy';
import type { UnaryOutcome } from '../receiver/raw-grpc';
import type { FleetMember } from './fleet-harness';
import type { RedisProcess } from './redis-process';

const SKIP = skipUnless('redis-server', 'BETRACE_REQUIRE_REDIS');
const LEASE_MS = 1000;
const WAVE_EVERY_MS = 100;

/** Spans acknowledged per trace, and how many requests were refused as retryable. */
class Ledger {
  readonly acked = new Map<string, Set<string>>();
  refusedRetryable = 0;

  record(outcome: UnaryOutcome, spans: ReadonlyArray<{ traceId: string; spanId: string }>): void {
    if (outcome.error === null) {
      for (const s of spans) {
        let set = this.acked.get(s.traceId);
        if (set === undefined) this.acked.set(s.traceId, (set = new Set()));
        set.add(s.spanId);
      }
    } else if (outcome.error.code === 14) {
      this.refusedRetryable++;
    }
  }

  /** Traces with an acknowledged span that have no violation citing all of them. */
  missing(sink: OtlpSink): string[] {
    const cited = new Map<string, Set<string>>();
    for (const v of receivedVerdicts(sink.requests)) {
      const set = cited.get(v.traceId) ?? new Set<string>();
      for (const id of v.cited) set.add(id);
      cited.set(v.traceId, set);
    }
    return [...this.acked].filter(([traceId, ids]) => {
      const got = cited.get(traceId);
      return got === undefined || [...ids].some((id) => !got.has(id));
    }).map(([traceId]) => traceId);
  }
}

/** Sends a wave of traces every WAVE_EVERY_MS to `targets()` until stopped; all spans of a wave at once. */
function startLoad(targets: () => ReadonlyArray<(request: Uint8Array) => Promise<UnaryOutcome>>, ledger: Ledger) {
  let stopped = false;
  const inFlight = new Set<Promise<void>>();
  const loop = (async () => {
    while (!stopped) {
      const senders = targets();
      const rounds = toRounds(createStepTraces(8, 4), senders.length);
      for (const r of rounds.flat()) {
        const sent = senders[r.member](r.request).then((o) => ledger.record(o, r.spans));
        inFlight.add(sent);
        void sent.finally(() => inFlight.delete(sent));
      }
      await new Promise((resolve) => setTimeout(resolve, WAVE_EVERY_MS));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      await Promise.allSettled([...inFlight]);
    },
  };
}

interface Child {
  readonly process: ChildProcess;
  readonly grpc: string;
  readonly admin: string;
  readonly instanceId: string;
  readonly client: grpc.Client;
}

async function startChild(configFile: string): Promise<Child> {
  const entry = path.join(__dirname, 'fleet-child.js');
  const child = spawn(process.execPath, [entry, configFile, String(LEASE_MS), '100'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    const lines = readline.createInterface({ input: child.stdout! });
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`fleet child exited with ${code}`)));
  });
  const info = JSON.parse(line) as { grpc: string; admin: string; instanceId: string };
  return { process: child, ...info, client: createRawClient(info.grpc) };
}

async function claimsHeldBy(redis: RedisProcess, prefix: string, instanceId: string): Promise<number> {
  const direct = redis.client();
  try {
    const metas = await direct.keys(`${prefix}*:meta`);
    const holders = await Promise.all(metas.map((k) => direct.hget(k, 'c')));
    return holders.filter((h) => h === instanceId).length;
  } finally {
    direct.disconnect();
  }
}

describe('an instance killed while it holds claims', { skip: SKIP }, () => {
  let redis: RedisProcess;
  let sink: OtlpSink;
  const children: Child[] = [];
  const dirs: string[] = [];

  before(async () => {
    redis = await startRedis();
    sink = await startOtlpSink({ protocol: 'grpc' });
    for (let i = 0; i < 2; i++) {
      const written = writeMemberConfig(redis.url, 'kill:', sink, {
        rules: { 'steps.yaml': EVERY_SPAN_RULE },
        exporterConfig: 'queue: { enabled: false }',
      });
      dirs.push(written.dir);
      children.push(await startChild(written.file));
    }
  });
  after(async () => {
    for (const c of children) {
      c.client.close();
      if (c.process.exitCode === null && c.process.signalCode === null) {
        const exited = new Promise((resolve) => c.process.once('exit', resolve));
        c.process.kill('SIGKILL');
        await exited;
      }
    }
    await sink?.close();
    await redis?.close();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  it('still evaluates every trace, citing every acknowledged span, through a takeover', async () => {
    const [a, b] = children;
    const ledger = new Ledger();
    let alive = [a, b];
    sink.setDelay(250);
    const load = startLoad(() => alive.map((c) => (request: Uint8Array) => callUnary(c.client, request)), ledger);
    try {
      await waitUntil('the first instance holding claims', async () => (await claimsHeldBy(redis, 'kill:', a.instanceId)) > 0, 15_000);
      a.process.kill('SIGKILL');
      alive = [b];
      await new Promise((resolve) => setTimeout(resolve, 3 * WAVE_EVERY_MS));
    } finally {
      await load.stop();
    }
    assert.ok(ledger.acked.size > 0);
    await waitUntil('every trace evaluated', () => ledger.missing(sink).length === 0, 20_000);
    const metrics = await (await fetch(`http://${b.admin}/metrics`)).text();
    assert.match(metrics, /^betrace_redis_takeovers_total [1-9]/m);
  });
});

describe('redis stopped and restarted under load', { skip: SKIP }, () => {
  let redis: RedisProcess;
  let sink: OtlpSink;
  const members: FleetMember[] = [];

  before(async () => {
    redis = await startRedis({ appendOnly: true });
    sink = await startOtlpSink({ protocol: 'grpc' });
    for (let i = 0; i < 2; i++) {
      members.push(await startMember(redis.url, 'restart:', sink, { rules: { 'steps.yaml': EVERY_SPAN_RULE } }));
    }
  });
  after(async () => {
    for (const m of members) await m.stop();
    await sink?.close();
    await redis?.close();
  });

  it('pushes back while it is down, loses nothing acknowledged, and resumes', async () => {
    const ledger = new Ledger();
    const load = startLoad(() => members.map((m) => (request: Uint8Array) => m.send(request)), ledger);
    let ackedBefore: number;
    try {
      await waitUntil('a few traces stored', () => ledger.acked.size >= 16);
      await redis.stop();
      await waitUntil('pushback', () => ledger.refusedRetryable > 0);
      const ready = await fetch(`${members[0].adminUrl}/readyz`);
      assert.equal(ready.status, 503);
      assert.ok(((await ready.json()) as { reasons: string[] }).reasons.includes('redis unreachable'));
      await new Promise((resolve) => setTimeout(resolve, 300));
      ackedBefore = ledger.acked.size;
      await redis.restart();
      await waitUntil('ready again', async () => (await fetch(`${members[0].adminUrl}/readyz`)).status === 200);
      await waitUntil('spans taken again', () => ledger.acked.size >= ackedBefore + 16);
    } finally {
      await load.stop();
    }
    await waitUntil('every acknowledged trace evaluated', () => ledger.missing(sink).length === 0, 20_000);
  });
});

describe('an instance that stops while it holds claims', { skip: SKIP }, () => {
  let redis: RedisProcess;
  let sink: OtlpSink;
  const members: FleetMember[] = [];

  before(async () => {
    redis = await startRedis();
    sink = await startOtlpSink({ protocol: 'grpc' });
  });
  after(async () => {
    for (const m of members) await m.stop();
    await sink?.close();
    await redis?.close();
  });

  it('hands them back, so another instance evaluates them before their lease runs out', async () => {
    const options = {
      rules: { 'steps.yaml': EVERY_SPAN_RULE },
      exporterConfig: 'queue: { enabled: false }',
      fleet: { leaseMs: 30_000 },
      shutdownTimeout: '200ms',
    };
    const leaving = await startMember(redis.url, 'stop:', sink, options);
    members.push(leaving);
    const traces = createStepTraces(5, 2);
    const outcomes = await Promise.all(toRounds(traces, 1).flat().map((r) => leaving.send(r.request)));
    for (const o of outcomes) assert.equal(o.error, null);
    // Verdicts wait in a slow downstream while their traces stay claimed.
    sink.setDelay(3000);
    await waitUntil('claims held', async () => (await claimsHeldBy(redis, 'stop:', leaving.service.fleet!.instanceId)) === traces.length);
    const staying = await startMember(redis.url, 'stop:', sink, options);
    members.push(staying);
    const stopped = Date.now();
    await leaving.stop();
    sink.setDelay(0);
    await waitUntil('the traces evaluated by the other instance', async () =>
      await sumMetric([staying], 'betrace_redis_claims_total{result="claimed"}') === traces.length);
    assert.ok(Date.now() - stopped < 30_000);
    assert.equal(await sumMetric([staying], 'betrace_redis_takeovers_total'), 0, 'released, not taken over');
    await waitUntil('their verdicts delivered', () => {
      const delivered = new Set(receivedVerdicts(sink.requests).map((v) => v.traceId));
      return traces.every((t) => delivered.has(t.traceId));
    });
  });
});

describe('an instance started while redis is down', { skip: SKIP }, () => {
  let redis: RedisProcess | undefined;
  let sink: OtlpSink;
  let member: FleetMember | undefined;

  before(async () => {
    sink = await startOtlpSink({ protocol: 'grpc' });
  });
  after(async () => {
    await member?.stop();
    await sink?.close();
    await redis?.close();
  });

  it('starts not ready, refuses spans, and recovers by itself once redis is there', async () => {
    const port = await findFreePort();
    member = await startMember(`redis://127.0.0.1:${port}`, 'late:', sink, {
      rules: { 'steps.yaml': EVERY_SPAN_RULE },
      fleet: { connectWaitMs: 50 },
    });
    const ready = await fetch(`${member.adminUrl}/readyz`);
    assert.equal(ready.status, 503);
    const reasons = ((await ready.json()) as { reasons: string[] }).reasons;
    assert.ok(reasons.includes('redis unreachable'), reasons.join('; '));
    const [trace] = createStepTraces(1, 1);
    const request = toRounds([trace], 1)[0][0].request;
    const refused = await member.send(request);
    assert.equal(refused.error?.code, 14);
    assert.match(refused.error?.details ?? '', /redis .* is unreachable/);

    redis = await startRedis({ port });
    await waitUntil('ready', async () => (await fetch(`${member!.adminUrl}/readyz`)).status === 200);
    assert.equal((await member.send(request)).error, null);
    await waitUntil('the trace evaluated', () => receivedVerdicts(sink.requests).some((v) => v.traceId === trace.traceId));
  });
});

describe('a redis that hangs', { skip: SKIP }, () => {
  let redis: RedisProcess;
  let sink: OtlpSink;
  let member: FleetMember;

  before(async () => {
    redis = await startRedis();
    sink = await startOtlpSink({ protocol: 'grpc' });
    member = await startMember(redis.url, 'hang:', sink, {
      rules: { 'steps.yaml': EVERY_SPAN_RULE },
      fleet: { commandTimeoutMs: 300, heartbeatMs: 100 },
    });
  });
  after(async () => {
    redis?.resume();
    await member?.stop();
    await sink?.close();
    await redis?.close();
  });

  it('turns not ready and refuses spans at once while it does not answer, then recovers', async () => {
    const [trace] = createStepTraces(1, 1);
    const request = toRounds([trace], 1)[0][0].request;
    redis.pause();
    await waitUntil('not ready', async () => (await fetch(`${member.adminUrl}/readyz`)).status === 503, 5000);
    const ready = await fetch(`${member.adminUrl}/readyz`);
    assert.deepEqual(((await ready.json()) as { reasons: string[] }).reasons.filter((r) => r.startsWith('redis')), ['redis does not answer']);
    const sentAt = Date.now();
    const refused = await member.send(request);
    assert.equal(refused.error?.code, 14);
    assert.match(refused.error?.details ?? '', /^redis at redis:\/\/127\.0\.0\.1:\d+ does not answer; retry later$/);
    assert.ok(Date.now() - sentAt < 300, 'refused without waiting for a command timeout');
    assert.equal(await sumMetric([member], 'betrace_redis_connected'), 0);

    redis.resume();
    await waitUntil('ready again', async () => (await fetch(`${member.adminUrl}/readyz`)).status === 200, 5000);
    assert.equal((await member.send(request)).error, null);
    await waitUntil('the trace evaluated', () => receivedVerdicts(sink.requests).some((v) => v.traceId === trace.traceId));
  });
});

describe('wrong redis credentials', { skip: SKIP }, () => {
  let redis: RedisProcess;
  let sink: OtlpSink;
  let member: FleetMember | undefined;
  const log = captureLog();

  before(async () => {
    redis = await startRedis({ password: 'right-password' });
    sink = await startOtlpSink({ protocol: 'grpc' });
  });
  after(async () => {
    await member?.stop();
    await sink?.close();
    await redis?.close();
  });

  it('are logged once as an error and named on /readyz and in refusals', async () => {
    member = await startMember(`redis://:wrong-password@127.0.0.1:${redis.port}`, 'auth:', sink, {
      rules: { 'steps.yaml': EVERY_SPAN_RULE },
      fleet: { connectWaitMs: 50 },
      logger: log.logger,
    });
    await waitUntil('the error logged', () => log.lines.some((l) => l.level === 50 && /refused the credentials/.test(l.msg)), 5000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.equal(log.lines.filter((l) => /refused the credentials/.test(l.msg)).length, 1, 'logged once, not per reconnect');
    assert.doesNotMatch(JSON.stringify(log.lines), /wrong-password/, 'the password is never logged');
    const ready = await fetch(`${member.adminUrl}/readyz`);
    assert.equal(ready.status, 503);
    assert.ok(((await ready.json()) as { reasons: string[] }).reasons.includes('redis refused the credentials'));
    const [trace] = createStepTraces(1, 1);
    const refused = await member.send(toRounds([trace], 1)[0][0].request);
    assert.equal(refused.error?.code, 14);
    assert.match(refused.error?.details ?? '', /refused the credentials of buffer\.redis\.url/);
  });
});

describe('a connection to redis that goes silent while redis is fine', { skip: SKIP }, () => {
  let redis: RedisProcess;
  let proxy: TcpProxy;
  let sink: OtlpSink;
  let member: FleetMember;

  before(async () => {
    redis = await startRedis();
    proxy = await startTcpProxy(redis.port);
    sink = await startOtlpSink({ protocol: 'grpc' });
    member = await startMember(`redis://127.0.0.1:${proxy.port}`, 'silent:', sink, {
      rules: { 'steps.yaml': EVERY_SPAN_RULE },
      fleet: { commandTimeoutMs: 200, heartbeatMs: 100 },
    });
  });
  after(async () => {
    await member?.stop();
    proxy?.close();
    await sink?.close();
    await redis?.close();
  });

  it('is dropped after a few unanswered heartbeats, and a new one makes the instance ready again', async () => {
    const before = proxy.connections();
    proxy.freeze();
    await waitUntil('not ready', async () => (await fetch(`${member.adminUrl}/readyz`)).status === 503, 5000);
    await waitUntil('connected again', () => proxy.connections() > before, 5000);
    await waitUntil('ready again', async () => (await fetch(`${member.adminUrl}/readyz`)).status === 200, 5000);
    const [trace] = createStepTraces(1, 1);
    assert.equal((await member.send(toRounds([trace], 1)[0][0].request)).error, null);
  });
});

describe('a redis user that may not run PING', { skip: SKIP }, () => {
  let redis: RedisProcess;
  let sink: OtlpSink;
  let member: FleetMember;

  before(async () => {
    redis = await startRedis({ extraArgs: ['--user', 'default', 'off', '--user', 'bt', 'on', '>bt-password', '~*', '&*', '+@all', '-ping'] });
    sink = await startOtlpSink({ protocol: 'grpc' });
    member = await startMember(`redis://bt:bt-password@127.0.0.1:${redis.port}`, 'acl:', sink, {
      rules: { 'steps.yaml': EVERY_SPAN_RULE },
      fleet: { heartbeatMs: 50 },
    });
  });
  after(async () => {
    await member?.stop();
    await sink?.close();
    await redis?.close();
  });

  it('counts the refused PING as an answer and stays ready', async () => {
    await waitUntil('ready', async () => (await fetch(`${member.adminUrl}/readyz`)).status === 200, 5000);
    await new Promise((resolve) => setTimeout(resolve, 400));
    assert.equal((await fetch(`${member.adminUrl}/readyz`)).status, 200);
    const [trace] = createStepTraces(1, 1);
    assert.equal((await member.send(toRounds([trace], 1)[0][0].request)).error, null);
  });
});
