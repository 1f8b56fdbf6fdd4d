/**
 * Catches an export loop that the config cannot see: an exporter endpoint
 * whose host name (an /etc/hosts entry, a Kubernetes Service) leads back to
 * this processor's own receiver. The exporter sends this processor's id in
 * a header; a receiver that gets its own id back refuses the request for
 * good, so the data goes round once instead of for ever.
 */

import { BetraceError } from '../errors';

/** Header (gRPC metadata key) carrying the id of the processor that exported the request. */
export const LOOP_GUARD_HEADER = 'betrace-processor-id';

/** Throws ERR_RECEIVER_EXPORT_LOOP when the request was exported by the processor `ownId`. */
export function refuseOwnExport(seenId: unknown, ownId: string | undefined): void {
  if (ownId === undefined || ownId === '' || seenId !== ownId) return;
  throw new BetraceError(
    'ERR_RECEIVER_EXPORT_LOOP',
    'this request was exported by this same processor: exporters.otlp.endpoint leads back to its own receiver',
  );
}
