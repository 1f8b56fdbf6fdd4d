/** A bare node:http(s) client for OTLP/HTTP requests with exact bytes and headers. */

import http from 'node:http';
import https from 'node:https';

/** The answer to one request. */
export interface HttpOutcome {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
  /** True when the request went over a kept-alive connection. */
  readonly reusedSocket: boolean;
  /** True when the server sent 100 Continue. */
  readonly continued: boolean;
}

/** Options of one request. */
export interface HttpRequestOptions {
  readonly method?: string;
  readonly path?: string;
  readonly headers?: http.OutgoingHttpHeaders;
  readonly agent?: http.Agent;
  /** Sends the body in these pieces with chunked encoding instead of one write. */
  readonly chunks?: readonly Buffer[];
  readonly https?: https.RequestOptions;
  /** Sends `Expect: 100-continue` and the body only once the server says 100 Continue. */
  readonly expectContinue?: boolean;
}

/** Sends one request to `endpoint` (host:port) and collects the answer. */
export function sendHttp(
  endpoint: string,
  body: Uint8Array | string | null,
  options: HttpRequestOptions = {},
): Promise<HttpOutcome> {
  const [host, port] = splitEndpoint(endpoint);
  const secure = options.https !== undefined;
  let continued = false;
  return new Promise((resolve, reject) => {
    const request = (secure ? https : http).request(
      {
        host,
        port,
        method: options.method ?? 'POST',
        path: options.path ?? '/v1/traces',
        // With the body held back, the length must be declared up front.
        headers: options.expectContinue === true
          ? { ...options.headers, Expect: '100-continue', 'Content-Length': Buffer.byteLength(body ?? '') }
          : options.headers,
        agent: options.agent,
        ...options.https,
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (chunk: Buffer) => parts.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(parts),
            reusedSocket: request.reusedSocket,
            continued,
          }),
        );
        res.on('error', reject);
      },
    );
    request.on('error', reject);
    if (options.expectContinue === true) {
      request.on('continue', () => {
        continued = true;
        request.end(body ?? undefined);
      });
      request.flushHeaders();
    } else if (options.chunks !== undefined) {
      for (const chunk of options.chunks) request.write(chunk);
      request.end();
    } else {
      request.end(body ?? undefined);
    }
  });
}

function splitEndpoint(endpoint: string): [string, number] {
  const colon = endpoint.lastIndexOf(':');
  return [endpoint.slice(0, colon).replace(/^\[|\]$/g, ''), Number(endpoint.slice(colon + 1))];
}
