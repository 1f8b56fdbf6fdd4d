/**
 * Codes of signing and key ring errors, with what each means.
 *
 * This file imports nothing, so that the error registry can read
 * SIGNING_ERRORS while it loads without a require cycle.
 */

/** Codes of signing and key ring errors, with what each means. */
export const SIGNING_ERRORS = {
  ERR_SIGNING_KEY_FILE_READ:
    'the key ring file could not be read (missing, a folder, no permission); the message names the file',
  ERR_SIGNING_KEY_FILE_WRITE:
    'the key ring file could not be written (no such folder, no permission, disk full); the message names the file',
  ERR_SIGNING_KEY_FILE_EXISTS:
    '`keys generate` was asked to write over an existing file without --force',
  ERR_SIGNING_KEY_RING_SYNTAX:
    'the key ring file is not valid YAML; the message names the file and the line',
  ERR_SIGNING_KEY_RING_FORMAT:
    'the key ring file is YAML of the wrong shape (a missing or unknown field, a value of the wrong type); the message names the file and the line',
  ERR_SIGNING_KEY_RING_VERSION:
    'the key ring file declares a format version this processor does not read',
  ERR_SIGNING_BAD_KEY_ID:
    'a key id that is empty, longer than 64 characters, or holds characters other than letters, digits, ".", "_" and "-"',
  ERR_SIGNING_DUPLICATE_KEY_ID: 'two keys of the key ring have the same id',
  ERR_SIGNING_UNKNOWN_ACTIVE_KEY: 'active_key names no key of the key ring',
  ERR_SIGNING_BAD_SECRET: 'a secret in the key ring that is not base64',
  ERR_SIGNING_KEY_TOO_SHORT:
    'a secret of fewer than 32 bytes (key ring) or a BETRACE_SIGNING_KEY that is neither hex nor base64 of 32 bytes nor a passphrase of 32 characters',
  ERR_SIGNING_BAD_TRACE_FILE:
    'a file given to `betrace verify` is JSON but not an OTLP/JSON export request (resourceSpans, scopeSpans, spans or attributes not lists of objects); the message names the field path',
} as const;

/** One of the codes above. */
export type SigningErrorCode = keyof typeof SIGNING_ERRORS;
