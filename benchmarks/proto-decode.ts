/**
 * Benchmark of the selective OTLP decoder on realistic 512-span requests,
 * against two baselines measured in the same run: a walk that visits every
 * field of the same bytes once and builds nothing (the floor for any
 * decoder), and a full protobufjs reflection decode (what a generic decoder
 * costs). Also measured: OTLP/JSON to protobuf on the same requests.
 *
 * The `e2e-*` variants decode the end-to-end benchmark's requests
 * (e2e-request-source.ts: every request a fresh copy with new trace IDs, so
 * its bytes are as recently written as a received request's and the trace
 * ID cache sees new traces) with an empty projection and with the
 * projection of the end-to-end benchmark's 50 rules; only the decode is
 * timed, against the walk over the same requests.
 *
 * Each variant runs in a fresh process, and the variants alternate over the
 * repetitions, because several codecs in one process slow each other down
 * through shared inline caches (PERF-NOTES.md, microbenchmark caveat).
 *
 * Usage: node dist/benchmarks/proto-decode.js [--reps N] [--ms MS]
 * Prints one `BENCH_JSON {...}` line.
 */

import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

import protobuf from 'protobufjs';

import { parseRuleFile } from '../dsl/rule-file';
import { createRuleSet } from '../dsl/rule-set';
import { EMPTY_PROJECTION } from '../dsl/trace-model';
import { BUNDLED_RULES_DIR } from '../processor/paths';
import { decodeTraceRequest } from '../proto/decode-request';
import { otlpJsonToProtobuf, protobufToOtlpJson } from '../proto/otlp-json';
import { createRequestSource } from './e2e-request-source';
import { createBenchRulesYaml } from './e2e-rules';
import { loadAverage } from './e2e-stats';
import { createWorkload } from './otlp-workload';

import type { CompiledRule } from '../dsl/rule';
import type { Projection } from '../dsl/trace-model';

const VARIANTS = ['decode', 'walk', 'full', 'json', 'e2e-walk', 'e2e-empty', 'e2e-rules'] as const;
type Variant = (typeof VARIANTS)[number] | 'retain';

/** Spans kept alive for the memory figure (the e2e goal counts 200000 buffered spans). */
const RETAINED_SPANS = 200_000;
/** Rules of the end-to-end benchmark, bundled ones included (its `--rules` default). */
const E2E_RULES = 50;
/** Templates of the end-to-end benchmark's request source. */
const E2E_TEMPLATES = 16;

const REPO_ROOT = path.resolve(__dirname, '..', '..');

const PROJECTION: Projection = {
  spanAttributes: new Set(['http.route', 'payment.amount']),
  resourceAttributes: new Set(['service.name']),
  spanNames: null,
};

interface VariantResult {
  readonly variant: Variant;
  readonly spansPerSec: number;
  /** For 'retain': heap plus external bytes per decoded span kept alive. */
  readonly bytesPerSpan?: number;
}

/**
 * Decodes and keeps RETAINED_SPANS records (as the trace buffer would) and
 * measures the heap and external growth after a forced GC, per span. Needs
 * --expose-gc.
 */
function measureRetained(): VariantResult {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with --expose-gc');
  const workload = createWorkload({ seed: 7, requests: 24 });
  const templates = workload.requests;
  gc();
  const before = process.memoryUsage();
  const kept: unknown[] = [];
  let spans = 0;
  for (let i = 0; spans < RETAINED_SPANS; i++) {
    // A fresh copy, as each request arrives in its own buffer; it is
    // forwarded and dropped, and only the records stay.
    const batch = decodeTraceRequest(Buffer.from(templates[i % templates.length]), PROJECTION);
    kept.push(batch.spans, batch.traceIds);
    spans += batch.spans.length;
  }
  gc();
  gc();
  const after = process.memoryUsage();
  const grown = after.heapUsed + after.external - (before.heapUsed + before.external);
  if (kept.length === 0) throw new Error('nothing kept');
  return { variant: 'retain', spansPerSec: 0, bytesPerSpan: grown / spans };
}

function argValue(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
}

// Message types of the trace schema, by index, with the child type of each
// message field (field number -> type index); other fields are scalars,
// strings or bytes. Order: request, ResourceSpans, Resource, ScopeSpans,
// InstrumentationScope, Span, Event, Link, Status, KeyValue, AnyValue,
// ArrayValue, KeyValueList, EntityRef.
const CHILDREN: ReadonlyArray<Readonly<Record<number, number>>> = [
  { 1: 1 },
  { 1: 2, 2: 3 },
  { 1: 9, 3: 13 },
  { 1: 4, 2: 5 },
  { 3: 9 },
  { 9: 9, 11: 6, 13: 7, 15: 8 },
  { 3: 9 },
  { 4: 9 },
  {},
  { 2: 10 },
  { 5: 11, 6: 12 },
  { 1: 10 },
  { 1: 9 },
  {},
];

/** Visits every field once, descending into messages, creating nothing; returns the fields seen. */
function walk(buf: Uint8Array, start: number, end: number, type: number): number {
  const children = CHILDREN[type];
  let p = start;
  let fields = 0;
  while (p < end) {
    let key = 0;
    let shift = 0;
    let b: number;
    do {
      b = buf[p++];
      key |= (b & 0x7f) << shift;
      shift += 7;
    } while (b >= 0x80);
    fields++;
    switch (key & 7) {
      case 0:
        while (buf[p++] >= 0x80);
        break;
      case 1:
        p += 8;
        break;
      case 5:
        p += 4;
        break;
      case 2: {
        let len = 0;
        let scale = 1;
        do {
          b = buf[p++];
          len += (b & 0x7f) * scale;
          scale *= 0x80;
        } while (b >= 0x80);
        const child = children[key >>> 3];
        if (child !== undefined) fields += walk(buf, p, p + len, child);
        p += len;
        break;
      }
      default:
        throw new Error(`wire type ${key & 7}`);
    }
  }
  return fields;
}

/**
 * What the end-to-end benchmark's rules read: the bundled rules plus
 * generated ones up to E2E_RULES, as e2e-bench.ts loads them.
 */
function createE2eProjection(): Projection {
  const rules: CompiledRule[] = [];
  for (const name of fs.readdirSync(BUNDLED_RULES_DIR).filter((n) => /\.ya?ml$/.test(n)).sort()) {
    const file = path.join(BUNDLED_RULES_DIR, name);
    rules.push(...parseRuleFile(fs.readFileSync(file, 'utf8'), file).rules);
  }
  const generated = createBenchRulesYaml(Math.max(0, E2E_RULES - rules.length));
  rules.push(...parseRuleFile(generated, 'generated').rules);
  return createRuleSet(rules).projection;
}

/** Times only the decode (or walk) of each fresh request of the end-to-end source. */
function runE2eVariant(variant: Variant, measureMs: number): VariantResult {
  const source = createRequestSource(E2E_TEMPLATES);
  const spansPerRequest = source.spansPerRequest;
  let step: (bytes: Buffer) => number;
  if (variant === 'e2e-walk') {
    step = (bytes) => (walk(bytes, 0, bytes.length, 0) > 0 ? spansPerRequest : 0);
  } else {
    const projection = variant === 'e2e-rules' ? createE2eProjection() : EMPTY_PROJECTION;
    step = (bytes) => decodeTraceRequest(bytes, projection).spans.length;
  }
  const warmUntil = Date.now() + Math.min(500, measureMs / 2);
  while (Date.now() < warmUntil) step(source.next().bytes);
  let spans = 0;
  let busyNs = 0n;
  for (const stopAt = Date.now() + measureMs; Date.now() < stopAt; ) {
    const bytes = source.next().bytes;
    const started = process.hrtime.bigint();
    const n = step(bytes);
    busyNs += process.hrtime.bigint() - started;
    if (n !== spansPerRequest) {
      throw new Error(`${variant}: ${n} spans, expected ${spansPerRequest}`);
    }
    spans += n;
  }
  return { variant, spansPerSec: (spans * 1e9) / Number(busyNs) };
}

function runVariant(variant: Variant, measureMs: number): VariantResult {
  if (variant === 'retain') return measureRetained();
  if (variant.startsWith('e2e-')) return runE2eVariant(variant, measureMs);
  const workload = createWorkload({ seed: 7, requests: 24 });
  const requests = workload.requests;
  let step: (i: number) => number;
  if (variant === 'decode') {
    step = (i) => decodeTraceRequest(requests[i], PROJECTION).spans.length;
  } else if (variant === 'walk') {
    step = (i) => (walk(requests[i], 0, requests[i].length, 0) > 0 ? 512 : 0);
  } else if (variant === 'full') {
    const root = protobuf.loadSync(path.join(REPO_ROOT, 'proto', 'otlp', 'trace-service.proto'));
    const type = root.lookupType(
      'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest',
    );
    type Decoded = { resourceSpans: Array<{ scopeSpans: Array<{ spans: unknown[] }> }> };
    step = (i) => {
      const message = type.decode(requests[i]) as unknown as Decoded;
      let n = 0;
      for (const rs of message.resourceSpans) for (const ss of rs.scopeSpans) n += ss.spans.length;
      return n;
    };
  } else {
    const texts = requests.map((r) => Buffer.from(protobufToOtlpJson(r)));
    step = (i) => (otlpJsonToProtobuf(texts[i]).length > 0 ? 512 : 0);
  }
  const spansPerRequest = workload.spans / requests.length;
  // Warm up so that the optimizing compiler has seen every path.
  const warmUntil = Date.now() + Math.min(500, measureMs / 2);
  for (let i = 0; Date.now() < warmUntil; i = (i + 1) % requests.length) step(i);
  let spans = 0;
  const started = process.hrtime.bigint();
  const stopAt = started + BigInt(measureMs) * 1_000_000n;
  let now = started;
  for (let i = 0; now < stopAt; i = (i + 1) % requests.length) {
    const n = step(i);
    if (n !== spansPerRequest) {
      throw new Error(`${variant}: ${n} spans, expected ${spansPerRequest}`);
    }
    spans += n;
    if ((i & 3) === 0) now = process.hrtime.bigint();
  }
  now = process.hrtime.bigint();
  return { variant, spansPerSec: (spans * 1e9) / Number(now - started) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function main(): void {
  const childVariant = process.argv.indexOf('--variant');
  const measureMs = argValue('--ms', 1500);
  if (childVariant !== -1) {
    const result = runVariant(process.argv[childVariant + 1] as Variant, measureMs);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return;
  }
  const reps = argValue('--reps', 3);
  const loadStart = loadAverage();
  const samples = new Map<Variant, number[]>(VARIANTS.map((v) => [v, []]));
  const runChild = (variant: Variant): VariantResult => {
    const args = ['--expose-gc', __filename, '--variant', variant, '--ms', String(measureMs)];
    const child = spawnSync(process.execPath, args, { encoding: 'utf8' });
    if (child.status !== 0) throw new Error(`${variant} failed: ${child.stderr}`);
    return JSON.parse(child.stdout.trim().split('\n').pop() as string) as VariantResult;
  };
  for (let rep = 0; rep < reps; rep++) {
    for (const variant of VARIANTS) {
      const result = runChild(variant);
      (samples.get(variant) as number[]).push(result.spansPerSec);
      const rate = Math.round(result.spansPerSec);
      process.stderr.write(`rep ${rep + 1} ${variant}: ${rate} spans/s\n`);
    }
  }
  const retained = runChild('retain').bytesPerSpan as number;
  // Ratios per repetition (neighbouring runs), then the median: the machine
  // is shared, and its speed drifts more between repetitions than within one.
  const ratio = (a: Variant, b: Variant): number =>
    median((samples.get(a) as number[]).map((x, i) => x / (samples.get(b) as number[])[i]));
  const workload = createWorkload({ seed: 7, requests: 24 });
  const wireBytes = workload.requests.reduce((n, r) => n + r.length, 0);
  const decode = median(samples.get('decode') as number[]);
  const walkRate = median(samples.get('walk') as number[]);
  const full = median(samples.get('full') as number[]);
  const json = median(samples.get('json') as number[]);
  const usPerSpan = (v: Variant): number =>
    Number((1e6 / median(samples.get(v) as number[])).toFixed(3));
  const e2eProjection = createE2eProjection();
  const summary = {
    decode_spans_per_sec: Math.round(decode),
    walk_spans_per_sec: Math.round(walkRate),
    full_decode_spans_per_sec: Math.round(full),
    json_to_protobuf_spans_per_sec: Math.round(json),
    decode_us_per_span: Number((1e6 / decode).toFixed(3)),
    decode_vs_walk: Number(ratio('decode', 'walk').toFixed(3)),
    decode_vs_full: Number(ratio('decode', 'full').toFixed(3)),
    json_vs_decode: Number(ratio('json', 'decode').toFixed(3)),
    retained_bytes_per_span: Math.round(retained),
    wire_bytes_per_span: Math.round(wireBytes / workload.spans),
    spans_per_request: workload.spans / workload.requests.length,
    projection_keys: PROJECTION.spanAttributes.size + PROJECTION.resourceAttributes.size,
    e2e_walk_us_per_span: usPerSpan('e2e-walk'),
    e2e_empty_us_per_span: usPerSpan('e2e-empty'),
    e2e_rules_us_per_span: usPerSpan('e2e-rules'),
    e2e_empty_vs_walk: Number(ratio('e2e-empty', 'e2e-walk').toFixed(3)),
    e2e_rules_vs_walk: Number(ratio('e2e-rules', 'e2e-walk').toFixed(3)),
    e2e_rules_projection_keys:
      e2eProjection.spanAttributes.size + e2eProjection.resourceAttributes.size,
    e2e_rules_span_names: e2eProjection.spanNames === null ? -1 : e2eProjection.spanNames.size,
    load_average_start: loadStart,
    load_average_end: loadAverage(),
    repetitions: reps,
  };
  process.stdout.write(`BENCH_JSON ${JSON.stringify(summary)}\n`);
}

main();
