/**
 * Bearer-token access to the admin listener over real HTTP: every endpoint
 * but /healthz and /readyz asks for the token; the environment variable
 * wins over the file; a configured token that cannot be used stops
 * startup.
 */

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';

import { createTokenCheck, readAdminToken } from '../../processor/admin/admin-token';
import { startAdminHarness } from './admin-harness';

import type { AdminHarness } from './admin-harness';

const RULES = `rules:
  - id: fraud-check
    condition: when { payment.process } always { payment.fraud_check }
`;
const TOKEN = 's3cret-token-for-tests';

describe('admin access with admin.token_file', () => {
  let h: AdminHarness;
  before(async () => {
    h = await startAdminHarness({ rules: { 'a.yaml': RULES }, tokenFile: `${TOKEN}\n` });
  });
  after(() => h.stop());

  it('answers 401 with WWW-Authenticate: Bearer when the header is missing', async () => {
    for (const [method, path] of [['GET', '/v1/rules'], ['GET', '/metrics'], ['GET', '/v1/violations'], ['POST', '/v1/rules/fraud-check/disable'], ['GET', '/no/such/path']]) {
      const res = await h.request(method, path);
      assert.equal(res.status, 401, `${method} ${path}`);
      assert.equal(res.body.code, 'ERR_ADMIN_UNAUTHORIZED');
      assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer realm="betrace"$/);
    }
    assert.equal(h.service.pipeline.ruleSet.byId.get('fraud-check')?.enabled, true);
  });

  it('answers 401 with error="invalid_token" for a wrong token or another scheme', async () => {
    for (const authorization of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, `Basic ${Buffer.from(`a:${TOKEN}`).toString('base64')}`, TOKEN]) {
      const res = await h.request('GET', '/v1/rules', undefined, { authorization });
      assert.equal(res.status, 401, authorization);
      assert.equal(res.body.code, 'ERR_ADMIN_UNAUTHORIZED');
      assert.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    }
  });

  it('serves every endpoint with the token (the file newline is not part of it)', async () => {
    const auth = { authorization: `Bearer ${TOKEN}` };
    assert.equal((await h.request('GET', '/v1/rules', undefined, auth)).status, 200);
    assert.equal((await h.request('GET', '/v1/violations', undefined, auth)).status, 200);
    const metrics = await fetch(`${h.baseUrl}/metrics`, { headers: auth });
    assert.equal(metrics.status, 200);
    assert.match(await metrics.text(), /betrace_rules_loaded 1/);
    assert.equal((await h.request('GET', '/v1/rules', undefined, { authorization: `bearer  ${TOKEN}` })).status, 200);
  });

  it('leaves /healthz and /readyz open', async () => {
    assert.equal((await h.request('GET', '/healthz')).status, 200);
    assert.equal((await h.request('GET', '/readyz')).status, 200);
    assert.equal((await h.request('GET', '/healthz?probe=1')).status, 200);
  });
});

describe('admin access with BETRACE_ADMIN_TOKEN', () => {
  let h: AdminHarness;
  before(async () => {
    h = await startAdminHarness({ rules: { 'a.yaml': RULES }, tokenFile: 'file-token', env: { BETRACE_ADMIN_TOKEN: 'env-token' } });
  });
  after(() => h.stop());

  it('takes the variable over the file', async () => {
    assert.equal((await h.request('GET', '/v1/rules', undefined, { authorization: 'Bearer env-token' })).status, 200);
    assert.equal((await h.request('GET', '/v1/rules', undefined, { authorization: 'Bearer file-token' })).status, 401);
  });
});

describe('admin access without a token', () => {
  let h: AdminHarness;
  before(async () => {
    h = await startAdminHarness({ rules: { 'a.yaml': RULES } });
  });
  after(() => h.stop());

  it('serves every endpoint without asking, on the loopback address', async () => {
    assert.equal((await h.request('GET', '/v1/rules')).status, 200);
    assert.match(h.service.endpoints().admin, /^127\.0\.0\.1:\d+$/);
  });
});

describe('admin token that cannot be used', () => {
  it('stops startup for an empty token file', async () => {
    await assert.rejects(startAdminHarness({ rules: { 'a.yaml': RULES }, tokenFile: ' \n' }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_ADMIN_TOKEN_INVALID');
      assert.match(err.message, /admin-token holds no admin token/);
      return true;
    });
  });

  it('stops startup for a token with whitespace inside', async () => {
    await assert.rejects(startAdminHarness({ rules: { 'a.yaml': RULES }, tokenFile: 'two words' }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_ADMIN_TOKEN_INVALID');
      return true;
    });
  });
});

describe('readAdminToken', () => {
  it('stops startup for a token file that cannot be read', () => {
    assert.throws(() => readAdminToken({ endpoint: '127.0.0.1:0', tokenFile: '/nonexistent/betrace-admin-token', tokenFromEnv: '' }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_ADMIN_TOKEN_UNREADABLE');
      assert.match(err.message, /\/nonexistent\/betrace-admin-token/);
      return true;
    });
  });

  it('asks for no token when neither the file nor the variable is set', () => {
    assert.equal(readAdminToken({ endpoint: '127.0.0.1:0', tokenFile: '', tokenFromEnv: '' }), null);
    assert.equal(readAdminToken({ endpoint: '127.0.0.1:0', tokenFile: '', tokenFromEnv: ' abc\n' }), 'abc');
  });
});

describe('createTokenCheck', () => {
  it('accepts only the exact token after Bearer', () => {
    const check = createTokenCheck('abc');
    assert.equal(check.accepts('Bearer abc'), true);
    assert.equal(check.accepts('Bearer abcd'), false);
    assert.equal(check.accepts('Bearer ab'), false);
    assert.equal(check.accepts('Bearer '), false);
    assert.equal(check.accepts('abc'), false);
    assert.equal(check.accepts(undefined), false);
  });
});
