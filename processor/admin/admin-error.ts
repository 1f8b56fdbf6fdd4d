/**
 * The error the admin API answers with: a code of ADMIN_ERRORS, an HTTP
 * status, and for rules that do not read or compile, their diagnostics.
 * The body is always `{code, message, diagnostics?}`.
 */

import { BetraceError } from '../betrace-error';

import type { Diagnostic } from '../../dsl/diagnostics';
import type { AdminErrorCode } from './errors';

/** A diagnostic as the API shows it: positions are 1-based, columns count characters. */
export interface ApiDiagnostic {
  readonly code: string;
  readonly message: string;
  readonly severity: 'error' | 'warning';
  readonly line: number;
  readonly column: number;
  /** The body field the diagnostic is about, when it is about one (`condition`). */
  readonly field?: string;
  readonly hint?: string;
}

/** The JSON body of every error answer. */
export interface ApiErrorBody {
  readonly code: string;
  readonly message: string;
  readonly diagnostics?: readonly ApiDiagnostic[];
}

/** An error with the HTTP status it is answered with. */
export class AdminError extends BetraceError {
  readonly statusCode: number;
  readonly diagnostics?: readonly ApiDiagnostic[];
  /** Extra response headers (WWW-Authenticate on 401). */
  readonly headers?: Readonly<Record<string, string>>;

  constructor(
    statusCode: number,
    code: AdminErrorCode,
    message: string,
    extra: { diagnostics?: readonly ApiDiagnostic[]; headers?: Record<string, string>; cause?: unknown } = {},
  ) {
    super(code, message, { cause: extra.cause, retryable: statusCode === 503 });
    this.name = 'AdminError';
    this.statusCode = statusCode;
    if (extra.diagnostics !== undefined) this.diagnostics = extra.diagnostics;
    if (extra.headers !== undefined) this.headers = extra.headers;
  }

  /** The answer's body. */
  toBody(): ApiErrorBody {
    return this.diagnostics === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, diagnostics: this.diagnostics };
  }
}

/** A compiler or loader diagnostic in the API's shape; `field` names the body field it sits in. */
export function toApiDiagnostic(d: Diagnostic, field?: string): ApiDiagnostic {
  const out: { -readonly [K in keyof ApiDiagnostic]: ApiDiagnostic[K] } = {
    code: d.code,
    message: d.message,
    severity: d.severity,
    line: d.line,
    column: d.column,
  };
  if (field !== undefined) out.field = field;
  if (d.hint !== undefined) out.hint = d.hint;
  return out;
}
