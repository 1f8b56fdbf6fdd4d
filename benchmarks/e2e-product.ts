/**
 * The product under test in the end-to-end benchmark, run as its own
 * process: the whole service (`startService`) on a loopback gRPC receiver,
 * the bundled rules plus a generated rule file, forwarding to the sink.
 *
 * Two configurations: `throughput` keeps the buffer defaults (a trace
 * completes 2 s after its root span), `memory` sets every completion timeout
 * to 10 minutes so that everything sent stays buffered. Both use
 * `queue.enabled: false` and no compression, like the baseline (see
 * e2e-baseline.ts).
 *
 * Usage (through e2e-bench.js):
 *   e2e-product.js throughput|memory SINK_ENDPOINT RULES_FILE
 */

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PerformanceObserver, constants, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import v8 from 'node:v8';

import { parseConfig } from '../config/load';
import { createLogger } from '../processor/log';
import { BUNDLED_RULES_DIR } from '../processor/paths';
import { startService } from '../processor/service';
import { serveParent } from './e2e-child';

import type { BufferStats } from '../processor/buffer/types';

/** The product's ready message. */
export interface ProductReady {
  readonly endpoint: string;
  readonly rules: number;
  readonly enabledRules: number;
}

/** The `memory` operation's answer, after forced collections. */
export interface MemoryReading {
  readonly heapUsed: number;
  readonly external: number;
  readonly arrayBuffers: number;
  readonly rss: number;
  /** V8 heap spaces by name, bytes used. */
  readonly spaces: Readonly<Record<string, number>>;
  readonly buffer: BufferStats;
}

/** Event-loop delay and garbage collection between `watch-start` and `watch-stop`. */
export interface StallReading {
  readonly loopDelayP50Ms: number;
  readonly loopDelayP99Ms: number;
  readonly loopDelayMaxMs: number;
  readonly gcCount: number;
  readonly gcTotalMs: number;
  readonly gcMaxMs: number;
  /** Mark-compact collections (full heap), which are the long pauses. */
  readonly majorGcCount: number;
  readonly majorGcTotalMs: number;
  readonly majorGcMaxMs: number;
  readonly wallMs: number;
}

/** The two configurations the product runs in (see the file header). */
export type ProductMode = 'throughput' | 'memory';

const MEMORY_BUFFER = `
  idle_timeout: 10m
  root_grace: 10m
  max_trace_age: 10m`;
/** Collections before a memory reading: the first may leave work for the next. */
const GC_PASSES = 3;

async function main(): Promise<void> {
  const [mode, sinkEndpoint, rulesFile] = process.argv.slice(2);
  if ((mode !== 'throughput' && mode !== 'memory') || sinkEndpoint === undefined || rulesFile === undefined) {
    throw new Error('usage: e2e-product.js throughput|memory SINK_ENDPOINT RULES_FILE');
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'betrace-bench-'));
  const configPath = path.join(dir, 'config.yaml');
  const yaml = renderConfig(mode, sinkEndpoint, rulesFile);
  fs.writeFileSync(configPath, yaml);
  const config = parseConfig(yaml, configPath, {});
  const service = await startService(config, { logger: createLogger('warn') });
  const ruleSet = service.pipeline.ruleSet;

  const stalls = createStallWatch();
  serveParent(
    {
      endpoint: service.endpoints().grpc,
      rules: ruleSet.rules.length,
      enabledRules: ruleSet.enabled.length,
    } satisfies ProductReady,
    {
      stats: () => service.pipeline.stats(),
      cpu: () => process.cpuUsage(),
      memory: () => readMemory(() => service.pipeline.stats()),
      metrics: async () => pickCounters(await service.registry.metrics()),
      // For finding where buffered memory goes (e2e-heap-summary.js reads it).
      'heap-snapshot': (file) => v8.writeHeapSnapshot(String(file)),
      'watch-start': () => stalls.start(),
      'watch-stop': () => stalls.stop(),
    },
    async () => {
      await service.shutdown();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  );
}

function renderConfig(mode: ProductMode, sinkEndpoint: string, rulesFile: string): string {
  const bundled = path.join(BUNDLED_RULES_DIR, '*.yaml');
  return `receivers:
  otlp:
    protocols:
      grpc: { endpoint: 127.0.0.1:0 }
buffer:${mode === 'memory' ? MEMORY_BUFFER : ' { type: memory }'}
rules:
  files: [${JSON.stringify(bundled)}, ${JSON.stringify(rulesFile)}]
  watch: false
exporters:
  otlp:
    endpoint: ${sinkEndpoint}
    protocol: grpc
    tls: { insecure: true }
    compression: none
    queue: { enabled: false }
admin:
  endpoint: 127.0.0.1:0
telemetry:
  logs: { level: warn }
`;
}

function readMemory(stats: () => BufferStats): MemoryReading {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('the memory reading needs node --expose-gc');
  for (let i = 0; i < GC_PASSES; i++) gc();
  const usage = process.memoryUsage();
  const spaces: Record<string, number> = {};
  for (const space of v8.getHeapSpaceStatistics()) spaces[space.space_name] = space.space_used_size;
  return {
    heapUsed: usage.heapUsed,
    external: usage.external,
    arrayBuffers: usage.arrayBuffers,
    rss: usage.rss,
    spaces,
    buffer: stats(),
  };
}

/** Watches the event loop's delay and GC pauses, for explaining latency. */
function createStallWatch(): { start(): null; stop(): StallReading } {
  const histogram = monitorEventLoopDelay({ resolution: 5 });
  const pauses: Array<{ major: boolean; ms: number }> = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const kind = (entry as { detail?: { kind?: number } }).detail?.kind;
      pauses.push({ major: kind === constants.NODE_PERFORMANCE_GC_MAJOR, ms: entry.duration });
    }
  });
  let startedAt = 0;
  return {
    start() {
      histogram.reset();
      histogram.enable();
      pauses.length = 0;
      observer.observe({ entryTypes: ['gc'] });
      startedAt = performance.now();
      return null;
    },
    stop() {
      histogram.disable();
      observer.disconnect();
      const major = pauses.filter((p) => p.major);
      const sum = (list: typeof pauses): number => list.reduce((n, p) => n + p.ms, 0);
      const max = (list: typeof pauses): number => list.reduce((n, p) => Math.max(n, p.ms), 0);
      return {
        loopDelayP50Ms: histogram.percentile(50) / 1e6,
        loopDelayP99Ms: histogram.percentile(99) / 1e6,
        loopDelayMaxMs: histogram.max / 1e6,
        gcCount: pauses.length,
        gcTotalMs: sum(pauses),
        gcMaxMs: max(pauses),
        majorGcCount: major.length,
        majorGcTotalMs: sum(major),
        majorGcMaxMs: max(major),
        wallMs: performance.now() - startedAt,
      };
    },
  };
}

/**
 * Sums of the processor's counters by metric name (labels summed away),
 * plus completed traces by trigger as `traces_completed.<trigger>`.
 */
function pickCounters(text: string): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const line of text.split('\n')) {
    if (!line.startsWith('betrace_') || line.startsWith('betrace_process_')) continue;
    const match = /^([a-z_]+_total)(\{[^}]*\})? ([0-9.e+-]+)$/.exec(line);
    if (match === null) continue;
    const value = Number(match[3]);
    sums[match[1]] = (sums[match[1]] ?? 0) + value;
    const trigger = /trigger="([a-z_]+)"/.exec(match[2] ?? '');
    if (match[1] === 'betrace_traces_completed_total' && trigger !== null) {
      sums[`traces_completed.${trigger[1]}`] = value;
    }
  }
  return sums;
}

if (require.main === module) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
