/**
 * Reads an OTLP/HTTP request body under a byte limit that holds both on the
 * wire and after inflation (gzip, deflate, zstd). Inflation is streamed and stops at the
 * limit, so a small compressed body never expands into a large buffer.
 */

import zlib from 'node:zlib';

import { BetraceError } from '../errors';

import type { IncomingMessage } from 'node:http';
import type { Transform } from 'node:stream';

/** How to read one body. */
export interface BodyReadOptions {
  /** Limit on the wire bytes and on the inflated bytes. */
  readonly maxBytes: number;
  /** The body's Content-Encoding when it is compressed; null for identity. */
  readonly encoding: BodyEncoding | null;
}

/** Content encodings the receiver inflates. */
export type BodyEncoding = 'gzip' | 'deflate' | 'zstd';

/** Whether this Node.js can inflate zstd (22.15 and later). */
export const ZSTD_AVAILABLE = typeof (zlib as { createZstdDecompress?: unknown }).createZstdDecompress === 'function';

function createInflater(encoding: BodyEncoding): Transform {
  switch (encoding) {
    case 'gzip':
      return zlib.createGunzip();
    // HTTP's deflate is the zlib format (RFC 9110 8.4.1.2), as the Collector reads it.
    case 'deflate':
      return zlib.createInflate();
    case 'zstd':
      return (zlib as unknown as { createZstdDecompress(): Transform }).createZstdDecompress();
  }
}

/**
 * Resolves the body (inflated when compressed). Rejects with
 * ERR_RECEIVER_BODY_TOO_LARGE, ERR_RECEIVER_BAD_GZIP (corrupt or truncated)
 * or ERR_RECEIVER_CLIENT_ABORTED. After a rejection the rest of the body is
 * not read; the caller decides whether to drain it or close the connection.
 */
export function readRequestBody(req: IncomingMessage, options: BodyReadOptions): Promise<Buffer> {
  const { maxBytes } = options;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const inflater = options.encoding === null ? null : createInflater(options.encoding);
    let wireBytes = 0;
    let bodyBytes = 0;
    let settled = false;

    const detach = (): void => {
      settled = true;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('close', onClose);
      req.off('error', onError);
    };
    const fail = (err: BetraceError): void => {
      if (settled) return;
      detach();
      inflater?.destroy();
      reject(err);
    };
    const succeed = (): void => {
      if (settled) return;
      detach();
      resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, bodyBytes));
    };
    const keep = (chunk: Buffer): boolean => {
      if (bodyBytes + chunk.length > maxBytes) return false;
      bodyBytes += chunk.length;
      chunks.push(chunk);
      return true;
    };

    function onData(chunk: Buffer): void {
      wireBytes += chunk.length;
      if (wireBytes > maxBytes) {
        fail(tooLarge(`request body is larger than the limit of ${maxBytes} bytes`));
        return;
      }
      if (inflater === null) {
        keep(chunk);
        return;
      }
      // Backpressure: the socket waits while zlib catches up.
      if (!inflater.write(chunk)) {
        req.pause();
        inflater.once('drain', () => {
          if (!settled) req.resume();
        });
      }
    }
    function onEnd(): void {
      if (inflater === null) succeed();
      else inflater.end();
    }
    function onClose(): void {
      if (!req.complete) {
        fail(aborted('the sender closed the request before its end'));
      }
    }
    function onError(): void {
      fail(aborted('the request stream failed before its end'));
    }

    if (inflater !== null) {
      inflater.on('data', (chunk: Buffer) => {
        if (!keep(chunk)) {
          fail(tooLarge(`request body inflates to more than the limit of ${maxBytes} bytes`));
        }
      });
      inflater.on('end', succeed);
      inflater.on('error', (err: Error) => {
        const message = `request body is not valid ${options.encoding}: ${err.message}`;
        fail(new BetraceError('ERR_RECEIVER_BAD_GZIP', message));
      });
    }
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('close', onClose);
    req.on('error', onError);
  });
}

function tooLarge(message: string): BetraceError {
  return new BetraceError('ERR_RECEIVER_BODY_TOO_LARGE', message);
}

function aborted(message: string): BetraceError {
  return new BetraceError('ERR_RECEIVER_CLIENT_ABORTED', message);
}
