/**
 * The rules API under /v1/rules (PRODUCT.md 6, docs/admin-api.md): list,
 * get, create, update, delete, enable, disable, validate and test. Bodies
 * are JSON objects with the rule-file field names; every rule answer
 * carries the rule's ETag, and PUT, DELETE, enable and disable honour
 * If-Match.
 */

import { hasErrors } from '../../dsl/diagnostics';
import { compileRule, parseRuleDefinition } from '../../dsl/rule-file';
import { isIfNoneMatchHit } from '../rules/rule-etag';
import { READ_ONLY_RULE_FIELDS, assertJsonObject, compileConditionInput, compileRuleInput, invalidRule } from '../rules/rule-input';
import { runExampleTrial, runOtlpTrial } from '../rules/rule-trial';
import { AdminError, toApiDiagnostic } from './admin-error';
import { badQuery, booleanValue, listValues, readQuery } from './query-params';
import { toRuleView } from './rule-view';

import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Program } from '../../dsl/rule';
import type { RuleEntry } from '../rules/rule-catalog';
import type { RuleManager } from '../rules/rule-manager';
import type { ApiDiagnostic } from './admin-error';

const SEVERITIES = new Set(['CRITICAL', 'HIGH', 'MEDIUM', 'LOW']);
const LIST_PARAMS = ['enabled', 'severity', 'tag', 'source'];
const VALIDATE_FIELDS = ['condition', 'dialect'];
const TEST_FIELDS = ['condition', 'dialect', 'rule_id', 'trace', 'otlp'];

type IdRequest = FastifyRequest<{ Params: { id: string } }>;

/** Registers the rules API on the admin app. */
export function registerRulesApi(app: FastifyInstance, manager: RuleManager): void {
  app.get('/v1/rules', async (request) => {
    const entries = filterRules(manager.catalog.entries, request.query);
    return { rules: entries.map(toRuleView), rule_set_version: manager.catalog.ruleSet.version };
  });

  app.get('/v1/rules/:id', async (request: IdRequest, reply) => {
    const entry = findRule(manager, request.params.id);
    if (isIfNoneMatchHit(header(request, 'if-none-match'), entry.etag)) {
      return reply.code(304).header('etag', entry.etag).send();
    }
    return sendRule(reply, entry, 200);
  });

  app.post('/v1/rules', async (request, reply) => {
    const input = compileRuleInput(request.body);
    const entry = await manager.create(input.rule);
    reply.header('location', `/v1/rules/${encodeURIComponent(entry.rule.id)}`);
    return sendRule(reply, entry, 201, input.warnings);
  });

  app.put('/v1/rules/:id', async (request: IdRequest, reply) => {
    const input = compileRuleInput(request.body, request.params.id);
    const entry = await manager.update(request.params.id, input.rule, header(request, 'if-match'));
    return sendRule(reply, entry, 200, input.warnings);
  });

  app.delete('/v1/rules/:id', async (request: IdRequest, reply) => {
    await manager.remove(request.params.id, header(request, 'if-match'));
    return reply.code(204).send();
  });

  for (const [action, enabled] of [['enable', true], ['disable', false]] as const) {
    app.post(`/v1/rules/:id/${action}`, async (request: IdRequest, reply) => {
      const { entry } = await manager.setEnabled(request.params.id, enabled, header(request, 'if-match'));
      return sendRule(reply, entry, 200);
    });
  }

  app.post('/v1/rules/validate', async (request) => validate(request.body));

  app.post('/v1/rules/test', async (request) => {
    const body = assertJsonObject(request.body, '{"condition"} or {"rule_id"}, with {"trace"} or {"otlp"}');
    assertKnownFields(body, TEST_FIELDS);
    const program = programUnderTest(manager, body);
    if ((body.trace === undefined) === (body.otlp === undefined)) {
      throw new AdminError(400, 'ERR_ADMIN_BAD_BODY', 'give the sample trace as exactly one of "trace" (the rule-file example shape) and "otlp" (an OTLP/JSON export request)');
    }
    return body.trace !== undefined ? runExampleTrial(program, body.trace) : runOtlpTrial(program, body.otlp);
  });
}

function sendRule(reply: FastifyReply, entry: RuleEntry, status: number, warnings: readonly ApiDiagnostic[] = []): FastifyReply {
  const view = toRuleView(entry);
  const body = warnings.length > 0 ? { ...view, warnings } : view;
  return reply.code(status).header('etag', entry.etag).send(body);
}

function findRule(manager: RuleManager, id: string): RuleEntry {
  const entry = manager.catalog.byId.get(id);
  if (entry === undefined) throw new AdminError(404, 'ERR_ADMIN_RULE_NOT_FOUND', `no rule with id "${id}"`);
  return entry;
}

function filterRules(entries: readonly RuleEntry[], rawQuery: unknown): RuleEntry[] {
  const query = readQuery(rawQuery, LIST_PARAMS);
  const enabled = booleanValue(query, 'enabled');
  const severities = listValues(query, 'severity')?.map((s) => s.toUpperCase());
  for (const s of severities ?? []) {
    if (!SEVERITIES.has(s)) throw badQuery(`severity "${s.toLowerCase()}" is not critical, high, medium or low`);
  }
  const tags = query.get('tag');
  const sources = listValues(query, 'source');
  for (const s of sources ?? []) {
    if (s !== 'file' && s !== 'api') throw badQuery(`source "${s}" is not file or api`);
  }
  return entries.filter((e) =>
    (enabled === undefined || e.rule.enabled === enabled) &&
    (severities === undefined || severities.includes(e.rule.severity)) &&
    (tags === undefined || tags.every((t) => e.rule.tags.includes(t))) &&
    (sources === undefined || sources.includes(e.source)));
}

/** `{condition, dialect?}` compiles the condition alone; a body with an id is read as a whole rule. */
function validate(rawBody: unknown): { valid: boolean; diagnostics: ApiDiagnostic[] } {
  const body = assertJsonObject(rawBody, '{"condition": "..."} or a whole rule');
  if (body.id === undefined) {
    assertKnownFields(body, VALIDATE_FIELDS);
    if (body.condition === undefined) throw new AdminError(400, 'ERR_ADMIN_BAD_BODY', 'the body needs "condition": the rule text');
    const compiled = compileConditionInput(body.condition, body.dialect);
    const diagnostics = compiled.diagnostics.map((d) => toApiDiagnostic(d, 'condition'));
    return { valid: compiled.program !== null, diagnostics };
  }
  const fields = { ...body };
  for (const key of READ_ONLY_RULE_FIELDS) delete fields[key];
  const read = parseRuleDefinition(fields);
  const diagnostics = read.diagnostics.map((d) => toApiDiagnostic(d));
  if (read.definition === null || hasErrors(read.diagnostics)) return { valid: false, diagnostics };
  const compiled = compileRule(read.definition);
  diagnostics.push(...compiled.diagnostics.map((d) => toApiDiagnostic(d, 'condition')));
  return { valid: compiled.rule !== null, diagnostics };
}

function programUnderTest(manager: RuleManager, body: Record<string, unknown>): Program {
  if ((body.condition === undefined) === (body.rule_id === undefined)) {
    throw new AdminError(400, 'ERR_ADMIN_BAD_BODY', 'name the rule as exactly one of "condition" (rule text) and "rule_id" (a loaded rule)');
  }
  if (body.rule_id !== undefined) {
    if (body.dialect !== undefined) throw new AdminError(400, 'ERR_ADMIN_BAD_BODY', '"dialect" goes with "condition", not with "rule_id"');
    if (typeof body.rule_id !== 'string') throw new AdminError(400, 'ERR_ADMIN_BAD_BODY', 'rule_id must be a string');
    return findRule(manager, body.rule_id).rule.program;
  }
  const compiled = compileConditionInput(body.condition, body.dialect);
  if (compiled.program === null) throw invalidRule(compiled.diagnostics.map((d) => toApiDiagnostic(d, 'condition')));
  return compiled.program;
}

function assertKnownFields(body: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(body)) {
    if (!allowed.includes(key)) {
      throw new AdminError(400, 'ERR_ADMIN_BAD_BODY', `unknown field "${key}" (this endpoint takes ${allowed.join(', ')})`);
    }
  }
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}
