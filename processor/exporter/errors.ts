/**
 * Codes of the OTLP exporter. ERR_EXPORTER_SEND_FAILED, ERR_EXPORTER_PERMANENT
 * and ERR_EXPORTER_TIMEOUT are declared in the processor's registry
 * (processor/errors.ts); the ones below are the exporter's additions.
 */

/** Exporter codes not yet in the processor's registry, with what each means. */
export const EXPORTER_ERRORS = {
  ERR_EXPORTER_SHUT_DOWN:
    'the exporter is stopping or stopped and takes no more requests; the sender should retry later',
  ERR_EXPORTER_QUEUE_DISABLED:
    'a request was offered to the queue while exporters.otlp.queue.enabled is false',
} as const;

/** Every code the exporter reports. */
export type ExporterErrorCode =
  | keyof typeof EXPORTER_ERRORS
  | 'ERR_EXPORTER_SEND_FAILED'
  | 'ERR_EXPORTER_PERMANENT'
  | 'ERR_EXPORTER_TIMEOUT';
