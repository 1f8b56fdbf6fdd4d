/**
 * Wires the processor from a validated config: rules, exporter, pipeline,
 * receivers and the admin listener; starts them in order and stops them in
 * reverse (PRODUCT.md section 1 and 8, `shutdown_timeout`). With
 * `buffer.type: redis` it also joins the fleet on the shared buffer
 * (PRODUCT.md section 9).
 */

import { randomBytes } from 'node:crypto';

import { Registry, collectDefaultMetrics } from 'prom-client';

import { attachAdminApi } from './admin/admin-api';
import { createAdminServer } from './admin/admin-server';
import { readAdminToken } from './admin/admin-token';
import { ConsoleWriter } from './emit/console-writer';
import { BetraceError } from './errors';
import { createOtlpExporter } from './exporter/otlp-exporter';
import { createFleet } from './fleet/fleet';
import { PRODUCT_VERSION } from './paths';
import { Pipeline } from './pipeline';
import { createPipelineMetrics } from './pipeline-metrics';
import { createReceiverMetrics } from './receiver/metrics';
import { createGrpcReceiver } from './receiver/otlp-grpc';
import { LOOP_GUARD_HEADER } from './receiver/loop-guard';
import { createHttpReceiver } from './receiver/otlp-http';
import { loadRuleSet } from './rules/rule-loader';
import { createKeyProviderFromConfig } from './signing/key-provider-from-config';
import { isKeyFileProvider, startKeyRingReload } from './signing/key-ring-reload';
import { createSpanSigner } from './signing/signer';

import type { EventEmitter } from 'node:events';

import type { Config } from '../config/types';
import type { AdminApi } from './admin/admin-api';
import type { AdminServer } from './admin/admin-server';
import type { ExportSink } from './exporter/types';
import type { Fleet, FleetOptions } from './fleet/fleet';
import type { Logger } from './log';
import type { Receiver } from './receiver/ingest';

export interface ServiceDeps {
  readonly logger: Logger;
  /** Where the console exporter prints; stdout by default. */
  readonly consoleOut?: NodeJS.WritableStream;
  /** Where SIGHUP (reload the rules) comes from; the process by default. */
  readonly signals?: EventEmitter;
  /** Quiet time before a change to a watched rule or key ring file reloads, in ms (default 200). */
  readonly rulesWatchDebounceMs?: number;
  /** With `buffer.type: redis`: lease, rule heartbeat and instance name (defaults suit production). */
  readonly fleet?: FleetOptions;
}

export interface Service {
  readonly config: Config;
  readonly pipeline: Pipeline;
  readonly registry: Registry;
  readonly receivers: readonly Receiver[];
  readonly admin: AdminServer;
  readonly exporter: ExportSink | null;
  /** The rule manager (reloads, rules API) and the violations store. */
  readonly rules: AdminApi['rules'];
  readonly violations: AdminApi['violations'];
  /** The fleet membership with `buffer.type: redis`; null with the memory buffer. */
  readonly fleet: Fleet | null;
  /** Bound endpoints, by name: `grpc`, `http`, `admin`. */
  endpoints(): Record<string, string>;
  /** Stops receiving, evaluates and flushes what is buffered, then stops the rest. */
  shutdown(): Promise<void>;
}

/** Rules that do not compile stop startup; the error carries the formatted diagnostics. */
export class RulesDoNotCompileError extends BetraceError {
  constructor(report: string) {
    super('ERR_PROCESSOR_RULES_DO_NOT_COMPILE', `rules do not compile:\n${report}`);
  }
}

/** Starts the processor; with `buffer.type: redis` its fleet membership is closed again if anything fails. */
export async function startService(config: Config, deps: ServiceDeps): Promise<Service> {
  const registry = new Registry();
  const fleet = config.buffer.type === 'redis' ? createFleet(config.buffer, registry, deps.logger, deps.fleet) : null;
  try {
    return await startComponents(config, deps, registry, fleet);
  } catch (err) {
    // An open Redis connection would keep the process alive after a failed start.
    await fleet?.close();
    throw err;
  }
}

async function startComponents(config: Config, deps: ServiceDeps, registry: Registry, fleet: Fleet | null): Promise<Service> {
  const logger = deps.logger;
  const loaded = fleet === null ? await loadRuleSet(config.rules) : await fleet.loadRules(config.rules);
  if (loaded.ruleSet === null) throw new RulesDoNotCompileError(loaded.report);
  if (loaded.report !== '') logger.warn({ diagnostics: loaded.diagnostics.length }, `rule warnings\n${loaded.report}`);
  const ruleSet = loaded.ruleSet;
  const adminToken = readAdminToken(config.admin);

  collectDefaultMetrics({ register: registry, prefix: 'betrace_' });
  // These gauges end in _total, which Prometheus naming reserves for counters.
  for (const name of ['active_handles_total', 'active_requests_total', 'active_resources_total']) {
    registry.removeSingleMetric(`betrace_nodejs_${name}`);
  }
  // Sent with every export; a receiver that gets it back knows the endpoint loops (loop-guard.ts).
  const processorId = randomBytes(8).toString('hex');
  const exporter = config.exporters.otlp.endpoint === ''
    ? null
    : createOtlpExporter(
      { ...config.exporters.otlp, headers: { ...config.exporters.otlp.headers, [LOOP_GUARD_HEADER]: processorId } },
      { logger, registry },
    );

  const keyProvider = createKeyProviderFromConfig(config.signing, logger);
  const signer = keyProvider === null ? undefined : createSpanSigner(keyProvider);

  let pipeline: Pipeline | undefined;
  const metrics = createPipelineMetrics(registry, () => pipeline?.stats() ?? { traces: 0, spans: 0, records: 0, bytes: 0 }, PRODUCT_VERSION);
  metrics.rulesLoaded.set(ruleSet.rules.length);
  metrics.ruleReloads.inc({ result: 'success' });
  let adminApi: AdminApi | undefined;
  const pipelineFleet = fleet?.forPipeline(() => adminApi?.rules.catalog ?? loaded.catalog!);
  pipeline = new Pipeline({ buffer: config.buffer, ruleSet, exporter, metrics, logger, signer, fleet: pipelineFleet });
  if (config.exporters.console.enabled) {
    const writer = new ConsoleWriter(deps.consoleOut);
    pipeline.onEmitted((spans) => writer.write(spans));
  }

  const receiverMetrics = createReceiverMetrics(registry);
  const receivers: Receiver[] = [];
  if (config.receivers.grpc !== null) {
    receivers.push(createGrpcReceiver(config.receivers.grpc, pipeline, { logger, metrics: receiverMetrics, processorId }));
  }
  if (config.receivers.http !== null) {
    receivers.push(createHttpReceiver(config.receivers.http, pipeline, { logger, metrics: receiverMetrics, processorId }));
  }
  let listening = false;
  const readiness = (): string[] => {
    const reasons: string[] = [];
    if (!listening) reasons.push('receivers not listening');
    if (exporter?.isFull() === true) reasons.push('exporter queue full');
    if (fleet !== null) reasons.push(...fleet.readiness());
    return reasons;
  };
  const admin = createAdminServer({ endpoint: config.admin.endpoint, registry, readiness, logger, token: adminToken });
  adminApi = attachAdminApi({
    app: admin.app,
    config,
    catalog: loaded.catalog!,
    apiFileDigest: loaded.apiFileDigest,
    pipeline,
    metrics,
    logger,
    signals: deps.signals,
    watchDebounceMs: deps.rulesWatchDebounceMs,
  });

  const rules = adminApi.rules;
  const started: Array<{ close(): Promise<void> }> = [];
  // Which config key a listener comes from, so a port in use names it.
  let starting = '';
  try {
    if (fleet !== null) await fleet.startRuleSync(rules);
    starting = `admin.endpoint ${config.admin.endpoint}: `;
    await admin.start();
    started.push(admin);
    for (const receiver of receivers) {
      const protocol = receiver === receivers[0] && config.receivers.grpc !== null ? 'grpc' : 'http';
      starting = `receivers.otlp.protocols.${protocol}.endpoint ${receiver.endpoint}: `;
      await receiver.start();
      started.push({ close: () => receiver.shutdown(Date.now()) });
    }
  } catch (err) {
    for (const s of started.reverse()) await s.close().catch(() => undefined);
    throw new BetraceError('ERR_PROCESSOR_STARTUP', `cannot start: ${starting}${(err as Error).message}`, { cause: err });
  }
  pipeline.start();
  adminApi.start();
  const keyRingReload = isKeyFileProvider(keyProvider)
    ? startKeyRingReload(keyProvider, { logger, signals: deps.signals, debounceMs: deps.rulesWatchDebounceMs })
    : null;
  listening = true;
  const active = pipeline;
  const api = adminApi;
  logger.info(
    {
      rules: ruleSet.rules.length,
      enabled: ruleSet.enabled.length,
      files: loaded.files.length,
      receivers: receivers.map((r) => r.endpoint),
      exporter: exporter === null ? 'console' : config.exporters.otlp.endpoint,
    },
    'betrace started',
  );

  let stopping: Promise<void> | null = null;
  return {
    config,
    pipeline: active,
    registry,
    receivers,
    admin,
    exporter,
    rules,
    violations: api.violations,
    fleet,
    endpoints() {
      const out: Record<string, string> = { admin: admin.endpoint };
      if (config.receivers.grpc !== null) out.grpc = receivers[0].endpoint;
      if (config.receivers.http !== null) out.http = receivers[receivers.length - 1].endpoint;
      return out;
    },
    shutdown() {
      stopping ??= (async () => {
        const deadline = Date.now() + config.shutdownTimeoutMs;
        logger.info({ traces: active.stats().traces }, 'shutting down');
        await api.close();
        keyRingReload?.close();
        active.stopIntake();
        listening = false;
        await Promise.all(receivers.map((r) => r.shutdown(deadline)));
        await active.flush(deadline);
        if (exporter !== null) await exporter.shutdown(deadline);
        await fleet?.close();
        await admin.close();
        logger.info({}, 'stopped');
      })();
      return stopping;
    },
  };
}
