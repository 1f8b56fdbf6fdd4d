/**
 * A small instrumented "shop" that emits realistic traces of a payment and
 * data-access flow with the official OpenTelemetry Node SDK, over OTLP/gRPC.
 * Some traces break the bundled example rules on purpose, so that a
 * processor running on its embedded default prints violations.
 *
 *   node dist/demo/payment-demo.js [--endpoint http://127.0.0.1:4317] [--rounds 1]
 */

import { context, trace, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, NodeTracerProvider } from '@opentelemetry/sdk-trace-node';

import type { Span, Tracer } from '@opentelemetry/api';

interface DemoOptions {
  readonly endpoint: string;
  readonly rounds: number;
}

/** One tracer per service, each with its own resource, as separate processes would have. */
interface Services {
  readonly checkout: Tracer;
  readonly payments: Tracer;
  readonly records: Tracer;
  shutdown(): Promise<void>;
}

function createServices(endpoint: string): Services {
  const providers: NodeTracerProvider[] = [];
  const tracerFor = (service: string): Tracer => {
    const provider = new NodeTracerProvider({
      resource: resourceFromAttributes({ 'service.name': service, 'deployment.environment': 'demo' }),
      spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter({ url: endpoint }), {
        scheduledDelayMillis: 200,
      })],
    });
    providers.push(provider);
    return provider.getTracer(`demo-${service}`, '1.0.0');
  };
  return {
    checkout: tracerFor('checkout'),
    payments: tracerFor('payments'),
    records: tracerFor('records'),
    async shutdown() {
      await Promise.all(providers.map((p) => p.shutdown()));
    },
  };
}

/** Runs `body` inside a child span of `parent`, with explicit times so durations are realistic. */
function child(
  tracer: Tracer,
  parent: Span,
  name: string,
  options: { kind?: SpanKind; attributes?: Record<string, string | number | boolean>; startMs: number; durationMs: number; error?: string },
): Span {
  const ctx = trace.setSpan(context.active(), parent);
  const span = tracer.startSpan(name, { kind: options.kind ?? SpanKind.INTERNAL, attributes: options.attributes, startTime: options.startMs }, ctx);
  if (options.error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: options.error });
  span.end(options.startMs + options.durationMs);
  return span;
}

interface Scenario {
  readonly label: string;
  /** The bundled rule this trace breaks, or '' when it breaks none. */
  readonly breaks: string;
  run(s: Services, startMs: number, orderId: string): void;
}

function order(s: Services, startMs: number, orderId: string, total: number, body: (root: Span) => void): void {
  const root = s.checkout.startSpan('checkout.order', {
    kind: SpanKind.SERVER,
    attributes: { 'order.id': orderId, 'order.total': total },
    startTime: startMs,
  });
  body(root);
  root.end(startMs + 900);
}

function payment(s: Services, root: Span, startMs: number, amount: number, steps: (pay: Span) => void): void {
  const ctx = trace.setSpan(context.active(), root);
  const pay = s.payments.startSpan('payment.process', {
    attributes: { 'payment.amount': amount, 'payment.currency': 'EUR', 'customer.tier': amount > 1000 ? 'gold' : 'standard' },
    startTime: startMs + 10,
  }, ctx);
  steps(pay);
  pay.end(startMs + 800);
}

const SCENARIOS: readonly Scenario[] = [
  {
    label: 'small payment',
    breaks: '',
    run: (s, t, id) => order(s, t, id, 42.5, (root) => payment(s, root, t, 42.5, (pay) => {
      child(s.payments, pay, 'payment.charge_card', { kind: SpanKind.CLIENT, attributes: { 'card.brand': 'visa' }, startMs: t + 20, durationMs: 120 });
    })),
  },
  {
    label: 'high-value payment with fraud check',
    breaks: '',
    run: (s, t, id) => order(s, t, id, 2400, (root) => payment(s, root, t, 2400, (pay) => {
      child(s.payments, pay, 'payment.fraud_check', { attributes: { 'fraud.score': 0.12 }, startMs: t + 20, durationMs: 60 });
      child(s.payments, pay, 'payment.charge_card', { kind: SpanKind.CLIENT, attributes: { 'card.brand': 'amex' }, startMs: t + 90, durationMs: 150 });
    })),
  },
  {
    label: 'high-value payment without fraud check',
    breaks: 'high-value payments need a fraud check',
    run: (s, t, id) => order(s, t, id, 5200, (root) => payment(s, root, t, 5200, (pay) => {
      child(s.payments, pay, 'payment.charge_card', { kind: SpanKind.CLIENT, attributes: { 'card.brand': 'visa' }, startMs: t + 20, durationMs: 140 });
    })),
  },
  {
    label: 'declined card, refunded',
    breaks: '',
    run: (s, t, id) => order(s, t, id, 80, (root) => payment(s, root, t, 80, (pay) => {
      child(s.payments, pay, 'payment.charge_card', { kind: SpanKind.CLIENT, attributes: { 'card.brand': 'mastercard' }, startMs: t + 20, durationMs: 90, error: 'card declined' });
      child(s.payments, pay, 'payment.refund', { startMs: t + 120, durationMs: 30 });
    })),
  },
  {
    label: 'declined card, left without refund',
    breaks: 'declined charges are refunded',
    run: (s, t, id) => order(s, t, id, 310, (root) => payment(s, root, t, 310, (pay) => {
      child(s.payments, pay, 'payment.charge_card', { kind: SpanKind.CLIENT, attributes: { 'card.brand': 'visa' }, startMs: t + 20, durationMs: 95, error: 'card declined' });
    })),
  },
  {
    label: 'slow card charge',
    breaks: 'card charges finish within 2s',
    run: (s, t, id) => order(s, t, id, 64, (root) => payment(s, root, t, 64, (pay) => {
      child(s.payments, pay, 'payment.charge_card', { kind: SpanKind.CLIENT, attributes: { 'card.brand': 'visa' }, startMs: t + 20, durationMs: 3400 });
    })),
  },
  {
    label: 'patient record read, audited',
    breaks: '',
    run: (s, t, id) => recordRead(s, t, id, true),
  },
  {
    label: 'patient record read, not audited',
    breaks: 'PHI access is always audited',
    run: (s, t, id) => recordRead(s, t, id, false),
  },
];

function recordRead(s: Services, t: number, requestId: string, audited: boolean): void {
  const root = s.records.startSpan('patient.record.read', {
    kind: SpanKind.SERVER,
    attributes: { 'patient.id': `p-${requestId}`, 'data.contains_phi': true, 'user.role': 'nurse' },
    startTime: t,
  });
  child(s.records, root, 'db.query', {
    kind: SpanKind.CLIENT,
    attributes: { 'db.system': 'postgresql', 'db.statement': 'SELECT * FROM patients WHERE id = $1' },
    startMs: t + 5,
    durationMs: 12,
  });
  if (audited) child(s.records, root, 'audit.log', { attributes: { 'audit.actor': 'nurse-17' }, startMs: t + 20, durationMs: 3 });
  root.end(t + 40);
}

function parseArgs(argv: string[]): DemoOptions {
  let endpoint = 'http://127.0.0.1:4317';
  let rounds = 1;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--endpoint') endpoint = argv[++i] ?? endpoint;
    else if (argv[i] === '--rounds') rounds = Math.max(1, Number(argv[++i] ?? '1') || 1);
    else throw new Error(`unknown argument "${argv[i]}" (use --endpoint URL, --rounds N)`);
  }
  return { endpoint, rounds };
}

export async function runDemo(options: DemoOptions, out: NodeJS.WritableStream = process.stdout): Promise<void> {
  const services = createServices(options.endpoint);
  const now = Date.now();
  let n = 0;
  for (let round = 0; round < options.rounds; round++) {
    for (const scenario of SCENARIOS) {
      const orderId = `ord-${String(++n).padStart(4, '0')}`;
      scenario.run(services, now - 5000 + n, orderId);
      if (round === 0) {
        const expect = scenario.breaks === '' ? 'no violation' : `breaks "${scenario.breaks}"`;
        out.write(`sent  ${scenario.label.padEnd(40)} ${expect}\n`);
      }
    }
  }
  await services.shutdown();
  out.write(`sent ${n} traces to ${options.endpoint}; violations appear once each trace completes\n`);
}

if (require.main === module) {
  runDemo(parseArgs(process.argv.slice(2))).catch((err: unknown) => {
    process.stderr.write(`demo: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
