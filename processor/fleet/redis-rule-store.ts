/**
 * The rules API's rules and overrides in Redis, shared by a fleet: a hash of
 * API rules (each in the rule-file shape, with its position in the list),
 * a hash of overrides, and a version counter that every change increments.
 * A save names the version it was made from and is refused when another
 * instance saved first. Instances also register here, with a digest of
 * their file rules, so that each can tell whether its files match the
 * fleet's.
 */

import { formatApiRulesFile, parseApiRulesText } from '../rules/api-rules-file';
import { createKeyLayout } from '../buffer/redis-keys';
import { BetraceError } from '../errors';
import { HEARTBEAT, LOAD_RULES, SAVE_RULES } from './rule-scripts';

import type { CompiledRule } from '../../dsl/rule';
import type { RedisConnection, ScriptRunner } from '../buffer/redis-connection';
import type { RuleKeys } from '../buffer/redis-keys';
import type { RedisMetrics } from '../buffer/redis-metrics';
import type { ApiRulesState } from '../rules/api-rules-file';
import type { ApiRuleStore, StoredApiRules } from '../rules/rule-store';

/** One live instance as the registry lists it. */
export interface FleetMember {
  readonly instanceId: string;
  readonly fileRulesDigest: string;
  readonly heartbeatMs: number;
  readonly startedMs: number;
}

/** What one heartbeat read back. */
export interface HeartbeatReply {
  /** The shared rules' version now. */
  readonly version: number;
  /** Every instance whose heartbeat is recent, this one included. */
  readonly members: readonly FleetMember[];
}

/** The shared rules store in Redis, and the fleet's registry of instances. */
export class RedisRuleStore implements ApiRuleStore {
  readonly location: string;
  private readonly keys: RuleKeys;
  private readonly metrics: RedisMetrics;
  private readonly scripts: { load: ScriptRunner; save: ScriptRunner; heartbeat: ScriptRunner };
  private readonly connection: RedisConnection;

  constructor(connection: RedisConnection, keyPrefix: string, metrics: RedisMetrics) {
    this.connection = connection;
    this.keys = createKeyLayout(keyPrefix).rules;
    this.metrics = metrics;
    this.location = `${connection.location} ${keyPrefix}{rules}`;
    this.scripts = {
      load: connection.defineScript(LOAD_RULES),
      save: connection.defineScript(SAVE_RULES),
      heartbeat: connection.defineScript(HEARTBEAT),
    };
  }

  async load(): Promise<StoredApiRules> {
    const k = this.keys;
    const [version, api, overrides] = await this.call(() => this.scripts.load([k.version, k.api, k.overrides], [])) as [string, string[], string[]];
    return { version: Number(version), state: this.parse(api, overrides) };
  }

  async save(state: ApiRulesState, expectedVersion: number): Promise<number | null> {
    const k = this.keys;
    const args: (string | number)[] = [String(expectedVersion), state.rules.length];
    state.rules.forEach((rule, i) => args.push(rule.id, toStoredRule(rule, i)));
    for (const [id, enabled] of state.overrides) args.push(id, enabled ? '1' : '0');
    const version = Number(await this.call(() => this.scripts.save([k.version, k.api, k.overrides], args)));
    return version < 0 ? null : version;
  }

  /**
   * Records this instance as alive, drops instances not heard from since
   * `cutoffMs`, and reads the registry and the rules version.
   */
  async heartbeat(member: FleetMember, cutoffMs: number): Promise<HeartbeatReply> {
    const k = this.keys;
    const entry = `${member.fileRulesDigest} ${Math.floor(member.heartbeatMs)} ${Math.floor(member.startedMs)}`;
    const [version, flat] = await this.call(() =>
      this.scripts.heartbeat([k.version, k.instances], [member.instanceId, entry, Math.floor(cutoffMs)])) as [string, string[]];
    const members: FleetMember[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      const [digest, beat, started] = flat[i + 1].split(' ');
      members.push({ instanceId: flat[i], fileRulesDigest: digest, heartbeatMs: Number(beat), startedMs: Number(started) });
    }
    return { version: Number(version), members };
  }

  /** Takes this instance off the registry (shutdown). */
  async leave(instanceId: string): Promise<void> {
    await this.call(() => this.connection.client.hdel(this.keys.instances, instanceId));
  }

  private async call(send: () => Promise<unknown>): Promise<unknown> {
    this.metrics.countRoundTrip('rules', 1);
    try {
      return await send();
    } catch (err) {
      this.metrics.countError('rules');
      throw new BetraceError('ERR_REDIS_UNAVAILABLE', `cannot reach the shared rules in ${this.location}: ${(err as Error).message}`,
        { retryable: true, cause: err });
    }
  }

  private parse(api: readonly string[], overrides: readonly string[]): ApiRulesState {
    const stored: Array<{ position: number; rule: CompiledRule }> = [];
    for (let i = 0; i < api.length; i += 2) {
      const text = api[i + 1];
      const newline = text.indexOf('\n');
      const read = parseApiRulesText(text.slice(newline + 1), `${this.location}#${api[i]}`);
      const rule = read.state?.rules[0];
      if (rule === undefined || read.state!.rules.length !== 1) {
        const why = read.diagnostics.find((d) => d.severity === 'error')?.message ?? 'not one rule';
        throw new BetraceError('ERR_REDIS_BAD_RULES', `rule "${api[i]}" in ${this.location} does not read back: ${why}`);
      }
      stored.push({ position: Number(text.slice(0, newline)), rule });
    }
    stored.sort((a, b) => a.position - b.position);
    const enabled = new Map<string, boolean>();
    for (let i = 0; i < overrides.length; i += 2) enabled.set(overrides[i], overrides[i + 1] === '1');
    return { rules: stored.map((s) => s.rule), overrides: enabled };
  }
}

/** A rule as stored: its position in the list, a newline, then the rule in the rule-file shape. */
function toStoredRule(rule: CompiledRule, position: number): string {
  return `${position}\n${formatApiRulesFile({ rules: [rule], overrides: new Map() })}`;
}
