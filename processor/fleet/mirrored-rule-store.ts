/**
 * The shared rules as the rules API of one fleet member sees them: kept in
 * Redis, with a copy in the member's `rules.api_file` when one is
 * configured. Every state read from or saved to Redis is written to the
 * file (atomically, as in memory mode), so that the file always holds the
 * fleet's newest rules. When Redis holds no shared rules at all (the
 * fleet's first start, or a Redis that restarted without its data), the
 * file's rules become the shared ones again; a loss that nothing restores
 * is logged as a warning with what was lost.
 */

import { formatApiRulesFile, readApiRulesFile, writeApiRulesFile } from '../rules/api-rules-file';

import type { Logger } from '../log';
import type { ApiRulesState } from '../rules/api-rules-file';
import type { ApiRuleStore, StoredApiRules } from '../rules/rule-store';
import type { RedisRuleStore } from './redis-rule-store';

/** What this member last read from or saved to Redis. */
interface Held {
  readonly version: number;
  readonly rules: number;
  readonly overrides: number;
}

/** The shared rules store with the api file as its copy. */
export class MirroredRuleStore implements ApiRuleStore {
  readonly location: string;
  private readonly redis: RedisRuleStore;
  /** Absolute or as configured; '' when there is none. */
  private readonly apiFile: string;
  private readonly logger: Logger;
  private held: Held | null = null;
  /** The text the file is known to hold (written, or read as equal); null before the first look. */
  private copied: string | null = null;

  constructor(redis: RedisRuleStore, apiFile: string, logger: Logger) {
    this.redis = redis;
    this.apiFile = apiFile;
    this.location = redis.location;
    this.logger = logger.child({ component: 'fleet/rules' });
  }

  /**
   * Reads the shared rules. When Redis holds none, the api file's rules
   * (if any) are saved as the shared rules first, unless another member
   * does so at the same moment; then its save is read.
   */
  async load(): Promise<StoredApiRules> {
    let stored = await this.redis.load();
    if (stored.version === 0) stored = await this.restore(stored);
    else this.noticeRollback(stored);
    await this.keep(stored);
    return stored;
  }

  async save(state: ApiRulesState, expectedVersion: number): Promise<number | null> {
    const version = await this.redis.save(state, expectedVersion);
    if (version !== null) await this.keep({ state, version });
    return version;
  }

  /** Seeds an empty Redis from the api file; logs a loss that it cannot make good. */
  private async restore(empty: StoredApiRules): Promise<StoredApiRules> {
    const held = this.held;
    const lost = held !== null && held.version > 0 && held.rules + held.overrides > 0;
    const local = this.apiFile === '' ? null : await readApiRulesFile(this.apiFile);
    const state = local?.state ?? null;
    if (state !== null && (state.rules.length > 0 || state.overrides.size > 0)) {
      const version = await this.redis.save(state, 0);
      if (version === null) return this.redis.load();
      // The file already says this; rewriting it would only drop its comments.
      this.copied = formatApiRulesFile(state);
      const fields = { file: this.apiFile, rules: state.rules.length, overrides: state.overrides.size, version };
      if (lost) {
        this.logger.warn({ ...fields, heldRules: held.rules, heldOverrides: held.overrides, heldVersion: held.version },
          'redis had lost the shared rules; reseeded them from the api file');
      } else {
        this.logger.info(fields, 'the api file\'s rules became the shared rules');
      }
      return { state, version };
    }
    if (lost) {
      const reason = this.apiFile === ''
        ? 'no rules.api_file is configured to restore them from'
        : local?.state === null ? 'the api file cannot be read' : 'the api file holds none';
      this.logger.warn({ rules: held.rules, overrides: held.overrides, heldVersion: held.version, file: this.apiFile || undefined, reason },
        'redis lost the shared rules and nothing restores them');
    } else if (local !== null && local.state === null) {
      this.logger.warn({ file: this.apiFile, diagnostics: local.diagnostics.map((d) => d.message) },
        'the api file cannot be read; the shared rules start empty');
    }
    return empty;
  }

  /** Another member reseeded an emptied Redis before this one noticed: versions start again lower. */
  private noticeRollback(stored: StoredApiRules): void {
    const held = this.held;
    if (held === null || stored.version >= held.version) return;
    this.logger.warn({
      version: stored.version,
      heldVersion: held.version,
      rules: stored.state.rules.length,
      overrides: stored.state.overrides.size,
      heldRules: held.rules,
      heldOverrides: held.overrides,
    }, 'the shared rules in redis are older than the ones held here; redis lost its data and another instance reseeded them');
  }

  /** Remembers what was read or saved, and copies it to the api file. */
  private async keep(stored: StoredApiRules): Promise<void> {
    this.held = { version: stored.version, rules: stored.state.rules.length, overrides: stored.state.overrides.size };
    // Version 0: the fleet never shared rules; a file that may hold the only copy of lost ones stays as it is.
    if (this.apiFile === '' || stored.version <= 0) return;
    const text = formatApiRulesFile(stored.state);
    if (text === this.copied) return;
    if (this.copied === null) {
      const current = await readApiRulesFile(this.apiFile);
      if (current.state !== null && formatApiRulesFile(current.state) === text) {
        this.copied = text;
        return;
      }
    }
    try {
      await writeApiRulesFile(this.apiFile, text);
      this.copied = text;
    } catch (err) {
      // Redis holds the rules; the copy is tried again on the next change.
      this.logger.error({ err, file: this.apiFile }, 'cannot copy the shared rules to the api file');
    }
  }
}
