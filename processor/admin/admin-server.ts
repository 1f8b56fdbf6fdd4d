/**
 * The admin listener (default 127.0.0.1:8888): Prometheus metrics, health
 * and readiness, and the rules and violations APIs, which register on
 * `app` before `start()`. With a bearer token configured every endpoint
 * but /healthz and /readyz asks for it. Every error answer is JSON
 * `{code, message, diagnostics?}`.
 */

import Fastify from 'fastify';

import { AdminError } from './admin-error';
import { createTokenCheck } from './admin-token';

import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Registry } from 'prom-client';
import type { Logger } from '../log';
import type { ApiErrorBody } from './admin-error';

/** Why the processor is not ready; empty when it is. */
export type ReadinessCheck = () => readonly string[];

/** Largest request body by default: rules with example traces fit many times over. */
export const DEFAULT_ADMIN_BODY_LIMIT_BYTES = 1024 * 1024;

/** Paths that answer without a token, so that probes need no secret. */
const OPEN_PATHS: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

/** How the admin listener is set up. */
export interface AdminServerOptions {
  /** host:port; port 0 picks a free one. */
  readonly endpoint: string;
  readonly registry: Registry;
  readonly readiness: ReadinessCheck;
  readonly logger: Logger;
  /** Largest request body accepted, in bytes (default DEFAULT_ADMIN_BODY_LIMIT_BYTES). */
  readonly bodyLimitBytes?: number;
  /** The bearer token every endpoint but /healthz and /readyz asks for; null or absent: none. */
  readonly token?: string | null;
}

/** A created admin listener; routes register on `app` before `start()`. */
export interface AdminServer {
  readonly app: FastifyInstance;
  /** host:port actually bound, after start(). */
  readonly endpoint: string;
  start(): Promise<void>;
  close(): Promise<void>;
}

/** Methods the admin routes use, checked to tell a wrong method (405) from a wrong path (404). */
const ROUTE_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE'] as const;

/** Splits `host:port` (IPv6 hosts in brackets). */
export function splitHostPort(endpoint: string): { host: string; port: number } {
  const match = /^\[?([^\]]*?)\]?:(\d+)$/.exec(endpoint);
  if (match === null) throw new Error(`endpoint "${endpoint}" is not host:port`);
  return { host: match[1] === '' ? '0.0.0.0' : match[1], port: Number(match[2]) };
}

/** Creates the listener with metrics, health, token check and JSON errors; it listens on `start()`. */
export function createAdminServer(options: AdminServerOptions): AdminServer {
  const logger = options.logger.child({ component: 'admin' });
  const app = Fastify({ logger: false, bodyLimit: options.bodyLimitBytes ?? DEFAULT_ADMIN_BODY_LIMIT_BYTES });
  let bound = options.endpoint;

  useJsonBodiesOnly(app);
  if (options.token !== undefined && options.token !== null) requireToken(app, options.token);
  app.setErrorHandler((err, request, reply) => answerError(err as FastifyError | Error, request, reply, logger));
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    const allowed = ROUTE_METHODS.filter((method) => app.findRoute({ method, url: path }) !== null);
    if (allowed.length > 0) {
      return sendError(reply, new AdminError(405, 'ERR_ADMIN_METHOD_NOT_ALLOWED',
        `${path} takes ${allowed.join(', ')}, not ${request.method}`, { headers: { allow: allowed.join(', ') } }));
    }
    return sendError(reply, new AdminError(404, 'ERR_ADMIN_NOT_FOUND', `no endpoint ${request.method} ${path}`));
  });

  app.get('/metrics', async (_request, reply) => {
    const text = await options.registry.metrics();
    return reply.type(options.registry.contentType).send(text);
  });
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const reasons = options.readiness();
    if (reasons.length > 0) return reply.code(503).send({ status: 'not ready', reasons });
    return { status: 'ready' };
  });

  return {
    app,
    get endpoint() {
      return bound;
    },
    async start() {
      const { host, port } = splitHostPort(options.endpoint);
      await app.listen({ host, port });
      const address = app.server.address();
      if (address !== null && typeof address === 'object') {
        bound = address.family === 'IPv6' ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
      }
      logger.info({ endpoint: bound, token: options.token !== undefined && options.token !== null }, 'admin listening');
    },
    async close() {
      await app.close();
    },
  };
}

/** Sends an AdminError as the JSON error body, with its headers. */
export function sendError(reply: FastifyReply, err: AdminError): FastifyReply {
  if (err.headers !== undefined) reply.headers(err.headers);
  const body: ApiErrorBody = err.toBody();
  return reply.code(err.statusCode).type('application/json; charset=utf-8').send(body);
}

/**
 * Bodies are JSON or nothing: other media types answer 415, and an empty
 * JSON body reads as no body (a POST to /enable needs none).
 */
function useJsonBodiesOnly(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if ((body as string).trim() === '') {
      done(null, undefined);
      return;
    }
    parseJson(request, body as string, done);
  });
}

function requireToken(app: FastifyInstance, token: string): void {
  const check = createTokenCheck(token);
  app.addHook('onRequest', async (request, reply) => {
    if (OPEN_PATHS.has(request.url.split('?')[0])) return;
    const given = request.headers.authorization;
    if (check.accepts(given)) return;
    // RFC 6750 section 3: a presented token that is wrong says invalid_token.
    const challenge = given === undefined ? 'Bearer realm="betrace"' : 'Bearer realm="betrace", error="invalid_token"';
    const message = given === undefined
      ? 'this endpoint needs Authorization: Bearer <token>'
      : 'the bearer token is not the configured one';
    return sendError(reply, new AdminError(401, 'ERR_ADMIN_UNAUTHORIZED', message, { headers: { 'www-authenticate': challenge } }));
  });
}

function answerError(err: FastifyError | Error, request: FastifyRequest, reply: FastifyReply, logger: Logger): FastifyReply {
  if (err instanceof AdminError) return sendError(reply, err);
  const code = (err as FastifyError).code;
  const status = (err as FastifyError).statusCode;
  if (code === 'FST_ERR_CTP_BODY_TOO_LARGE' || status === 413) {
    return sendError(reply, new AdminError(413, 'ERR_ADMIN_BODY_TOO_LARGE', `the request body is over the limit of ${request.routeOptions.bodyLimit ?? DEFAULT_ADMIN_BODY_LIMIT_BYTES} bytes`));
  }
  if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' || status === 415) {
    const type = request.headers['content-type'] ?? '(none)';
    return sendError(reply, new AdminError(415, 'ERR_ADMIN_UNSUPPORTED_MEDIA_TYPE', `request bodies must be application/json, not ${type}`));
  }
  if (code === 'FST_ERR_CTP_INVALID_JSON_BODY' || code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || err instanceof SyntaxError) {
    return sendError(reply, new AdminError(400, 'ERR_ADMIN_BAD_JSON', `the request body is not valid JSON (${err.message})`));
  }
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return sendError(reply, new AdminError(400, 'ERR_ADMIN_BAD_BODY', err.message));
  }
  logger.error({ err, method: request.method, url: request.url }, 'admin request failed');
  return sendError(reply, new AdminError(500, 'ERR_ADMIN_INTERNAL', 'the request failed inside the processor; the log has the details'));
}
