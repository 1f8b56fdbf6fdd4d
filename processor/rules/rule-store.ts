/**
 * A shared home for the rules API's rules and overrides, in place of
 * `rules.api_file`, for a fleet whose instances must all apply the same
 * changes (with `buffer.type: redis` the rules live in Redis). Every saved
 * state has a version; a save names the version it was made from and is
 * refused when another instance saved first, so changes never overwrite
 * each other unseen.
 */

import type { ApiRulesState } from './api-rules-file';

/** The stored rules with the version they were read at. */
export interface StoredApiRules {
  readonly state: ApiRulesState;
  /** 0 for a store nothing was ever saved to. */
  readonly version: number;
}

/** Where the API's rules and overrides are kept for a fleet. */
export interface ApiRuleStore {
  /** Where it is, for messages and rule views (takes the place of the api file's path). */
  readonly location: string;
  /** Reads the current state; rejects when the store is unreachable or holds something unreadable. */
  load(): Promise<StoredApiRules>;
  /**
   * Saves `state` if the stored version is still `expectedVersion`; resolves
   * to the new version, or null when another change came first.
   */
  save(state: ApiRulesState, expectedVersion: number): Promise<number | null>;
}
