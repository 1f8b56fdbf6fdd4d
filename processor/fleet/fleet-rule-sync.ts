/**
 * Keeps one instance's rules in step with its fleet: a heartbeat every poll
 * interval registers the instance with a digest of its file rules and reads
 * the shared rules' version, so a change made through the rules API on any
 * instance is applied here within one interval. It also tells whether this
 * instance's rule files are the fleet's: the digest most live instances
 * hold (on a tie, the one held longest); an instance that differs says so
 * in the log and is not ready.
 */

import { toFileRulesDigest } from './rule-set-key';

import type { CompiledRule } from '../../dsl/rule';
import type { Logger } from '../log';
import type { RuleCatalog } from '../rules/rule-catalog';
import type { FleetMember, RedisRuleStore } from './redis-rule-store';

/** Default time between heartbeats. */
export const DEFAULT_RULES_POLL_MS = 1000;
/** Heartbeats an instance may miss before the others forget it. */
const MISSED_HEARTBEATS = 3;
/** Never forget an instance sooner, so that clocks a little apart do not drop live instances. */
const MIN_FORGET_MS = 5000;
/** Heartbeats to wait before reading a version again that could not be applied (bad data in Redis, a clash). */
const RETRY_AFTER_BEATS = 10;

/** What of the rule manager the sync uses. */
export interface SyncedRules {
  readonly catalog: RuleCatalog;
  syncShared(version: number): Promise<boolean>;
}

/** What the sync works with. */
export interface FleetRuleSyncOptions {
  readonly store: RedisRuleStore;
  readonly rules: SyncedRules;
  readonly instanceId: string;
  readonly startedMs: number;
  /** Default DEFAULT_RULES_POLL_MS. */
  readonly pollMs?: number;
  readonly isConnected: () => boolean;
  readonly logger: Logger;
  readonly now?: () => number;
}

/** The heartbeat loop and what it learnt. */
export class FleetRuleSync {
  private readonly options: FleetRuleSyncOptions;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly pollMs: number;
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private digestOf: { rules: readonly CompiledRule[]; digest: string } | null = null;
  /** The fleet's digest when it differs from this instance's; null when they agree. */
  private mismatch: { mine: string; fleet: string } | null = null;
  /** A shared version that could not be applied, and the beats left before trying it again. */
  private refused: { version: number; beatsLeft: number } | null = null;
  private failing = false;

  constructor(options: FleetRuleSyncOptions) {
    this.options = options;
    this.logger = options.logger.child({ component: 'fleet/rules' });
    this.now = options.now ?? Date.now;
    this.pollMs = options.pollMs ?? DEFAULT_RULES_POLL_MS;
  }

  /** Starts polling; the first heartbeat goes out at once. */
  async start(): Promise<void> {
    await this.poll();
    this.timer = setInterval(() => void this.poll(), this.pollMs);
    this.timer.unref();
  }

  /** Why the instance is not ready as far as the shared rules go; empty when it is. */
  reasons(): string[] {
    const reasons: string[] = [];
    if ((this.options.rules.catalog.apiVersion ?? -1) < 0) reasons.push('shared rules not read from redis yet');
    if (this.mismatch !== null) {
      reasons.push(`file rules differ from the fleet's (this instance ${this.mismatch.mine}, fleet ${this.mismatch.fleet})`);
    }
    return reasons;
  }

  /** One heartbeat; resolves once what it found is applied. Heartbeats never overlap. */
  poll(): Promise<void> {
    this.polling ??= this.beat().finally(() => {
      this.polling = null;
    });
    return this.polling;
  }

  /** Stops polling and takes this instance off the registry. */
  async close(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.polling;
    if (!this.options.isConnected()) return;
    await this.options.store.leave(this.options.instanceId).catch(() => undefined);
  }

  private async beat(): Promise<void> {
    if (!this.options.isConnected()) return;
    const now = this.now();
    const digest = this.fileDigest();
    try {
      const reply = await this.options.store.heartbeat(
        { instanceId: this.options.instanceId, fileRulesDigest: digest, heartbeatMs: now, startedMs: this.options.startedMs },
        now - Math.max(MISSED_HEARTBEATS * this.pollMs, MIN_FORGET_MS),
      );
      if (reply.version !== this.options.rules.catalog.apiVersion) await this.sync(reply.version);
      this.compare(digest, chooseFleetDigest(reply.members, digest));
      if (this.failing) this.logger.info({}, 'fleet heartbeat works again');
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.logger.warn({ err }, 'fleet heartbeat failed');
      this.failing = true;
    }
  }

  private async sync(version: number): Promise<void> {
    if (this.refused?.version === version && --this.refused.beatsLeft > 0) return;
    const applied = await this.options.rules.syncShared(version);
    this.refused = applied || (this.options.rules.catalog.apiVersion ?? -1) === version ? null : { version, beatsLeft: RETRY_AFTER_BEATS };
  }

  private fileDigest(): string {
    const rules = this.options.rules.catalog.fileRules;
    if (this.digestOf?.rules !== rules) this.digestOf = { rules, digest: toFileRulesDigest(rules) };
    return this.digestOf.digest;
  }

  private compare(mine: string, fleet: string): void {
    if (mine === fleet) {
      if (this.mismatch !== null) this.logger.info({ digest: mine }, 'file rules match the fleet\'s again');
      this.mismatch = null;
      return;
    }
    if (this.mismatch?.fleet !== fleet || this.mismatch.mine !== mine) {
      this.logger.error({ digest: mine, fleetDigest: fleet },
        'file rules differ from the fleet\'s; not ready until the rule files match the other instances\'');
    }
    this.mismatch = { mine, fleet };
  }
}

/**
 * The digest most members hold; on a tie, the one whose holder started
 * first (then the smaller digest), so every instance picks the same one.
 * `fallback` when the registry is empty.
 */
export function chooseFleetDigest(members: readonly FleetMember[], fallback: string): string {
  const tally = new Map<string, { count: number; since: number }>();
  for (const m of members) {
    const t = tally.get(m.fileRulesDigest);
    if (t === undefined) tally.set(m.fileRulesDigest, { count: 1, since: m.startedMs });
    else tally.set(m.fileRulesDigest, { count: t.count + 1, since: Math.min(t.since, m.startedMs) });
  }
  let best = fallback;
  let bestTally: { count: number; since: number } | null = null;
  for (const [digest, t] of tally) {
    const better = bestTally === null ||
      t.count > bestTally.count ||
      (t.count === bestTally.count && (t.since < bestTally.since || (t.since === bestTally.since && digest < best)));
    if (better) {
      best = digest;
      bestTally = t;
    }
  }
  return best;
}
