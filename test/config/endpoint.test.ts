import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { parseEndpoint } from '../../config/endpoint';

import type { EndpointAddress } from '../../config/endpoint';

describe('parseEndpoint', () => {
  const valid: ReadonlyArray<[string, boolean, EndpointAddress]> = [
    ['127.0.0.1:4317', false, { scheme: '', host: '127.0.0.1', port: 4317, path: '' }],
    ['localhost:0', false, { scheme: '', host: 'localhost', port: 0, path: '' }],
    ['[::1]:4317', false, { scheme: '', host: '::1', port: 4317, path: '' }],
    ['[::]:4318', false, { scheme: '', host: '::', port: 4318, path: '' }],
    ['tempo.monitoring.svc:4317', false, { scheme: '', host: 'tempo.monitoring.svc', port: 4317, path: '' }],
    ['http://tempo:4318', true, { scheme: 'http', host: 'tempo', port: 4318, path: '' }],
    ['http://tempo:4318/', true, { scheme: 'http', host: 'tempo', port: 4318, path: '' }],
    ['https://tempo', true, { scheme: 'https', host: 'tempo', port: 443, path: '' }],
    ['http://tempo', true, { scheme: 'http', host: 'tempo', port: 80, path: '' }],
    ['http://[::1]:4318/v1/traces', true, { scheme: 'http', host: '::1', port: 4318, path: '/v1/traces' }],
    ['tempo:4317', true, { scheme: '', host: 'tempo', port: 4317, path: '' }],
  ];
  for (const [text, allowUrl, expected] of valid) {
    it(`splits "${text}"`, () => {
      assert.deepEqual(parseEndpoint(text, { allowUrl }), expected);
    });
  }

  const invalid: ReadonlyArray<[string, boolean, string]> = [
    ['::1:4317', false, 'endpoint "::1:4317" is not host:port (write IPv6 addresses in brackets: [::1]:4317)'],
    ['tempo', false, 'endpoint "tempo" is not host:port'],
    [':4317', false, 'endpoint ":4317" has no host (write 0.0.0.0:PORT to listen on every interface)'],
    ['tempo:', false, 'endpoint "tempo:" has an invalid port "" (0 to 65535)'],
    ['tempo:abc', false, 'endpoint "tempo:abc" has an invalid port "abc" (0 to 65535)'],
    ['tempo:65536', false, 'endpoint "tempo:65536" has an invalid port "65536" (0 to 65535)'],
    ['te mpo:1', false, 'endpoint "te mpo:1" has an invalid host "te mpo"'],
    ['[tempo]:1', false, 'endpoint "[tempo]:1" has "tempo" in brackets, which is not an IPv6 address'],
    ['http://tempo:4318', false, 'endpoint "http://tempo:4318" must be host:port, not a URL'],
    ['grpc://tempo:4317', true, 'endpoint "grpc://tempo:4317" must use http:// or https://, not grpc://'],
    ['http://user:pw@tempo:4318', true,
      'endpoint "http://user:pw@tempo:4318" must not carry a user, a query or a fragment (put credentials in headers)'],
    ['http://tempo:99999', true, 'endpoint "http://tempo:99999" is not a valid URL'],
  ];
  for (const [text, allowUrl, message] of invalid) {
    it(`rejects "${text}"${allowUrl ? ' as a URL endpoint' : ''}`, () => {
      assert.throws(() => parseEndpoint(text, { allowUrl }), (err: { code: string; message: string }) => {
        assert.equal(err.code, 'ERR_CONFIG_BAD_ENDPOINT');
        assert.equal(err.message, message);
        return true;
      });
    });
  }
});
