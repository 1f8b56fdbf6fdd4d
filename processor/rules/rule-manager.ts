/**
 * Owns the active rule catalog: reloads it from the rule files (watch,
 * SIGHUP) and changes it through the rules API, one job at a time. A new
 * catalog is swapped in only when it was built completely; the pipeline
 * then starts new traces under its rule set while buffered traces finish
 * under theirs. API changes are written to `rules.api_file` (or, in a
 * fleet, saved to the catalog's shared store, which copies them to that
 * file) before they are acknowledged, and each one is reported once to
 * `onChange` (the rule-change evidence).
 */

import fs from 'node:fs/promises';
import path from 'node:path';

import { AdminError } from '../admin/admin-error';
import { digestText, formatApiRulesFile, writeApiRulesFile } from './api-rules-file';
import { buildRuleCatalog } from './rule-catalog';
import { computeRuleEtag, isIfMatchSatisfied } from './rule-etag';
import { loadRuleSet } from './rule-loader';
import { createSerialQueue } from './serial-queue';

import type { Diagnostic } from '../../dsl/diagnostics';
import type { CompiledRule } from '../../dsl/rule';
import type { RuleSet } from '../../dsl/rule-set';
import type { RulesConfig } from '../../config/types';
import type { Logger } from '../log';
import type { PipelineMetrics } from '../pipeline-metrics';
import type { ApiRulesState } from './api-rules-file';
import type { RuleCatalog, RuleEntry, RuleSource } from './rule-catalog';
import type { SharedApiRules } from './rule-loader';
import type { ApiRuleStore, StoredApiRules } from './rule-store';
import type { SerialQueue } from './serial-queue';

/** Times a change is tried again on a fresh copy after another instance changed the shared rules first. */
const SHARED_SAVE_ATTEMPTS = 3;

/** What asked for a reload; it goes into the log line. */
export type ReloadReason = 'watch' | 'sighup' | 'manual';

/** What a reload did. */
export interface ReloadOutcome {
  /** False when some file did not compile; the active rules then stayed. */
  readonly ok: boolean;
  /** True when nothing was reloaded because nothing had changed. */
  readonly skipped: boolean;
  /** The version of the rule set active afterwards. */
  readonly version: number;
  readonly diagnostics: readonly Diagnostic[];
}

/** The compliance outcomes of rule-change evidence (PRODUCT.md 4). */
export type RuleChangeAction = 'rule_created' | 'rule_updated' | 'rule_deleted' | 'rule_enabled' | 'rule_disabled';

/** One change made through the rules API, after it was saved and applied. */
export interface RuleChange {
  readonly action: RuleChangeAction;
  /** The rule after the change; before it, for a deletion. */
  readonly rule: CompiledRule;
  readonly source: RuleSource;
  /** The file that holds the rule (a file rule's override is saved to rules.api_file). */
  readonly file: string;
  /** The rule's ETag after the change; null for a deletion. */
  readonly etag: string | null;
  /** The rule's ETag before the change; null for a creation. */
  readonly previousEtag: string | null;
}

/** What the rule manager works with. */
export interface RuleManagerOptions {
  readonly config: RulesConfig;
  /** The catalog loaded at startup. */
  readonly initial: RuleCatalog;
  /** Digest of the api file's text as loaded at startup. */
  readonly initialApiDigest: string;
  /** Makes a rule set the one new traces start under (Pipeline.setRuleSet). */
  readonly apply: (set: RuleSet) => void;
  readonly metrics: Pick<PipelineMetrics, 'rulesLoaded' | 'ruleReloads'>;
  readonly logger: Logger;
  /** Called once for every change made through the API; must not throw. */
  readonly onChange?: (change: RuleChange) => void;
}

/** Another instance saved the shared rules since this catalog was read. */
class SharedRulesMoved extends Error {}

/** Reloads and API changes of the rule catalog, serialised. */
export class RuleManager {
  private readonly options: RuleManagerOptions;
  private readonly logger: Logger;
  private readonly queue: SerialQueue = createSerialQueue();
  private current: RuleCatalog;
  private apiDigest: string;
  /** A reload queued and not started yet: a later request joins it. */
  private pendingReload: Promise<ReloadOutcome> | null = null;
  private closed = false;

  constructor(options: RuleManagerOptions) {
    this.options = options;
    this.logger = options.logger.child({ component: 'rules' });
    this.current = options.initial;
    this.apiDigest = options.initialApiDigest;
  }

  /** The active catalog. */
  get catalog(): RuleCatalog {
    return this.current;
  }

  /** Whether API changes can be saved (`rules.api_file` is set, or a shared store holds them). */
  get persistent(): boolean {
    return this.current.apiFile !== '' || this.current.apiStore !== undefined;
  }

  /**
   * Reads the shared store again when its version is not the one the active
   * catalog reflects, and applies what changed (another instance's API
   * change). Resolves to true when a new catalog was installed. A store
   * that cannot be read, or rules that do not fit this instance's rule
   * files, leave the active rules in place.
   */
  syncShared(version: number): Promise<boolean> {
    return this.queue.run(async () => {
      const cat = this.current;
      if (this.closed || cat.apiStore === undefined || cat.apiVersion === version) return false;
      return this.refreshShared(cat.apiStore);
    });
  }

  /** Stops taking API changes and waits for the jobs under way. */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue.idle();
  }

  /**
   * Reloads every rule file and the api file. Requests made while a reload
   * waits to start share it; one made while a reload runs queues one more.
   */
  reload(reason: ReloadReason): Promise<ReloadOutcome> {
    if (this.pendingReload !== null) return this.pendingReload;
    const job = this.queue.run(async () => {
      this.pendingReload = null;
      return this.reloadNow(reason);
    });
    this.pendingReload = job;
    return job;
  }

  /**
   * Reacts to changed files (absolute paths) from the watcher. A change of
   * the api file alone whose text is what the processor wrote or last
   * loaded is its own write, and reloads nothing.
   */
  async filesChanged(paths: ReadonlySet<string>): Promise<ReloadOutcome> {
    const apiFile = this.current.apiFile;
    const unchanged = { ok: true, skipped: true, version: this.current.ruleSet.version, diagnostics: [] };
    // With a shared store the api file is only its copy, which the store
    // rewrites on every change; the rules themselves are in the store.
    if (this.current.apiStore !== undefined && this.options.config.apiFile !== '' && paths.size === 1 &&
        paths.has(path.resolve(this.options.config.apiFile))) {
      return unchanged;
    }
    if (apiFile !== '' && paths.size === 1 && paths.has(apiFile)) {
      const text = await fs.readFile(apiFile, 'utf8').catch(() => '');
      if (digestText(text) === this.apiDigest) return unchanged;
    }
    return this.reload('watch');
  }

  /** Adds an API rule. 409 when the id exists. */
  create(rule: CompiledRule): Promise<RuleEntry> {
    return this.mutate(async (cat) => {
      const clash = cat.byId.get(rule.id);
      if (clash !== undefined) {
        throw new AdminError(409, 'ERR_ADMIN_RULE_EXISTS', `a rule with id "${rule.id}" exists already in ${clash.file}`);
      }
      const next = await this.commit(cat, { rules: [...cat.api.rules, rule], overrides: cat.api.overrides });
      const entry = next.byId.get(rule.id)!;
      this.report('rule_created', entry, null);
      return entry;
    });
  }

  /** Replaces an API rule. 404 unknown, 409 file rule, 412 stale If-Match. */
  update(id: string, rule: CompiledRule, ifMatch?: string): Promise<RuleEntry> {
    return this.mutate(async (cat) => {
      const entry = this.apiEntry(cat, id, 'edited');
      assertFresh(entry, ifMatch);
      // A PUT of what the rule already says changes nothing: no write, no evidence.
      if (computeRuleEtag(rule, rule.enabled) === entry.etag) return entry;
      const rules = cat.api.rules.map((r) => (r.id === id ? rule : r));
      const next = await this.commit(cat, { rules, overrides: cat.api.overrides });
      const after = next.byId.get(id)!;
      this.report('rule_updated', after, entry.etag);
      return after;
    });
  }

  /** Deletes an API rule. 404 unknown, 409 file rule, 412 stale If-Match. */
  remove(id: string, ifMatch?: string): Promise<RuleEntry> {
    return this.mutate(async (cat) => {
      const entry = this.apiEntry(cat, id, 'deleted');
      assertFresh(entry, ifMatch);
      await this.commit(cat, { rules: cat.api.rules.filter((r) => r.id !== id), overrides: cat.api.overrides });
      this.report('rule_deleted', entry, entry.etag, true);
      return entry;
    });
  }

  /**
   * Enables or disables any rule. For a file rule the state is saved as an
   * override in the api file (none when it equals the file's own). A rule
   * already in that state is left as it is: `changed` is false.
   */
  setEnabled(id: string, enabled: boolean, ifMatch?: string): Promise<{ entry: RuleEntry; changed: boolean }> {
    return this.mutate(async (cat) => {
      const entry = cat.byId.get(id);
      if (entry === undefined) throw notFound(id);
      assertFresh(entry, ifMatch);
      if (entry.rule.enabled === enabled) return { entry, changed: false };
      let api: ApiRulesState;
      if (entry.source === 'api') {
        api = { rules: cat.api.rules.map((r) => (r.id === id ? { ...r, enabled } : r)), overrides: cat.api.overrides };
      } else {
        const overrides = new Map(cat.api.overrides);
        const written = cat.fileRules.find((r) => r.id === id)!;
        if (written.enabled === enabled) overrides.delete(id);
        else overrides.set(id, enabled);
        api = { rules: cat.api.rules, overrides };
      }
      const next = await this.commit(cat, api);
      const after = next.byId.get(id)!;
      this.report(enabled ? 'rule_enabled' : 'rule_disabled', after, entry.etag);
      return { entry: after, changed: true };
    });
  }

  private mutate<T>(job: (catalog: RuleCatalog) => Promise<T>): Promise<T> {
    if (this.closed) return Promise.reject(shuttingDown());
    return this.queue.run(async () => {
      if (!this.persistent) {
        throw new AdminError(409, 'ERR_ADMIN_NOT_PERSISTENT',
          'rule changes cannot be saved: rules.api_file is not configured (reads, validate and test still work)');
      }
      const store = this.current.apiStore;
      if (store === undefined) return job(this.current);
      if ((this.current.apiVersion ?? -1) < 0 && !(await this.refreshShared(store))) {
        throw new AdminError(500, 'ERR_ADMIN_PERSIST_FAILED',
          `the shared rules in ${store.location} cannot be read yet; nothing was changed`);
      }
      // The checks of a change (exists, ETag) are made again on the rules
      // another instance saved meanwhile.
      for (let attempt = 1; ; attempt++) {
        try {
          return await job(this.current);
        } catch (err) {
          if (!(err instanceof SharedRulesMoved)) throw err;
          if (attempt === SHARED_SAVE_ATTEMPTS || !(await this.refreshShared(store))) {
            throw new AdminError(500, 'ERR_ADMIN_PERSIST_FAILED',
              `the shared rules in ${store.location} kept changing while this change was saved; nothing was changed`);
          }
        }
      }
    });
  }

  /** Loads the shared store and installs what it holds; false when it cannot. */
  private async refreshShared(store: ApiRuleStore): Promise<boolean> {
    const cat = this.current;
    let stored: StoredApiRules;
    try {
      stored = await store.load();
    } catch (err) {
      this.logger.warn({ err, store: store.location }, 'cannot read the shared rules');
      return false;
    }
    const built = buildRuleCatalog(cat.fileRules, stored.state, cat.apiFile, { store, version: stored.version });
    if (built.catalog === null) {
      const first = built.diagnostics.find((d) => d.severity === 'error');
      this.logger.error({ store: store.location, version: stored.version, diagnostic: first?.message, hint: first?.hint },
        'the shared rules do not fit this instance\'s rule files; the active rules stay');
      return false;
    }
    this.install(built.catalog);
    const set = built.catalog.ruleSet;
    this.logger.info({ version: set.version, shared: stored.version, rules: set.rules.length, enabled: set.enabled.length },
      'shared rules applied');
    return true;
  }

  /**
   * Builds the next catalog from the rule files as last compiled and the new
   * API state, saves the api file, then swaps. Nothing changes when either
   * fails.
   */
  private async commit(cat: RuleCatalog, api: ApiRulesState): Promise<RuleCatalog> {
    const store = cat.apiStore;
    const shared = store === undefined ? undefined : { store, version: cat.apiVersion ?? -1 };
    const built = buildRuleCatalog(cat.fileRules, api, cat.apiFile, shared);
    if (built.catalog === null) {
      const first = built.diagnostics.find((d) => d.severity === 'error');
      throw new AdminError(409, 'ERR_ADMIN_RULE_EXISTS', first?.hint ?? first?.message ?? 'the rule clashes with another rule');
    }
    if (store !== undefined) return this.commitShared(store, built.catalog, api, cat.apiVersion ?? -1);
    const text = formatApiRulesFile(api);
    try {
      await writeApiRulesFile(cat.apiFile, text);
    } catch (err) {
      this.logger.error({ err, file: cat.apiFile }, 'cannot write the rules api file');
      throw new AdminError(500, 'ERR_ADMIN_PERSIST_FAILED',
        `cannot write ${cat.apiFile}: ${(err as Error).message}; nothing was changed`, { cause: err });
    }
    this.apiDigest = digestText(text);
    this.install(built.catalog);
    return built.catalog;
  }

  /** Saves to the shared store, then swaps; a store another instance saved to first answers SharedRulesMoved. */
  private async commitShared(store: ApiRuleStore, next: RuleCatalog, api: ApiRulesState, expected: number): Promise<RuleCatalog> {
    let version: number | null;
    try {
      version = await store.save(api, expected);
    } catch (err) {
      this.logger.error({ err, store: store.location }, 'cannot save the shared rules');
      throw new AdminError(500, 'ERR_ADMIN_PERSIST_FAILED',
        `cannot save to ${store.location}: ${(err as Error).message}; nothing was changed`, { cause: err });
    }
    if (version === null) throw new SharedRulesMoved();
    const catalog: RuleCatalog = { ...next, apiVersion: version };
    this.install(catalog);
    return catalog;
  }

  /** The API's rules for a reload: read from the shared store, or as last known when it cannot be read. */
  private async sharedForReload(): Promise<SharedApiRules | undefined> {
    const cat = this.current;
    const store = cat.apiStore;
    if (store === undefined) return undefined;
    try {
      const stored = await store.load();
      return { store, state: stored.state, version: stored.version };
    } catch (err) {
      this.logger.warn({ err, store: store.location }, 'cannot read the shared rules; reloading with the ones last read');
      return { store, state: cat.api, version: cat.apiVersion ?? -1 };
    }
  }

  private async reloadNow(reason: ReloadReason): Promise<ReloadOutcome> {
    const started = Date.now();
    const loaded = await loadRuleSet(this.options.config, await this.sharedForReload());
    const metrics = this.options.metrics;
    if (loaded.catalog === null) {
      metrics.ruleReloads.inc({ result: 'error' });
      const errors = loaded.diagnostics.filter((d) => d.severity === 'error');
      this.logger.error(
        {
          reason,
          version: this.current.ruleSet.version,
          diagnostics: errors.map((d) => ({ file: d.file, line: d.line, column: d.column, code: d.code, message: d.message })),
          report: loaded.report,
        },
        'rule reload failed; the active rules stay',
      );
      return { ok: false, skipped: false, version: this.current.ruleSet.version, diagnostics: loaded.diagnostics };
    }
    if (loaded.diagnostics.length > 0) {
      this.logger.warn({ reason, diagnostics: loaded.diagnostics.length, report: loaded.report }, 'rule warnings');
    }
    this.apiDigest = loaded.apiFileDigest;
    this.install(loaded.catalog);
    const set = loaded.catalog.ruleSet;
    this.logger.info(
      { reason, version: set.version, rules: set.rules.length, enabled: set.enabled.length, durationMs: Date.now() - started },
      'rules reloaded',
    );
    return { ok: true, skipped: false, version: set.version, diagnostics: loaded.diagnostics };
  }

  private install(catalog: RuleCatalog): void {
    this.current = catalog;
    this.options.apply(catalog.ruleSet);
    this.options.metrics.rulesLoaded.set(catalog.ruleSet.rules.length);
    this.options.metrics.ruleReloads.inc({ result: 'success' });
  }

  private apiEntry(cat: RuleCatalog, id: string, verb: string): RuleEntry {
    const entry = cat.byId.get(id);
    if (entry === undefined) throw notFound(id);
    if (entry.source !== 'api') {
      throw new AdminError(409, 'ERR_ADMIN_RULE_FILE_OWNED',
        `rule "${id}" is defined in ${entry.file} and cannot be ${verb} through the API; change that file (enable and disable work through the API)`);
    }
    return entry;
  }

  private report(action: RuleChangeAction, entry: RuleEntry, previousEtag: string | null, deleted = false): void {
    this.logger.info(
      { rule: entry.rule.id, action, version: this.current.ruleSet.version, etag: deleted ? null : entry.etag },
      'rule changed through the api',
    );
    const onChange = this.options.onChange;
    if (onChange === undefined) return;
    const change: RuleChange = {
      action,
      rule: entry.rule,
      source: entry.source,
      file: entry.file,
      etag: deleted ? null : entry.etag,
      previousEtag,
    };
    try {
      onChange(change);
    } catch (err) {
      // The change is saved and applied; a failure to report it must not undo the answer.
      this.logger.error({ err, rule: entry.rule.id, action }, 'cannot report a rule change');
    }
  }
}

function assertFresh(entry: RuleEntry, ifMatch: string | undefined): void {
  if (!isIfMatchSatisfied(ifMatch, entry.etag)) {
    throw new AdminError(412, 'ERR_ADMIN_STALE_ETAG',
      `rule "${entry.rule.id}" has changed: its current ETag is ${entry.etag}, If-Match names ${ifMatch}`);
  }
}

function notFound(id: string): AdminError {
  return new AdminError(404, 'ERR_ADMIN_RULE_NOT_FOUND', `no rule with id "${id}"`);
}

function shuttingDown(): AdminError {
  return new AdminError(503, 'ERR_ADMIN_SHUTTING_DOWN', 'the processor is stopping and takes no more rule changes');
}
