/**
 * The admin listener's bearer token: read once at startup from
 * `admin.token_file` or BETRACE_ADMIN_TOKEN (the variable wins), and
 * checked on every request in constant time.
 */

import { createHash, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';

import { BetraceError } from '../betrace-error';

import type { AdminConfig } from '../../config/types';

/** Checks presented tokens against the configured one. */
export interface TokenCheck {
  /** Whether an `Authorization` header value carries the token. */
  accepts(authorization: string | undefined): boolean;
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/**
 * The configured token, or null when none is (the listener is then open,
 * and bound to loopback by default). Surrounding whitespace and a trailing
 * newline of the file are not part of the token. Throws
 * ERR_ADMIN_TOKEN_UNREADABLE or ERR_ADMIN_TOKEN_INVALID: a configured token
 * that cannot be used stops startup rather than leaving the API open.
 */
export function readAdminToken(admin: AdminConfig): string | null {
  if (admin.tokenFromEnv !== '') return assertToken(admin.tokenFromEnv.trim(), 'BETRACE_ADMIN_TOKEN');
  if (admin.tokenFile === '') return null;
  let text: string;
  try {
    text = fs.readFileSync(admin.tokenFile, 'utf8');
  } catch (err) {
    throw new BetraceError('ERR_ADMIN_TOKEN_UNREADABLE',
      `cannot read admin.token_file ${admin.tokenFile}: ${(err as Error).message}`, { cause: err });
  }
  return assertToken(text.trim(), admin.tokenFile);
}

/** A check of bearer tokens against `token`. */
export function createTokenCheck(token: string): TokenCheck {
  // Comparing fixed-length digests keeps the time independent of where the
  // tokens differ and of the presented token's length.
  const expected = digest(token);
  return {
    accepts(authorization) {
      if (authorization === undefined) return false;
      const match = BEARER.exec(authorization);
      if (match === null) return false;
      return timingSafeEqual(digest(match[1]), expected);
    },
  };
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest();
}

function assertToken(token: string, source: string): string {
  if (token === '') throw new BetraceError('ERR_ADMIN_TOKEN_INVALID', `${source} holds no admin token`);
  if (/\s/.test(token)) {
    throw new BetraceError('ERR_ADMIN_TOKEN_INVALID', `${source} holds whitespace inside the token; a bearer token is one word`);
  }
  return token;
}
