/**
 * The end-to-end benchmark: OTLP/gRPC over loopback through the whole
 * processor (the bundled rules plus generated ones, 50 in all) against a
 * baseline proxy that forwards the raw bytes to the same sink without
 * evaluating anything. Product, baseline and sink each run in their own
 * process; this process is the load generator.
 *
 * Phases, each printing one `BENCH_JSON {...}` line, then a summary line:
 *  1. throughput: closed loop at a fixed concurrency, A B A B rounds
 *     (product, baseline), medians and their ratio;
 *  2. latency: the product at half its measured throughput, open loop,
 *     from each trace's completion deadline to its first violation span at
 *     the sink;
 *  3. memory: a fresh product process (`--expose-gc`) with every
 *     completion timeout at 10 minutes holds 200000+ spans; heap plus
 *     external growth per buffered span.
 * docs/benchmarks.md explains every figure.
 *
 * Usage: node dist/benchmarks/e2e-bench.js [--rounds 5] [--warmup-ms 2500]
 *   [--measure-ms 3000] [--concurrency 8] [--latency-ms 6000]
 *   [--memory-spans 200000] [--rules 50] [--phases throughput,latency,memory]
 *   [--profile DIR] [--heap-snapshot PREFIX]
 * `--profile` writes `--cpu-prof` profiles of the product and the baseline
 * (read them with e2e-profile-summary.js); `--heap-snapshot` writes
 * PREFIX-start.heapsnapshot and PREFIX-full.heapsnapshot of the memory
 * phase's product, empty and full (compare them with e2e-heap-summary.js).
 */

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { parse as parseYaml } from 'yaml';

import { createDefaultConfig } from '../config/defaults';
import { BUNDLED_RULES_DIR } from '../processor/paths';
import { startChild } from './e2e-child';
import { createExportClient, epochMs, runClosedLoop, runPaced, sendCount } from './e2e-load';
import { createRequestSource } from './e2e-request-source';
import { countMatchingRules, createBenchRulesYaml } from './e2e-rules';
import { loadAverage, median, percentile, round } from './e2e-stats';

import type { BenchChild } from './e2e-child';
import type { ClosedLoopResult, ExportClient, PacedSend } from './e2e-load';
import type { RequestSource } from './e2e-request-source';
import type { BaselineReady } from './e2e-baseline';
import type { MemoryReading, ProductReady, StallReading } from './e2e-product';
import type { SinkCounts, SinkReady, ViolationArrivals } from './e2e-sink';
import type { BufferStats } from '../processor/buffer/types';

interface Options {
  readonly rounds: number;
  readonly warmupMs: number;
  readonly measureMs: number;
  readonly concurrency: number;
  readonly latencyMs: number;
  readonly memorySpans: number;
  readonly rules: number;
  readonly phases: ReadonlySet<string>;
  /** Folder for `--cpu-prof` profiles of the product and baseline; '' for none. */
  readonly profileDir: string;
  /** Path prefix of the memory phase's heap snapshots (empty and full); '' for none. */
  readonly heapSnapshot: string;
}

type CpuUsage = NodeJS.CpuUsage;
type Figures = Record<string, unknown>;

/**
 * The product's default `buffer.root_grace`, which the throughput product
 * runs with: every workload trace has its root in its request, so it
 * completes this long after the request.
 */
const ROOT_GRACE_MS = createDefaultConfig().buffer.rootGraceMs;
const DRAIN_TIMEOUT_MS = 15_000;
const DRAIN_POLL_MS = 50;
/** After the buffer is empty, time for the last emitted spans to reach the sink. */
const EMIT_SETTLE_MS = 300;
/** Requests before the memory phase's middle reading, from which the marginal cost counts. */
const MEMORY_WARMUP_REQUESTS = 40;
const TEMPLATES = 16;
/** The memory figure is taken with at least this many spans buffered. */
const MEMORY_MIN_SPANS = 200_000;

type StartChild = <R>(file: string, args: string[], execArgv?: string[]) => Promise<BenchChild<R>>;

/** What every phase shares: the request source, the sink and the rule file. */
interface Bench {
  readonly options: Options;
  readonly source: RequestSource;
  readonly sink: BenchChild<SinkReady>;
  readonly rulesFile: string;
  /** Figures describing the setup, repeated in every BENCH_JSON line. */
  readonly setup: Figures;
  readonly start: StartChild;
  /** What made a figure doubtful (rules missing, data not forwarded...); empty when none. */
  readonly problems: string[];
}

async function main(): Promise<void> {
  const options = readOptions(process.argv.slice(2));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'betrace-e2e-bench-'));
  const children: Array<BenchChild<unknown>> = [];
  const start: StartChild = async <R>(file: string, args: string[], execArgv: string[] = []) => {
    const child = await startChild<R>(path.join(__dirname, file), args, execArgv);
    children.push(child as BenchChild<unknown>);
    return child;
  };
  const stopAll = async (): Promise<void> => {
    await Promise.all(children.splice(0).reverse().map((c) => c.stop()));
  };
  process.once('SIGINT', () => void stopAll().finally(() => process.exit(130)));

  try {
    const bench = await prepare(options, dir, start);
    const summary: Figures = { bench: 'e2e', ...bench.setup };
    if (options.phases.has('throughput') || options.phases.has('latency')) {
      Object.assign(summary, await runServedPhases(bench));
    }
    if (options.phases.has('memory')) {
      const figures = await runMemory(bench);
      print({ bench: 'e2e_memory', ...bench.setup, ...figures });
      Object.assign(summary, pick(figures, [
        'bytes_per_buffered_span', 'marginal_bytes_per_buffered_span',
        'spans_buffered', 'load_avg_memory',
      ]));
    }
    summary.goals = goals(summary);
    summary.problems = bench.problems;
    for (const problem of bench.problems) console.error(`warning: ${problem}`);
    print(summary);
  } finally {
    await stopAll();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Writes the generated rules, builds the requests and starts the sink. */
async function prepare(options: Options, dir: string, start: StartChild): Promise<Bench> {
  const rulesFile = path.join(dir, 'generated-rules.yaml');
  const bundled = countBundledRules();
  const generated = Math.max(0, options.rules - bundled);
  fs.writeFileSync(rulesFile, createBenchRulesYaml(generated));
  const source = createRequestSource(TEMPLATES);
  const sink = await start<SinkReady>('e2e-sink.js', []);
  const setup = {
    spans_per_request: source.spansPerRequest,
    request_bytes: source.requestBytes,
    concurrency: options.concurrency,
    rules_bundled: bundled,
    rules_generated: generated,
    rules_matching_workload: countMatchingRules(generated),
  };
  return { options, source, sink, rulesFile, setup, start, problems: [] };
}

/**
 * Throughput and latency, which share one long-lived product process (and
 * the baseline for throughput); returns the figures for the summary.
 */
async function runServedPhases(bench: Bench): Promise<Figures> {
  const { options, sink, rulesFile, start } = bench;
  const profile = (name: string): string[] =>
    options.profileDir === ''
      ? []
      : ['--cpu-prof', '--cpu-prof-dir', options.profileDir, '--cpu-prof-name', `${name}.cpuprofile`];
  const product = await start<ProductReady>(
    'e2e-product.js', ['throughput', sink.ready.endpoint, rulesFile], profile('product'));
  const baseline = await start<BaselineReady>(
    'e2e-baseline.js', [sink.ready.endpoint], profile('baseline'));
  if (product.ready.rules !== options.rules) {
    bench.problems.push(`the product loaded ${product.ready.rules} rules, not ${options.rules}`);
  }
  const targets: Targets = {
    product,
    productClient: createExportClient(product.ready.endpoint),
    baseline,
    baselineClient: createExportClient(baseline.ready.endpoint),
  };
  const summary: Figures = { rules_loaded: product.ready.rules };
  try {
    let maxSpansPerSec = Number.NaN;
    if (options.phases.has('throughput')) {
      const figures = await runThroughput(bench, targets);
      print({ bench: 'e2e_throughput', ...bench.setup, rules_loaded: product.ready.rules, ...figures });
      Object.assign(summary, pick(figures, [
        'spans_per_sec', 'baseline_spans_per_sec', 'e2e_ratio', 'load_avg_throughput',
      ]));
      maxSpansPerSec = figures.spans_per_sec as number;
    }
    if (options.phases.has('latency')) {
      if (Number.isNaN(maxSpansPerSec)) maxSpansPerSec = await probeMaximum(bench, targets);
      const figures = await runLatency(bench, targets, maxSpansPerSec);
      print({ bench: 'e2e_latency', ...bench.setup, ...figures });
      Object.assign(summary, pick(figures, [
        'violation_latency_p50_ms', 'violation_latency_p99_ms',
        'violation_latency_p99_ms_from_send', 'latency_rate_spans_per_sec', 'load_avg_latency',
      ]));
    }
  } finally {
    targets.productClient.close();
    targets.baselineClient.close();
    await product.stop();
    await baseline.stop();
  }
  return summary;
}

/** Without a throughput phase, one closed-loop run finds the product's maximum. */
async function probeMaximum(bench: Bench, targets: Targets): Promise<number> {
  const { options, source } = bench;
  const probe = await runClosedLoop(targets.productClient, source, {
    concurrency: options.concurrency,
    warmupMs: options.warmupMs,
    measureMs: options.measureMs,
  });
  await waitDrained(targets.product);
  return probe.spansPerSec;
}

interface Targets {
  readonly product: BenchChild<ProductReady>;
  readonly productClient: ExportClient;
  readonly baseline: BenchChild<BaselineReady>;
  readonly baselineClient: ExportClient;
}

interface RoundResult {
  readonly run: ClosedLoopResult;
  /** CPU of the target process per span sent in the round, µs. */
  readonly cpuUsPerSpan: number;
  readonly sinkCpuUsPerSpan: number;
  /** The sink received at least every byte that was sent and acknowledged. */
  readonly forwardedAll: boolean;
}

async function runThroughput(bench: Bench, targets: Targets): Promise<Figures> {
  const { options, source } = bench;
  const loadBefore = loadAverage();
  const a: RoundResult[] = [];
  const b: RoundResult[] = [];
  let bufferPeak: BufferStats = { traces: 0, spans: 0, records: 0, bytes: 0 };
  const stalls: StallReading[] = [];
  for (let i = 0; i < options.rounds; i++) {
    const peak = watchBuffer(targets.product);
    await targets.product.call('watch-start');
    a.push(await runRound(bench, targets.product, targets.productClient));
    stalls.push(await targets.product.call<StallReading>('watch-stop'));
    bufferPeak = maxStats(bufferPeak, await peak.stop());
    await waitDrained(targets.product);
    b.push(await runRound(bench, targets.baseline, targets.baselineClient));
  }
  const loadAfter = loadAverage();
  const spansPerSec = median(a.map((r) => r.run.spansPerSec));
  const baselineSpansPerSec = median(b.map((r) => r.run.spansPerSec));
  const counters = await targets.product.call<Record<string, number>>('metrics');
  const forwardedAll = [...a, ...b].every((r) => r.forwardedAll);
  if (!forwardedAll) bench.problems.push('the sink received less than was sent and answered');
  const errors = [...a, ...b].reduce((n, r) => n + r.run.errors, 0);
  if (errors > 0) bench.problems.push(`${errors} sends failed in the throughput phase`);
  return {
    rounds: options.rounds,
    warmup_ms: options.warmupMs,
    measure_ms: options.measureMs,
    spans_per_sec: round(spansPerSec),
    baseline_spans_per_sec: round(baselineSpansPerSec),
    e2e_ratio: round(spansPerSec / baselineSpansPerSec, 3),
    round_spans_per_sec: a.map((r) => round(r.run.spansPerSec)),
    round_baseline_spans_per_sec: b.map((r) => round(r.run.spansPerSec)),
    round_ratios: a.map((r, i) => round(r.run.spansPerSec / b[i].run.spansPerSec, 3)),
    product_cpu_us_per_span: round(median(a.map((r) => r.cpuUsPerSpan)), 2),
    baseline_cpu_us_per_span: round(median(b.map((r) => r.cpuUsPerSpan)), 2),
    sink_cpu_us_per_span: round(median([...a, ...b].map((r) => r.sinkCpuUsPerSpan)), 2),
    product_gc_share: round(median(stalls.map((s) => s.gcTotalMs / s.wallMs)), 3),
    product_major_gc_max_ms: round(Math.max(...stalls.map((s) => s.majorGcMaxMs)), 1),
    product_loop_delay_p99_ms: round(median(stalls.map((s) => s.loopDelayP99Ms)), 1),
    product_spans_sent: a.reduce((n, r) => n + r.run.sentRequests * source.spansPerRequest, 0),
    errors: a.reduce((n, r) => n + r.run.errors, 0),
    baseline_errors: b.reduce((n, r) => n + r.run.errors, 0),
    forwarded_all: forwardedAll,
    peak_traces_buffered: bufferPeak.traces,
    peak_spans_buffered: bufferPeak.spans,
    traces_completed: counters.betrace_traces_completed_total ?? 0,
    traces_completed_by_root: counters['traces_completed.root'] ?? 0,
    violations: counters.betrace_violations_total ?? 0,
    compliance_spans: counters.betrace_compliance_spans_total ?? 0,
    load_avg_throughput: { before: loadBefore, after: loadAfter },
  };
}

async function runRound(
  bench: Bench,
  target: BenchChild<unknown>,
  client: ExportClient,
): Promise<RoundResult> {
  const { options, source, sink } = bench;
  await sink.call('reset');
  const cpuBefore = await target.call<CpuUsage>('cpu');
  const sinkBefore = await sink.call<CpuUsage>('cpu');
  const run = await runClosedLoop(client, source, {
    concurrency: options.concurrency,
    warmupMs: options.warmupMs,
    measureMs: options.measureMs,
  });
  const cpuAfter = await target.call<CpuUsage>('cpu');
  const sinkAfter = await sink.call<CpuUsage>('cpu');
  const counts = await sink.call<SinkCounts>('counts');
  const spansSent = run.sentRequests * source.spansPerRequest;
  return {
    run,
    cpuUsPerSpan: cpuMicros(cpuBefore, cpuAfter) / spansSent,
    sinkCpuUsPerSpan: cpuMicros(sinkBefore, sinkAfter) / spansSent,
    forwardedAll: counts.bytes >= run.sentBytes - run.errors * source.requestBytes,
  };
}

async function runLatency(bench: Bench, targets: Targets, maxSpansPerSec: number): Promise<Figures> {
  const { options, source, sink } = bench;
  const { product, productClient: client } = targets;
  const loadBefore = loadAverage();
  const ratePerSec = maxSpansPerSec / 2 / source.spansPerRequest;
  await sink.call('take');
  await sink.call('watch', true);
  const cpuBefore = await product.call<CpuUsage>('cpu');
  await product.call('watch-start');
  const run = await runPaced(client, source, { ratePerSec, durationMs: options.latencyMs });
  // Every trace completes ROOT_GRACE_MS after its request; wait for the last.
  await waitDrained(product);
  await pause(EMIT_SETTLE_MS);
  const stalls = await product.call<StallReading>('watch-stop');
  const cpuAfter = await product.call<CpuUsage>('cpu');
  const arrivals = await sink.call<ViolationArrivals>('take');
  await sink.call('watch', false);
  const loadAfter = loadAverage();

  const latencies = collectLatencies(run.sends, arrivals);
  const { fromAck, fromSend, toDetection, detectionToSink, traces } = latencies;
  if (fromAck.length === 0) {
    bench.problems.push('no violation span reached the sink in the latency phase');
  }
  if (run.errors > 0) bench.problems.push(`${run.errors} sends failed in the latency phase`);
  const ms = (v: number): number => round(v, 1);
  return {
    latency_rate_spans_per_sec: round(ratePerSec * source.spansPerRequest),
    latency_achieved_spans_per_sec: round(run.achievedRate * source.spansPerRequest),
    latency_run_ms: options.latencyMs,
    root_grace_ms: ROOT_GRACE_MS,
    traces_sent: traces,
    traces_with_violation: fromAck.length,
    violation_latency_p50_ms: ms(percentile(fromAck, 50)),
    violation_latency_p90_ms: ms(percentile(fromAck, 90)),
    violation_latency_p99_ms: ms(percentile(fromAck, 99)),
    violation_latency_max_ms: ms(Math.max(...fromAck)),
    violation_latency_p50_ms_from_send: ms(percentile(fromSend, 50)),
    violation_latency_p99_ms_from_send: ms(percentile(fromSend, 99)),
    deadline_to_detection_p50_ms: ms(percentile(toDetection, 50)),
    deadline_to_detection_p99_ms: ms(percentile(toDetection, 99)),
    detection_to_sink_p50_ms: ms(percentile(detectionToSink, 50)),
    detection_to_sink_p99_ms: ms(percentile(detectionToSink, 99)),
    max_in_flight: run.maxInFlight,
    errors: run.errors,
    product_cpu_share: round(cpuMicros(cpuBefore, cpuAfter) / 1000 / stalls.wallMs, 3),
    product_loop_delay_p50_ms: round(stalls.loopDelayP50Ms, 1),
    product_loop_delay_p99_ms: round(stalls.loopDelayP99Ms, 1),
    product_loop_delay_max_ms: round(stalls.loopDelayMaxMs, 1),
    product_gc_count: stalls.gcCount,
    product_gc_total_ms: round(stalls.gcTotalMs),
    product_gc_max_ms: round(stalls.gcMaxMs, 1),
    product_major_gc_count: stalls.majorGcCount,
    product_major_gc_max_ms: round(stalls.majorGcMaxMs, 1),
    load_avg_latency: { before: loadBefore, after: loadAfter },
  };
}

interface Latencies {
  /** From the completion deadline (answer + root_grace) to the sink: the headline figure. */
  readonly fromAck: number[];
  /** From the send + root_grace: an upper bound that includes the request's transit. */
  readonly fromSend: number[];
  /** The part before the processor detected the violation (its span's start time). */
  readonly toDetection: number[];
  /** The part after: evaluation of the batch, encoding, export, transit. */
  readonly detectionToSink: number[];
  /** Traces sent and answered. */
  readonly traces: number;
}

/** Pairs each answered trace with its first violation span at the sink, if any. */
function collectLatencies(sends: readonly PacedSend[], arrivals: ViolationArrivals): Latencies {
  const out: Latencies = { fromAck: [], fromSend: [], toDetection: [], detectionToSink: [], traces: 0 };
  let traces = 0;
  for (const send of sends) {
    if (Number.isNaN(send.ackedMs)) continue;
    for (const traceId of send.traceIds) {
      traces++;
      const seen = arrivals[traceId];
      if (seen === undefined) continue;
      const [arrivedMs, detectedMs] = seen;
      // The product stamps root arrival just before it answers, so the
      // answer's arrival plus root_grace is the deadline, within a response
      // transit; the detection time it writes is in whole milliseconds.
      const deadlineMs = send.ackedMs + ROOT_GRACE_MS;
      out.fromAck.push(arrivedMs - deadlineMs);
      out.fromSend.push(arrivedMs - (send.sentMs + ROOT_GRACE_MS));
      out.toDetection.push(detectedMs - deadlineMs);
      out.detectionToSink.push(arrivedMs - detectedMs);
    }
  }
  return { ...out, traces };
}

async function runMemory(bench: Bench): Promise<Figures> {
  const { options, source, sink, rulesFile, start } = bench;
  const loadBefore = loadAverage();
  const product = await start<ProductReady>(
    'e2e-product.js', ['memory', sink.ready.endpoint, rulesFile], ['--expose-gc']);
  const client = createExportClient(product.ready.endpoint);
  const snapshot = async (name: string): Promise<void> => {
    if (options.heapSnapshot === '') return;
    await product.call('heap-snapshot', `${options.heapSnapshot}-${name}.heapsnapshot`);
  };
  try {
    const total = Math.ceil(options.memorySpans / source.spansPerRequest);
    const atStart = await product.call<MemoryReading>('memory');
    await snapshot('start');
    const warm = await sendCount(client, source, MEMORY_WARMUP_REQUESTS, options.concurrency);
    const afterWarmup = await product.call<MemoryReading>('memory');
    const rest = await sendCount(client, source, total - MEMORY_WARMUP_REQUESTS, options.concurrency);
    const full = await product.call<MemoryReading>('memory');
    const loadAfter = loadAverage();
    await snapshot('full');
    const spans = full.buffer.spans;
    if (spans < warm.spans + rest.spans) {
      bench.problems.push('the memory phase buffered fewer spans than it sent');
    }
    if (spans < MEMORY_MIN_SPANS) {
      bench.problems.push(`only ${spans} spans buffered in the memory phase`);
    }
    const growth = heapPlusExternal(full) - heapPlusExternal(atStart);
    const marginal = heapPlusExternal(full) - heapPlusExternal(afterWarmup);
    return {
      spans_sent: warm.spans + rest.spans,
      errors: warm.errors + rest.errors,
      spans_buffered: spans,
      span_records_buffered: full.buffer.records,
      bytes_per_span_record: round(growth / Math.max(1, full.buffer.records), 1),
      traces_buffered: full.buffer.traces,
      bytes_per_buffered_span: round(growth / spans, 1),
      marginal_bytes_per_buffered_span: round(marginal / (spans - afterWarmup.buffer.spans), 1),
      estimated_bytes_per_buffered_span: round(full.buffer.bytes / spans, 1),
      heap_used_growth_bytes: full.heapUsed - atStart.heapUsed,
      external_growth_bytes: full.external - atStart.external,
      rss_growth_bytes: full.rss - atStart.rss,
      heap_space_growth_bytes: spaceGrowth(atStart, full),
      load_avg_memory: { before: loadBefore, after: loadAfter },
    };
  } finally {
    client.close();
    await product.stop();
  }
}

/** Polls the product until nothing is buffered (every trace evaluated). */
async function waitDrained(product: BenchChild<ProductReady>): Promise<void> {
  const deadline = epochMs() + DRAIN_TIMEOUT_MS;
  for (;;) {
    const stats = await product.call<BufferStats>('stats');
    if (stats.traces === 0) return;
    if (epochMs() > deadline) {
      throw new Error(`${stats.traces} traces still buffered after ${DRAIN_TIMEOUT_MS} ms`);
    }
    await pause(DRAIN_POLL_MS);
  }
}

/** Samples the product's buffer every 250 ms until stopped; resolves to the peak. */
function watchBuffer(product: BenchChild<ProductReady>): { stop(): Promise<BufferStats> } {
  let peak: BufferStats = { traces: 0, spans: 0, records: 0, bytes: 0 };
  let running = true;
  const loop = (async () => {
    while (running) {
      peak = maxStats(peak, await product.call<BufferStats>('stats'));
      await pause(250);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return peak;
    },
  };
}

function maxStats(a: BufferStats, b: BufferStats): BufferStats {
  return {
    traces: Math.max(a.traces, b.traces),
    spans: Math.max(a.spans, b.spans),
    records: Math.max(a.records, b.records),
    bytes: Math.max(a.bytes, b.bytes),
  };
}

function heapPlusExternal(reading: MemoryReading): number {
  return reading.heapUsed + reading.external;
}

function spaceGrowth(before: MemoryReading, after: MemoryReading): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [name, used] of Object.entries(after.spaces)) out[name] = used - (before.spaces[name] ?? 0);
  return out;
}

function cpuMicros(before: CpuUsage, after: CpuUsage): number {
  return after.user - before.user + (after.system - before.system);
}

function countBundledRules(): number {
  let count = 0;
  for (const name of fs.readdirSync(BUNDLED_RULES_DIR)) {
    if (!/\.ya?ml$/.test(name)) continue;
    const text = fs.readFileSync(path.join(BUNDLED_RULES_DIR, name), 'utf8');
    const doc = parseYaml(text) as { rules?: unknown[] } | null;
    count += doc?.rules?.length ?? 0;
  }
  return count;
}

/** Each goal of the end-to-end benchmark, true when met (absent when not measured). */
function goals(summary: Figures): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  const check = (key: string, ok: (v: number) => boolean): void => {
    const value = summary[key];
    if (typeof value === 'number' && !Number.isNaN(value)) out[key] = ok(value);
  };
  check('e2e_ratio', (v) => v >= 0.8);
  // The figure counts only with the required number of spans buffered.
  if ((summary.spans_buffered as number) >= MEMORY_MIN_SPANS) {
    check('bytes_per_buffered_span', (v) => v <= 500);
  }
  check('violation_latency_p99_ms', (v) => v <= 100);
  return out;
}

function pick(figures: Figures, keys: readonly string[]): Figures {
  const out: Figures = {};
  for (const key of keys) if (key in figures) out[key] = figures[key];
  return out;
}

function print(figures: Figures): void {
  console.log(`BENCH_JSON ${JSON.stringify(figures)}`);
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function readOptions(args: readonly string[]): Options {
  const value = (name: string, fallback: string): string => {
    const i = args.indexOf(name);
    return i === -1 || i + 1 >= args.length ? fallback : args[i + 1];
  };
  const number = (name: string, fallback: number): number => {
    const parsed = Number(value(name, String(fallback)));
    if (!Number.isFinite(parsed) || parsed <= 0) throw new Error(`${name} needs a positive number`);
    return parsed;
  };
  const profileDir = value('--profile', '');
  if (profileDir !== '') fs.mkdirSync(profileDir, { recursive: true });
  return {
    rounds: number('--rounds', 5),
    warmupMs: number('--warmup-ms', 2500),
    measureMs: number('--measure-ms', 3000),
    concurrency: number('--concurrency', 8),
    latencyMs: number('--latency-ms', 6000),
    memorySpans: number('--memory-spans', 200_000),
    rules: number('--rules', 50),
    phases: new Set(value('--phases', 'throughput,latency,memory').split(',')),
    profileDir: profileDir === '' ? '' : path.resolve(profileDir),
    heapSnapshot: value('--heap-snapshot', '') === '' ? '' : path.resolve(value('--heap-snapshot', '')),
  };
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
