/**
 * Codes of the shared trace buffer in Redis and of the fleet around it,
 * with what each means.
 *
 * This file imports nothing, so that the error registry can read
 * REDIS_ERRORS while it loads without a require cycle.
 */

/** Codes of the Redis buffer and the fleet, with what each means. */
export const REDIS_ERRORS = {
  ERR_REDIS_UNAVAILABLE:
    'Redis is unreachable or did not store a request\'s spans; nothing of the request was acknowledged, the sender should retry (gRPC UNAVAILABLE, HTTP 503)',
  ERR_REDIS_RULES_NOT_LOADED:
    'with buffer.type redis, the shared rules have not been read from Redis yet, so spans are refused until they are (gRPC UNAVAILABLE, HTTP 503)',
  ERR_REDIS_BAD_RULES:
    'a rule or override kept in Redis does not read back; the rules active before stay, and the log names the rule',
} as const;
