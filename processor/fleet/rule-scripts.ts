/**
 * The Lua scripts of the shared rules. All their keys carry the hash tag
 * `{rules}`, so each script stays in one Redis Cluster slot. Their first
 * lines carry Redis 7 flags, as in processor/buffer/redis-scripts.ts: a
 * Redis at `maxmemory` still serves reads and heartbeats (which rewrite a
 * few bytes of an instance's entry), and refuses a save as a whole.
 */

import type { ScriptDefinition } from '../buffer/redis-scripts';

/**
 * Reads the shared rules at one version. KEYS: version, api, overrides.
 * Returns {version, HGETALL api, HGETALL overrides}.
 */
export const LOAD_RULES: ScriptDefinition = {
  keys: 3,
  lua: `#!lua flags=no-writes
return {redis.call('GET', KEYS[1]) or '0', redis.call('HGETALL', KEYS[2]), redis.call('HGETALL', KEYS[3])}
`,
};

/**
 * Replaces the shared rules when the version is still the expected one.
 * KEYS: version, api, overrides. ARGV: expected version, rule count n, n
 * pairs of (id, stored rule), then pairs of (id, '1' or '0'). Returns the
 * new version, or -1 when another change came first.
 */
export const SAVE_RULES: ScriptDefinition = {
  keys: 3,
  lua: `#!lua
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[1] then return -1 end
redis.call('DEL', KEYS[2], KEYS[3])
local n = tonumber(ARGV[2])
local i = 3
for _ = 1, n do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  i = i + 2
end
while i < #ARGV do
  redis.call('HSET', KEYS[3], ARGV[i], ARGV[i + 1])
  i = i + 2
end
return redis.call('INCR', KEYS[1])
`,
};

/**
 * Records this instance as alive with its file-rules digest, drops entries
 * whose heartbeat is older than the cut-off, and reads the rest with the
 * rules version. KEYS: version, instances. ARGV: instance, entry
 * ('<digest> <heartbeat ms> <started ms>'), cut-off. Returns {version,
 * HGETALL instances}.
 */
export const HEARTBEAT: ScriptDefinition = {
  keys: 2,
  lua: `#!lua flags=allow-oom
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
local all = redis.call('HGETALL', KEYS[2])
local cutoff = tonumber(ARGV[3])
local live = {}
for i = 1, #all, 2 do
  local beat = tonumber(string.match(all[i + 1], '^%S+ (%d+)'))
  if beat == nil or beat < cutoff then
    redis.call('HDEL', KEYS[2], all[i])
  else
    live[#live + 1] = all[i]
    live[#live + 1] = all[i + 1]
  end
end
return {redis.call('GET', KEYS[1]) or '0', live}
`,
};
