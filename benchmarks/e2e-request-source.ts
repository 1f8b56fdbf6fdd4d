/**
 * Endless realistic requests for the end-to-end benchmark: a few workload
 * requests serve as templates, and every request handed out is a copy whose
 * trace IDs are new. Resending the same bytes would make the processor see
 * duplicates and late spans instead of new traces, so it would buffer and
 * evaluate nothing.
 */

import crypto from 'node:crypto';

import { createWorkload } from './otlp-workload';
import { findTraceId, walkSpans } from './e2e-span-walk';

/** One request ready to send. */
export interface SourcedRequest {
  readonly bytes: Buffer;
  readonly spans: number;
  /** The distinct trace IDs it holds, 32 lower-case hex each. */
  readonly traceIds: readonly string[];
}

/** Hands out requests with trace IDs never used before in this process. */
export interface RequestSource {
  /** Spans in each request. */
  readonly spansPerRequest: number;
  /** Protobuf size of each request in bytes (the same for all). */
  readonly requestBytes: number;
  next(): SourcedRequest;
}

interface Template {
  readonly bytes: Buffer;
  readonly spans: number;
  /** For each distinct trace of the template, the offsets of its trace ID bytes. */
  readonly traces: readonly (readonly number[])[];
}

const TRACE_ID_BYTES = 16;

/**
 * Builds the templates (`templates` workload requests of 512 spans in about
 * 50 traces, 10 attributes per span) and returns the source.
 */
export function createRequestSource(templates = 16, seed = 1): RequestSource {
  const workload = createWorkload({ requests: templates, seed });
  const built = workload.requests.map(toTemplate);
  let requestCount = 0;
  return {
    spansPerRequest: built[0].spans,
    requestBytes: built[0].bytes.length,
    next() {
      const template = built[requestCount++ % built.length];
      const bytes = Buffer.from(template.bytes);
      // Random IDs like an SDK's: any fixed part would make every trace look
      // alike to hash tables and caches keyed on the first bytes.
      const fresh = crypto.randomBytes(template.traces.length * TRACE_ID_BYTES);
      const traceIds: string[] = [];
      for (let t = 0; t < template.traces.length; t++) {
        const from = t * TRACE_ID_BYTES;
        for (const offset of template.traces[t]) fresh.copy(bytes, offset, from, from + TRACE_ID_BYTES);
        traceIds.push(fresh.toString('hex', from, from + TRACE_ID_BYTES));
      }
      return { bytes, spans: template.spans, traceIds };
    },
  };
}

function toTemplate(request: Uint8Array): Template {
  const bytes = Buffer.from(request);
  const byTrace = new Map<string, number[]>();
  let spans = 0;
  walkSpans(bytes, (start, end) => {
    spans++;
    const range = findTraceId(bytes, start, end);
    if (range === null || range.end - range.start !== TRACE_ID_BYTES) {
      throw new Error('workload span without a 16-byte trace ID');
    }
    const key = bytes.toString('hex', range.start, range.end);
    let offsets = byTrace.get(key);
    if (offsets === undefined) {
      offsets = [];
      byTrace.set(key, offsets);
    }
    offsets.push(range.start);
  });
  return { bytes, spans, traces: [...byTrace.values()] };
}
