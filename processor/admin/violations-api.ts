/**
 * The violations API (PRODUCT.md 6): `GET /v1/violations` with filters,
 * a limit and an opaque cursor, newest first, and `GET /v1/violations/{id}`,
 * served from the bounded in-memory store.
 */

import { AdminError } from './admin-error';
import { badQuery, integerValue, listValues, readQuery, singleValue, timeValue } from './query-params';

import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ViolationStore } from '../violations/violation-store';

/** Records per page unless `limit` says otherwise. */
export const DEFAULT_VIOLATIONS_LIMIT = 100;
/** The largest `limit`. */
export const MAX_VIOLATIONS_LIMIT = 1000;

const LIST_PARAMS = ['rule_id', 'severity', 'trace_id', 'since', 'until', 'limit', 'cursor'];
const SEVERITIES = new Set(['CRITICAL', 'HIGH', 'MEDIUM', 'LOW']);
const TRACE_ID = /^[0-9a-f]{32}$/;

/** Registers the violations API on the admin app. */
export function registerViolationsApi(app: FastifyInstance, store: ViolationStore): void {
  app.get('/v1/violations', async (request) => {
    const query = readQuery(request.query, LIST_PARAMS);
    const severities = listValues(query, 'severity')?.map((s) => s.toUpperCase());
    for (const s of severities ?? []) {
      if (!SEVERITIES.has(s)) throw badQuery(`severity "${s.toLowerCase()}" is not critical, high, medium or low`);
    }
    const traceId = singleValue(query, 'trace_id')?.toLowerCase();
    if (traceId !== undefined && !TRACE_ID.test(traceId)) throw badQuery('trace_id must be 32 hex characters');
    const sinceMs = timeValue(query, 'since');
    const untilMs = timeValue(query, 'until');
    const cursor = singleValue(query, 'cursor');
    let page;
    try {
      page = store.query({
        ruleId: singleValue(query, 'rule_id'),
        severities: severities === undefined ? undefined : new Set(severities),
        traceId,
        sinceMs,
        untilMs,
        limit: integerValue(query, 'limit', 1, MAX_VIOLATIONS_LIMIT) ?? DEFAULT_VIOLATIONS_LIMIT,
        cursor: cursor === '' ? undefined : cursor,
      });
    } catch (err) {
      if (err instanceof RangeError) throw new AdminError(400, 'ERR_ADMIN_BAD_CURSOR', err.message);
      throw err;
    }
    return { violations: page.records, next_cursor: page.nextCursor };
  });

  app.get('/v1/violations/:id', async (request: FastifyRequest<{ Params: { id: string } }>) => {
    const record = store.get(request.params.id.toLowerCase());
    if (record === undefined) {
      throw new AdminError(404, 'ERR_ADMIN_VIOLATION_NOT_FOUND', `no violation with id "${request.params.id}" in the store`);
    }
    return record;
  });
}
