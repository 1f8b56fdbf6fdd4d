#!/usr/bin/env node
// Runs the compiled benchmarks (what `make bench` calls after building): the
// end-to-end benchmark, the rule-evaluation one and the Redis fleet one
// (skipped without redis-server), each in its own process,
// one after the other so they do not compete for the CPU. Their output passes
// through; at the end one `BENCH_JSON {"bench":"summary",...}` line gathers the
// headline figures and which goals they meet. Builds nothing itself.
//
// Usage: node scripts/run-benchmarks.js [--out DIR] [--quick] [e2e options...]
//   --out DIR  the build folder (default dist)
//   --quick    shorter end-to-end rounds, for trying the setup (figures are noisier)
//   other arguments go to e2e-bench.js (see its header, e.g. --phases memory)
'use strict';
const { spawn } = require('node:child_process');
const os = require('node:os');
const path = require('node:path');
const fs = require('node:fs');

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
let outDir = path.join(root, 'dist');
if (args[0] === '--out') {
  outDir = path.resolve(root, args[1]);
  args.splice(0, 2);
}
const quickAt = args.indexOf('--quick');
if (quickAt !== -1) {
  args.splice(quickAt, 1, '--rounds', '1', '--measure-ms', '1500', '--latency-ms', '3000');
}

// `make bench` must end within 5 minutes; each benchmark gets a hard limit.
const LIMITS_MS = { e2e: 200_000, dsl: 60_000, redis: 60_000 };
const hasRedis = require('node:child_process')
  .spawnSync('sh', ['-c', 'command -v redis-server'], { stdio: 'ignore' }).status === 0;
const benches = [
  { name: 'e2e', file: path.join(outDir, 'benchmarks', 'e2e-bench.js'), args },
  { name: 'dsl', file: path.join(outDir, 'benchmarks', 'dsl-eval.js'), args: [] },
  ...(hasRedis ? [{ name: 'redis', file: path.join(outDir, 'benchmarks', 'redis-fleet.js'), args: [] }] : []),
];
if (!hasRedis) console.error('redis-server is not installed: the Redis fleet benchmark is skipped');

function run(bench) {
  return new Promise((resolve) => {
    if (!fs.existsSync(bench.file)) {
      console.error(`${bench.file} is missing; build first (make build)`);
      resolve({ code: 2, lines: [] });
      return;
    }
    const lines = [];
    const child = spawn(process.execPath, [bench.file, ...bench.args], {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const timer = setTimeout(() => {
      console.error(`${bench.name}: over ${LIMITS_MS[bench.name]} ms; stopping it`);
      child.kill('SIGINT');
      setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
    }, LIMITS_MS[bench.name]);
    let pending = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      pending += chunk;
      const parts = pending.split('\n');
      pending = parts.pop();
      lines.push(...parts);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (pending !== '') lines.push(pending);
      resolve({ code: code ?? 1, lines });
    });
  });
}

function lastBench(lines, test) {
  let found = null;
  for (const line of lines) {
    if (!line.startsWith('BENCH_JSON ')) continue;
    try {
      const value = JSON.parse(line.slice('BENCH_JSON '.length));
      if (test(value)) found = value;
    } catch {
      // A line that is not JSON is reported by the benchmark that printed it.
    }
  }
  return found;
}

async function main() {
  const startedAt = Date.now();
  const results = {};
  let failed = false;
  for (const bench of benches) {
    console.error(`running ${bench.name} benchmark (load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')})`);
    results[bench.name] = await run(bench);
    if (results[bench.name].code !== 0) failed = true;
  }
  const e2e = lastBench(results.e2e.lines, (v) => v.bench === 'e2e') ?? {};
  const dsl = lastBench(results.dsl.lines, (v) => 'eval_ratio_1000_10' in v) ?? {};
  const redis = results.redis === undefined ? {} : lastBench(results.redis.lines, (v) => 'redis_spans_per_sec' in v) ?? {};
  const summary = {
    bench: 'summary',
    spans_per_sec: e2e.spans_per_sec,
    baseline_spans_per_sec: e2e.baseline_spans_per_sec,
    e2e_ratio: e2e.e2e_ratio,
    bytes_per_buffered_span: e2e.bytes_per_buffered_span,
    violation_latency_p99_ms: e2e.violation_latency_p99_ms,
    eval_ratio_1000_10: dsl.eval_ratio_1000_10,
    redis_spans_per_sec: redis.redis_spans_per_sec,
    memory_spans_per_sec: redis.memory_spans_per_sec,
    redis_commands_per_span: redis.redis_commands_per_span,
    goals: e2e.goals ?? {},
    load_avg_throughput: e2e.load_avg_throughput,
    load_avg_latency: e2e.load_avg_latency,
    load_avg_memory: e2e.load_avg_memory,
    load_avg_end: os.loadavg().map((l) => Math.round(l * 100) / 100),
    duration_s: Math.round((Date.now() - startedAt) / 1000),
  };
  console.log(`BENCH_JSON ${JSON.stringify(summary)}`);
  process.exit(failed ? 1 : 0);
}

main();
