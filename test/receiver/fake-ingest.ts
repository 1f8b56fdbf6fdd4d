/**
 * A stand-in for the pipeline: records the bytes each request delivered and
 * answers as the test tells it to (accept, partially reject, throw, hang).
 */

import { decodeRequestFull } from '../helpers/otlp-decode';

import type { IngestResult, TraceIngest, Transport } from '../../processor/receiver/ingest';

/** What the fake does with one request. */
export type IngestBehaviour = (
  request: Uint8Array,
  transport: Transport,
) => IngestResult | Promise<IngestResult>;

/** One request as the pipeline would have seen it. */
export interface IngestedRequest {
  readonly bytes: Buffer;
  readonly transport: Transport;
}

/** The fake pipeline with its record of requests. */
export interface FakeIngest extends TraceIngest {
  readonly requests: IngestedRequest[];
  behaviour: IngestBehaviour;
}

/** Counts the spans of a request with a full reflection decode. */
export function countSpans(request: Uint8Array): number {
  let spans = 0;
  for (const rs of decodeRequestFull(request).resourceSpans) {
    for (const ss of rs.scopeSpans) spans += ss.spans.length;
  }
  return spans;
}

/** Accepts every span. */
export const acceptAll: IngestBehaviour = (request) => ({
  total: countSpans(request),
  rejected: 0,
  message: '',
});

/** Creates the fake; it accepts everything until given another behaviour. */
export function createFakeIngest(behaviour: IngestBehaviour = acceptAll): FakeIngest {
  const fake: FakeIngest = {
    requests: [],
    behaviour,
    async ingest(request, transport) {
      // A copy, so the record does not depend on the transport's buffers.
      fake.requests.push({ bytes: Buffer.from(request), transport });
      return fake.behaviour(request, transport);
    },
  };
  return fake;
}

/** A promise with its resolver outside, for requests held in flight. */
export interface Deferred<T> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
}

/** Creates a Deferred. */
export function createDeferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}
