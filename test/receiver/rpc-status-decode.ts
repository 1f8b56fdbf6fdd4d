/**
 * An independent reading of google.rpc.Status bytes (protobufjs reflection
 * over a schema written here), to check what the receivers encode.
 */

import protobuf from 'protobufjs';

const SCHEMA = `
syntax = "proto3";
package check;
message Status { int32 code = 1; string message = 2; repeated Any details = 3; }
message Any { string type_url = 1; bytes value = 2; }
message RetryInfo { Duration retry_delay = 1; }
message Duration { int64 seconds = 1; int32 nanos = 2; }
`;

const root = protobuf.parse(SCHEMA).root;
const STATUS = root.lookupType('check.Status');
const RETRY_INFO = root.lookupType('check.RetryInfo');

/** A decoded status; `retryDelayMs` from a RetryInfo detail, null without one. */
export interface DecodedStatus {
  readonly code: number;
  readonly message: string;
  readonly detailTypes: string[];
  readonly retryDelayMs: number | null;
}

/** Decodes google.rpc.Status bytes. */
export function decodeRpcStatus(bytes: Uint8Array): DecodedStatus {
  const status = STATUS.toObject(STATUS.decode(bytes), { longs: Number, defaults: true, arrays: true });
  let retryDelayMs: number | null = null;
  const detailTypes: string[] = [];
  for (const detail of status.details as Array<{ typeUrl: string; value: Uint8Array }>) {
    detailTypes.push(detail.typeUrl);
    if (detail.typeUrl.endsWith('/google.rpc.RetryInfo')) {
      const info = RETRY_INFO.toObject(RETRY_INFO.decode(detail.value), { longs: Number, defaults: true });
      const delay = info.retryDelay as { seconds: number; nanos: number } | null;
      retryDelayMs = delay === null ? 0 : delay.seconds * 1000 + delay.nanos / 1e6;
    }
  }
  return { code: status.code as number, message: status.message as string, detailTypes, retryDelayMs };
}
