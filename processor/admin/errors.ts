/**
 * Codes of the admin listener, the rules and violations APIs and the
 * processor's own rules file, with what each means and, for API answers,
 * the HTTP status it comes with.
 *
 * This file imports nothing, so that the error registry can read
 * ADMIN_ERRORS while it loads without a require cycle.
 */

/** Codes of the admin area, with what each means. */
export const ADMIN_ERRORS = {
  ERR_ADMIN_UNAUTHORIZED:
    '401: a token is configured and the request has no `Authorization: Bearer` header, or the wrong token',
  ERR_ADMIN_NOT_FOUND: '404: no endpoint at this path',
  ERR_ADMIN_METHOD_NOT_ALLOWED: '405: the path exists but not with this method; the Allow header lists the methods it takes',
  ERR_ADMIN_RULE_NOT_FOUND: '404: no rule with this id in the active rule set',
  ERR_ADMIN_VIOLATION_NOT_FOUND:
    '404: no violation with this id in the store (never seen, or dropped as the oldest past violations.max_records)',
  ERR_ADMIN_BAD_JSON: '400: the request body is not valid JSON, or is empty where a body is needed',
  ERR_ADMIN_BAD_BODY: '400: the body is JSON but not the object the endpoint takes (a missing or unexpected field)',
  ERR_ADMIN_INVALID_RULE:
    '400: the rule does not read or does not compile; `diagnostics` says where',
  ERR_ADMIN_ID_MISMATCH: '400: the id in the body of a PUT differs from the id in its path',
  ERR_ADMIN_BAD_TRACE:
    '400: the sample trace of /v1/rules/test is not in the rule-file trace shape or not valid OTLP/JSON',
  ERR_ADMIN_BAD_QUERY: '400: an unknown query parameter, or one with a value the endpoint cannot use',
  ERR_ADMIN_BAD_CURSOR: '400: a cursor that this processor did not hand out',
  ERR_ADMIN_RULE_EXISTS: '409: a rule with this id exists already (the message names the file that holds it)',
  ERR_ADMIN_RULE_FILE_OWNED:
    '409: the rule comes from a rule file, so only enable and disable work through the API; the message names the file',
  ERR_ADMIN_NOT_PERSISTENT:
    '409: rules.api_file is not configured, so the API cannot save changes (reads, validate and test still work)',
  ERR_ADMIN_STALE_ETAG: '412: If-Match names a version of the rule other than the current one',
  ERR_ADMIN_BODY_TOO_LARGE: '413: the request body is over the admin listener\'s body limit',
  ERR_ADMIN_UNSUPPORTED_MEDIA_TYPE: '415: a request body that is not application/json',
  ERR_ADMIN_PERSIST_FAILED:
    '500: the processor could not write rules.api_file; nothing was changed',
  ERR_ADMIN_SHUTTING_DOWN: '503: the processor is stopping and takes no more rule changes',
  ERR_ADMIN_INTERNAL: '500: an unexpected failure while answering; the log has the details',
  ERR_ADMIN_TOKEN_UNREADABLE: 'admin.token_file cannot be read; the processor does not start',
  ERR_ADMIN_TOKEN_INVALID:
    'admin.token_file (or BETRACE_ADMIN_TOKEN) holds no token, or one with whitespace inside; the processor does not start rather than run open',
  ERR_ADMIN_BAD_OVERRIDE:
    'an entry of overrides: in rules.api_file is not {id, enabled}; the file does not load',
  ERR_ADMIN_OVERRIDE_UNUSED:
    'warning: an override in rules.api_file names no rule of the other rule files (kept) or a rule of the api file itself (ignored)',
} as const;

/** One of the codes above. */
export type AdminErrorCode = keyof typeof ADMIN_ERRORS;
