/**
 * Realistic OTLP trace requests for benchmarks (PERF-NOTES.md): a few
 * services of a payment and data-access flow, each request holding many
 * interleaved traces, about ten attributes per span, some events, and
 * resources with the usual SDK attributes. Deterministic from a seed.
 */

import { encodeOtlpJsonValue } from '../proto/otlp-json';

/** What to generate; every field has a default. */
export interface WorkloadOptions {
  /** PRNG seed; the same options give the same bytes. Default 1. */
  readonly seed?: number;
  /** Requests to make. Default 16. */
  readonly requests?: number;
  /** Spans per request. Default 512. */
  readonly spansPerRequest?: number;
  /** Traces per request (each trace lies within one request). Default 50. */
  readonly tracesPerRequest?: number;
  /** Attributes per span. Default 10. */
  readonly attributesPerSpan?: number;
  /** Distinct span names. Default 40. */
  readonly spanNames?: number;
  /** Distinct resources (services). Default 4. */
  readonly resources?: number;
  /** One span in this many carries an event. Default 4. */
  readonly eventEvery?: number;
}

/** The generated requests. */
export interface Workload {
  /** ExportTraceServiceRequest protobuf bytes. */
  readonly requests: Uint8Array[];
  /** Spans over all requests. */
  readonly spans: number;
  /** Distinct trace IDs (32 hex), in order of first appearance. */
  readonly traceIds: string[];
}

const SERVICES = [
  'checkout-gateway',
  'payment-api',
  'fraud-scorer',
  'ledger-db',
  'notification-worker',
  'audit-log',
];
const OPERATIONS = ['GET', 'POST', 'PUT', 'DELETE'];
const ROUTES = [
  '/payments',
  '/payments/{id}',
  '/refunds',
  '/accounts/{id}/balance',
  '/health',
  '/users/{id}',
];
const TABLES = ['payments', 'ledger_entries', 'accounts', 'audit_events', 'fraud_scores'];
const BASE_TIME_NS = 1_767_225_600_000_000_000n;
const SCOPE = { name: '@opentelemetry/instrumentation-http', version: '0.223.1' };
const STATEMENT = 'SELECT id, amount, status FROM payments WHERE account_id = $1 AND created_at > $2';

type Json = Record<string, unknown>;

/** A small fast PRNG (mulberry32): deterministic and good enough for test data. */
function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function text(key: string, value: string): Json {
  return { key, value: { stringValue: value } };
}

function int(key: string, value: number): Json {
  return { key, value: { intValue: String(value) } };
}

/** Generates the requests. */
export function createWorkload(options: WorkloadOptions = {}): Workload {
  const random = createRandom(options.seed ?? 1);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)];
  const hex = (bytes: number): string => {
    let out = '';
    for (let i = 0; i < bytes; i++) out += Math.floor(random() * 256).toString(16).padStart(2, '0');
    return out;
  };
  const requestCount = options.requests ?? 16;
  const spansPerRequest = options.spansPerRequest ?? 512;
  const tracesPerRequest = Math.max(1, Math.min(options.tracesPerRequest ?? 50, spansPerRequest));
  const attributesPerSpan = options.attributesPerSpan ?? 10;
  const nameCount = Math.max(1, options.spanNames ?? 40);
  const resourceCount = Math.max(1, options.resources ?? 4);
  const eventEvery = Math.max(1, options.eventEvery ?? 4);

  const names = Array.from({ length: nameCount }, (_v, i) => {
    if (i % 3 === 0) return `${OPERATIONS[i % OPERATIONS.length]} ${ROUTES[i % ROUTES.length]}`;
    if (i % 3 === 1) return `SELECT ${TABLES[i % TABLES.length]}`;
    return `payment.step_${i}`;
  });
  const resources = Array.from({ length: resourceCount }, (_v, i) => ({
    attributes: [
      text('service.name', SERVICES[i % SERVICES.length] + (i >= SERVICES.length ? `-${i}` : '')),
      text('service.version', `1.${i}.${(i * 7) % 10}`),
      text('service.namespace', 'payments'),
      text('deployment.environment', 'production'),
      text('host.name', `ip-10-0-${i}-${17 + i}.eu-west-1.compute.internal`),
      int('process.pid', 4000 + i * 13),
      text('telemetry.sdk.name', 'opentelemetry'),
      text('telemetry.sdk.language', 'nodejs'),
      text('telemetry.sdk.version', '2.12.1'),
    ],
  }));

  const requests: Uint8Array[] = [];
  const traceIds: string[] = [];
  let spanTotal = 0;
  let spanSeq = 0;
  let clockNs = BASE_TIME_NS;
  for (let r = 0; r < requestCount; r++) {
    const byResource: Json[][] = resources.map(() => []);
    for (let t = 0; t < tracesPerRequest; t++) {
      const traceId = hex(16);
      traceIds.push(traceId);
      const extra = t < spansPerRequest % tracesPerRequest ? 1 : 0;
      const count = Math.floor(spansPerRequest / tracesPerRequest) + extra;
      const ids: string[] = [];
      for (let s = 0; s < count; s++) {
        const spanId = hex(8);
        const startNs = clockNs + BigInt(s * 1_500_000 + Math.floor(random() * 1_000_000));
        const durationNs = BigInt(50_000 + Math.floor(random() * 40_000_000));
        const span = createSpan({
          traceId,
          spanId,
          parentSpanId: s === 0 ? '' : ids[Math.floor(random() * ids.length)],
          name: s === 0 ? names[0] : pick(names),
          startNs,
          endNs: startNs + durationNs,
          attributesPerSpan,
          withEvent: spanSeq++ % eventEvery === 0,
          random,
          hex,
        });
        ids.push(spanId);
        // The entry span belongs to the first service; the rest spread out.
        byResource[s === 0 ? 0 : Math.floor(random() * resourceCount)].push(span);
      }
      clockNs += 3_000_000n;
    }
    spanTotal += spansPerRequest;
    const request = {
      resourceSpans: resources
        .map((resource, i) => ({
          resource,
          scopeSpans: [{ scope: SCOPE, spans: byResource[i] }],
          schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
        }))
        .filter((rs) => rs.scopeSpans[0].spans.length > 0),
    };
    requests.push(encodeOtlpJsonValue(request));
  }
  return { requests, spans: spanTotal, traceIds };
}

interface SpanInput {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  readonly name: string;
  readonly startNs: bigint;
  readonly endNs: bigint;
  readonly attributesPerSpan: number;
  readonly withEvent: boolean;
  readonly random: () => number;
  readonly hex: (bytes: number) => string;
}

function createSpan(input: SpanInput): Json {
  const { random, hex } = input;
  const pool: Json[] = [
    text('http.request.method', OPERATIONS[Math.floor(random() * OPERATIONS.length)]),
    text('http.route', ROUTES[Math.floor(random() * ROUTES.length)]),
    int('http.response.status_code', random() < 0.95 ? 200 : 503),
    text('server.address', 'payment-api.internal'),
    { key: 'payment.amount', value: { doubleValue: Math.round(random() * 500000) / 100 } },
    text('payment.currency', random() < 0.7 ? 'EUR' : 'USD'),
    text('db.system', 'postgresql'),
    text('db.statement', `${STATEMENT} LIMIT ${1 + Math.floor(random() * 100)}`),
    text('user.id', `u-${Math.floor(random() * 100000)}`),
    { key: 'payment.fraud_checked', value: { boolValue: random() < 0.9 } },
    text('request.id', hex(16)),
    int('net.peer.port', 5432),
  ];
  const attributes: Json[] = [];
  for (let i = 0; i < input.attributesPerSpan; i++) {
    const base = pool[i % pool.length];
    attributes.push(i < pool.length ? base : { ...base, key: `${base.key as string}.${i}` });
  }
  const span: Json = {
    traceId: input.traceId,
    spanId: input.spanId,
    parentSpanId: input.parentSpanId,
    flags: 0x101,
    name: input.name,
    kind: input.parentSpanId === '' ? 2 : 1 + Math.floor(random() * 3),
    startTimeUnixNano: String(input.startNs),
    endTimeUnixNano: String(input.endNs),
    attributes,
    status: random() < 0.05 ? { code: 2, message: 'upstream unavailable' } : {},
  };
  if (input.withEvent) {
    span.events = [
      {
        timeUnixNano: String(input.startNs + 1000n),
        name: 'exception',
        attributes: [
          text('exception.type', 'TimeoutError'),
          text('exception.message', 'ledger write timed out after 5000ms'),
        ],
      },
    ];
  }
  return span;
}
