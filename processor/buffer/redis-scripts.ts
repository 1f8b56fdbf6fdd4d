/**
 * The Lua scripts of the shared trace buffer. Each touches the keys of one
 * trace or one index shard only, so each stays in one Redis Cluster slot.
 * Times are epoch milliseconds from the calling instance's clock
 * (docs/scaling.md says why); every script takes them as arguments.
 *
 * Trace meta fields: f first span stored, l last span stored, r first root
 * span stored, n spans stored, v rule set key, c claiming instance, x its
 * lease expiry.
 *
 * The first line of each script declares its Redis 7 flags. A Redis at
 * `maxmemory` with `noeviction` must still run the scripts that free
 * memory or change a few bytes of a claim or an index entry (take, claim,
 * index, renew, finalise, release): they are `allow-oom`, or a full Redis
 * could never drain. The store script has no flags, so a full Redis
 * refuses it as a whole before it writes anything, and intake pushes back.
 */

/** A script and the number of its arguments that are keys. */
export interface ScriptDefinition {
  readonly keys: number;
  /** The script text; its first line is the `#!lua` flags line. */
  readonly lua: string;
}

/**
 * Stores one trace's spans of one request. KEYS: spans, meta, decided.
 * ARGV: now, span cap, key lifetime after the first span, rule set key,
 * span ID of a root span in the group (or ''), span count n, n pairs of
 * (span ID, projection), then pairs of (resource field, resource).
 * Returns {stored, duplicates, late, capped}. Spans of a decided trace, of
 * a claimed one (under evaluation) and past the cap are late.
 */
export const STORE_SPANS: ScriptDefinition = {
  keys: 3,
  lua: `#!lua
local n = tonumber(ARGV[6])
if redis.call('EXISTS', KEYS[3]) == 1 then return {0, 0, n, 0} end
local m = redis.call('HMGET', KEYS[2], 'f', 'l', 'r', 'n', 'c')
if m[5] then return {0, 0, n, 0} end
local now = tonumber(ARGV[1])
local cap = tonumber(ARGV[2])
local count = tonumber(m[4] or '0')
local stored, dups, late = 0, 0, 0
local i = 7
for _ = 1, n do
  if count >= cap then
    late = late + 1
  elseif redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1]) == 1 then
    stored = stored + 1
    count = count + 1
  else
    dups = dups + 1
  end
  i = i + 2
end
if stored == 0 then return {0, dups, late, 0} end
while i < #ARGV do
  redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1])
  i = i + 2
end
-- Never moves back, so a writer whose clock is behind does not shorten the idle wait.
local last = now
if m[2] and tonumber(m[2]) > now then last = tonumber(m[2]) end
local fields = {'l', last, 'n', count}
if not m[1] then
  fields[5] = 'f'
  fields[6] = now
  fields[7] = 'v'
  fields[8] = ARGV[4]
end
if ARGV[5] ~= '' and not m[3] then
  fields[#fields + 1] = 'r'
  fields[#fields + 1] = now
end
redis.call('HSET', KEYS[2], unpack(fields))
if not m[1] then
  local expiry = now + tonumber(ARGV[3])
  redis.call('PEXPIREAT', KEYS[1], expiry)
  redis.call('PEXPIREAT', KEYS[2], expiry)
end
local capped = 0
if count >= cap then capped = 1 end
return {stored, dups, late, capped}
`,
};

/**
 * Takes due traces off one index shard for this instance: moves their score
 * to the lease expiry, so other instances do not try them meanwhile and a
 * dead instance's traces come back after the lease. KEYS: shard. ARGV: now,
 * lease expiry, limit. Returns {traces in the shard, member...}.
 */
export const TAKE_DUE: ScriptDefinition = {
  keys: 1,
  lua: `#!lua flags=allow-oom
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {redis.call('ZCARD', KEYS[1])}
for i = 1, #due do
  redis.call('ZADD', KEYS[1], 'XX', ARGV[2], due[i])
  out[i + 1] = due[i]
end
return out
`,
};

/**
 * Claims a trace when it is due. KEYS: spans, meta, decided. ARGV: instance,
 * now, lease, idle timeout, root grace, max trace age, span cap, how long
 * the keys must live at least. Returns one of:
 * {'decided'}, {'gone'} (expired), {'held', lease expiry} (another live
 * claim), {'early', true deadline}, or
 * {'claimed', trigger, takeover 0/1, rule set key, HGETALL spans}.
 */
export const CLAIM_TRACE: ScriptDefinition = {
  keys: 3,
  lua: `#!lua flags=allow-oom
if redis.call('EXISTS', KEYS[3]) == 1 then return {'decided'} end
local m = redis.call('HMGET', KEYS[2], 'f', 'l', 'r', 'n', 'c', 'x', 'v')
if not m[1] then return {'gone'} end
local now = tonumber(ARGV[2])
if m[5] and tonumber(m[6]) > now then return {'held', m[6]} end
local first, last, count = tonumber(m[1]), tonumber(m[2]), tonumber(m[4] or '0')
local idle, grace, age = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local trigger
if count >= tonumber(ARGV[7]) then
  trigger = 'span_cap'
elseif m[3] and tonumber(m[3]) + grace <= now then
  trigger = 'root'
elseif last + idle <= now then
  trigger = 'idle'
elseif first + age <= now then
  trigger = 'max_age'
else
  local d = math.min(last + idle, first + age)
  if m[3] then d = math.min(d, tonumber(m[3]) + grace) end
  return {'early', tostring(d)}
end
redis.call('HSET', KEYS[2], 'c', ARGV[1], 'x', now + tonumber(ARGV[3]))
local keep = tonumber(ARGV[8])
for k = 1, 2 do
  if redis.call('PTTL', KEYS[k]) < keep then redis.call('PEXPIRE', KEYS[k], keep) end
end
local takeover = 0
if m[5] then takeover = 1 end
return {'claimed', trigger, takeover, m[7] or '', redis.call('HGETALL', KEYS[1])}
`,
};

/**
 * Extends this instance's lease on a trace it is still working on. KEYS:
 * spans, meta. ARGV: instance, now, lease, how long the keys must live at
 * least. Returns 1, or 0 when the claim is no longer this instance's.
 */
export const RENEW_CLAIM: ScriptDefinition = {
  keys: 2,
  lua: `#!lua flags=allow-oom
if redis.call('HGET', KEYS[2], 'c') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], 'x', tonumber(ARGV[2]) + tonumber(ARGV[3]))
local keep = tonumber(ARGV[4])
for k = 1, 2 do
  if redis.call('PTTL', KEYS[k]) < keep then redis.call('PEXPIRE', KEYS[k], keep) end
end
return 1
`,
};

/**
 * Marks an evaluated trace decided and deletes its spans and meta. KEYS:
 * spans, meta, decided. ARGV: instance, decided TTL, the emitted verdict
 * IDs. Returns 1, or 0 when another instance had taken the claim over.
 */
export const FINALISE_TRACE: ScriptDefinition = {
  keys: 3,
  lua: `#!lua flags=allow-oom
local holder = redis.call('HGET', KEYS[2], 'c')
redis.call('SET', KEYS[3], ARGV[3], 'PX', ARGV[2])
redis.call('DEL', KEYS[1], KEYS[2])
if holder == ARGV[1] then return 1 end
return 0
`,
};

/**
 * Gives up this instance's claim so that another instance evaluates the
 * trace (shutdown). KEYS: meta. ARGV: instance. Returns 1 when released.
 */
export const RELEASE_CLAIM: ScriptDefinition = {
  keys: 1,
  lua: `#!lua flags=allow-oom
if redis.call('HGET', KEYS[1], 'c') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'c', 'x')
return 1
`,
};

/**
 * Adds or moves one trace's entry in its index shard. A script rather than
 * a plain ZADD, because a full Redis refuses ZADD even when it only changes
 * a score: reschedule, renew and release must still work then, and a store
 * whose span script went through must not lose its index entry to a
 * refusal in between (an entry of a trace that was never stored is
 * dropped as gone when it comes due). KEYS: shard. ARGV: ZADD's options
 * ('LT' to add or bring forward; 'XX' with 'LT' or 'GT' to move an entry
 * that is there), score, trace ID. Returns what ZADD returns.
 */
export const INDEX_TRACE: ScriptDefinition = {
  keys: 1,
  lua: `#!lua flags=allow-oom
return redis.call('ZADD', KEYS[1], unpack(ARGV))
`,
};

/**
 * Answers whether Redis takes writes: having no flags, it is refused with
 * an OOM error exactly when a store would be, and it writes nothing.
 * KEYS: any key on the node to ask. Returns 1.
 */
export const PROBE_MEMORY: ScriptDefinition = {
  keys: 1,
  lua: `#!lua
return 1
`,
};
