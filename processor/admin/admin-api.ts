/**
 * Wires what the admin listener serves beyond metrics and health: the rule
 * manager (reloads on file changes and SIGHUP, API changes with their
 * evidence spans), the rules API and the violations store and API.
 */

import { RuleManager } from '../rules/rule-manager';
import { createRuleWatcher } from '../rules/rule-watcher';
import { installSighupReload } from '../rules/sighup-reload';
import { ViolationStore } from '../violations/violation-store';
import { buildRuleChangeEvidence } from './rule-change-evidence';
import { registerRulesApi } from './rules-api';
import { registerViolationsApi } from './violations-api';

import type { EventEmitter } from 'node:events';

import type { FastifyInstance } from 'fastify';

import type { Config } from '../../config/types';
import type { RuleSet } from '../../dsl/rule-set';
import type { EmittedSpan } from '../emit/emitted-spans';
import type { Logger } from '../log';
import type { EmittedSpansListener } from '../pipeline';
import type { PipelineMetrics } from '../pipeline-metrics';
import type { RuleCatalog } from '../rules/rule-catalog';
import type { RuleWatcher } from '../rules/rule-watcher';

/** What of the pipeline the admin API uses. */
export interface AdminPipeline {
  setRuleSet(set: RuleSet): void;
  onEmitted(listener: EmittedSpansListener): void;
  /** Signs, shows and exports spans the processor writes about itself. */
  emitOwnSpans(spans: readonly EmittedSpan[]): void;
}

/** What attachAdminApi needs from the service. */
export interface AdminApiOptions {
  readonly app: FastifyInstance;
  readonly config: Config;
  /** The catalog loaded at startup, and the digest of the api file it read. */
  readonly catalog: RuleCatalog;
  readonly apiFileDigest: string;
  readonly pipeline: AdminPipeline;
  readonly metrics: PipelineMetrics;
  readonly logger: Logger;
  /** Where SIGHUP comes from; the process by default. */
  readonly signals?: EventEmitter;
  /** Quiet time before a watched change reloads (default DEFAULT_WATCH_DEBOUNCE_MS). */
  readonly watchDebounceMs?: number;
}

/** The admin API's parts, for the service and tests. */
export interface AdminApi {
  readonly rules: RuleManager;
  readonly violations: ViolationStore;
  /** Starts watching the rule files (when `rules.watch`) and SIGHUP. */
  start(): void;
  /** Stops watching and waits for the rule jobs under way; later API changes answer 503. */
  close(): Promise<void>;
}

/** Registers the rules and violations APIs on `app`; call before the app listens. */
export function attachAdminApi(options: AdminApiOptions): AdminApi {
  const { config, pipeline, logger } = options;
  const rules = new RuleManager({
    config: config.rules,
    initial: options.catalog,
    initialApiDigest: options.apiFileDigest,
    apply: (set) => pipeline.setRuleSet(set),
    metrics: options.metrics,
    logger,
    onChange: (change) => pipeline.emitOwnSpans([buildRuleChangeEvidence(change)]),
  });
  const violations = new ViolationStore(config.violations.maxRecords);
  pipeline.onEmitted((spans) => violations.add(spans));
  registerRulesApi(options.app, rules);
  registerViolationsApi(options.app, violations);

  let watcher: RuleWatcher | null = null;
  let removeSighup: (() => void) | null = null;
  return {
    rules,
    violations,
    start() {
      removeSighup = installSighupReload(rules, logger, options.signals);
      if (!config.rules.watch) return;
      watcher = createRuleWatcher({
        patterns: config.rules.files,
        apiFile: options.catalog.apiFile,
        debounceMs: options.watchDebounceMs,
        logger,
        onChange: (paths) => {
          rules.filesChanged(paths).catch((err: unknown) => logger.error({ err }, 'rule reload failed'));
        },
      });
    },
    async close() {
      watcher?.close();
      watcher = null;
      removeSighup?.();
      removeSighup = null;
      await rules.close();
    },
  };
}
