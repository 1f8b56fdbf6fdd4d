import assert from 'node:assert/strict';
import { describe, it } from 'node:test';

import { ConfigError } from '../../config/config-error';
import { loadConfigFile } from '../../config/load';
import { testPath } from '../helpers/paths';

import type { ConfigDiagnostic } from '../../config/errors';

/** What one diagnostic must say; `file` is always the fixture's path. */
type Expected = Omit<ConfigDiagnostic, 'file'>;

interface FixtureCase {
  readonly file: string;
  readonly diagnostics: readonly Expected[];
}

function fixture(name: string): string {
  return testPath('config', 'testdata', name);
}

function loadError(file: string): ConfigError {
  try {
    loadConfigFile(file, {});
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail(`${file} loaded without an error`);
}

const CASES: readonly FixtureCase[] = [
  {
    file: 'unknown_key.yaml',
    diagnostics: [
      { code: 'ERR_CONFIG_UNKNOWN_KEY', path: 'buffer.idle_timout', line: 6, column: 3,
        message: 'unknown key "idle_timout" (did you mean "idle_timeout"?)' },
      { code: 'ERR_CONFIG_UNKNOWN_KEY', path: 'buffer.maxSpansPerTrace', line: 8, column: 3,
        message: 'unknown key "maxSpansPerTrace" (did you mean "max_spans_per_trace"?)' },
      { code: 'ERR_CONFIG_UNKNOWN_KEY', path: 'exporter', line: 9, column: 1,
        message: 'unknown key "exporter" (did you mean "exporters"?)' },
      // `exporters` is absent, so the cross-key error points at the document's start.
      { code: 'ERR_CONFIG_NO_EXPORTER', path: 'exporters', line: 1, column: 1,
        message: 'nothing goes out: set exporters.otlp.endpoint, or exporters.console.enabled: true' },
    ],
  },
  {
    file: 'nested_key.yaml',
    diagnostics: [
      { code: 'ERR_CONFIG_UNKNOWN_KEY', path: 'receivers.otlp.grpc', line: 3, column: 5,
        message: 'unknown key "grpc" (did you mean "protocols.grpc"?)' },
      { code: 'ERR_CONFIG_NO_RECEIVER', path: 'receivers.otlp.protocols', line: 3, column: 5,
        message: 'no receiver protocol is listed, so no data can come in (add grpc: or http: under receivers.otlp.protocols)' },
    ],
  },
  {
    file: 'bad_duration.yaml',
    diagnostics: [
      { code: 'ERR_CONFIG_BAD_DURATION', path: 'buffer.idle_timeout', line: 6, column: 17,
        message: 'duration "5" has no unit (write e.g. "5s" or "5ms"; units: ns, us, ms, s, m, h)' },
      { code: 'ERR_CONFIG_BAD_DURATION', path: 'buffer.root_grace', line: 7, column: 15,
        message: 'duration "-2s" is negative' },
      { code: 'ERR_CONFIG_BAD_DURATION', path: 'buffer.max_trace_age', line: 8, column: 18,
        message: 'duration "500us" is below 1ms, the smallest non-zero duration' },
      { code: 'ERR_CONFIG_BAD_DURATION', path: 'buffer.decided_cache.ttl', line: 10, column: 10,
        message: 'duration "10 minutes" has an unknown unit " minutes" (units: ns, us, ms, s, m, h)' },
      { code: 'ERR_CONFIG_OUT_OF_RANGE', path: 'exporters.otlp.timeout', line: 14, column: 14,
        message: 'must be more than 0, not "0s"' },
      { code: 'ERR_CONFIG_BAD_DURATION', path: 'exporters.otlp.retry.initial_interval', line: 15, column: 32,
        message: 'duration "5x" has an unknown unit "x" (units: ns, us, ms, s, m, h)' },
      { code: 'ERR_CONFIG_BAD_DURATION', path: 'exporters.otlp.retry.max_interval', line: 15, column: 50,
        message: 'duration "30d" has an unknown unit "d" (units: ns, us, ms, s, m, h)' },
      { code: 'ERR_CONFIG_OUT_OF_RANGE', path: 'shutdown_timeout', line: 16, column: 19,
        message: 'must be at most 2147483647ms (about 24.8 days), not "25000h"' },
    ],
  },
  {
    file: 'bad_types.yaml',
    diagnostics: [
      { code: 'ERR_CONFIG_BAD_TYPE', path: 'receivers.otlp.protocols.grpc.max_recv_msg_size_mib', line: 5, column: 32,
        message: 'must be a number of MiB (fractions allowed, e.g. 0.5), not the string "16"' },
      { code: 'ERR_CONFIG_BAD_TYPE', path: 'buffer.max_traces', line: 7, column: 15,
        message: 'must be a whole number, not the number 1.5' },
      { code: 'ERR_CONFIG_OUT_OF_RANGE', path: 'buffer.max_bytes_mib', line: 8, column: 18,
        message: 'must be more than 0 MiB, not 0' },
      { code: 'ERR_CONFIG_BAD_ENUM', path: 'buffer.on_evict', line: 9, column: 13,
        message: 'must be one of "evaluate", "drop", not the string "evalute" (did you mean "evaluate"?)' },
      { code: 'ERR_CONFIG_BAD_ENUM', path: 'buffer.type', line: 10, column: 9,
        message: 'must be one of "memory", "redis", not the string "memroy" (did you mean "memory"?)' },
      { code: 'ERR_CONFIG_BAD_TYPE', path: 'rules.files', line: 12, column: 10,
        message: 'must be a list of paths or glob patterns (e.g. [rules/*.yaml]), not the string "rules/*.yaml"' },
      // YAML 1.2 core schema: `yes` is a string, not a boolean.
      { code: 'ERR_CONFIG_BAD_TYPE', path: 'rules.watch', line: 13, column: 10,
        message: 'must be true or false, not the string "yes"' },
      { code: 'ERR_CONFIG_BAD_TYPE', path: 'exporters.console', line: 15, column: 12,
        message: 'the value must be a mapping of keys to values, not true' },
      { code: 'ERR_CONFIG_BAD_TYPE', path: 'exporters.otlp.headers.X-Scope-OrgID', line: 18, column: 31,
        message: 'must be a string, not the number 123 (quote it to make it a string)' },
      { code: 'ERR_CONFIG_BAD_TYPE', path: 'telemetry.logs', line: 20, column: 9,
        message: 'the value must be a mapping of keys to values, not a list' },
    ],
  },
  {
    file: 'bad_endpoint.yaml',
    diagnostics: [
      { code: 'ERR_CONFIG_BAD_ENDPOINT', path: 'receivers.otlp.protocols.grpc.endpoint', line: 4, column: 25,
        message: 'endpoint "::1:4317" is not host:port (write IPv6 addresses in brackets: [::1]:4317)' },
      { code: 'ERR_CONFIG_BAD_ENDPOINT', path: 'receivers.otlp.protocols.http.endpoint', line: 5, column: 25,
        message: 'endpoint "127.0.0.1:70000" has an invalid port "70000" (0 to 65535)' },
      { code: 'ERR_CONFIG_BAD_ENDPOINT', path: 'admin.endpoint', line: 11, column: 13,
        message: 'endpoint "http://127.0.0.1:8888" must be host:port, not a URL' },
      { code: 'ERR_CONFIG_BAD_ENDPOINT', path: 'exporters.otlp.endpoint', line: 8, column: 15,
        message: 'endpoint "tempo:4318" must be a URL with protocol http/protobuf (e.g. "http://tempo:4318")' },
    ],
  },
  {
    file: 'no_exporter.yaml',
    diagnostics: [
      { code: 'ERR_CONFIG_NO_EXPORTER', path: 'exporters', line: 6, column: 3,
        message: 'nothing goes out: set exporters.otlp.endpoint, or exporters.console.enabled: true' },
    ],
  },
  {
    file: 'no_receiver.yaml',
    diagnostics: [
      { code: 'ERR_CONFIG_NO_RECEIVER', path: 'receivers.otlp.protocols', line: 3, column: 16,
        message: 'no receiver protocol is listed, so no data can come in (add grpc: or http: under receivers.otlp.protocols)' },
    ],
  },
  {
    file: 'loop_to_self.yaml',
    diagnostics: [
      { code: 'ERR_CONFIG_EXPORT_LOOP', path: 'exporters.otlp.endpoint', line: 7, column: 15,
        message: 'endpoint "localhost:4317" is the processor\'s own gRPC receiver (receivers.otlp.protocols.grpc.endpoint); exporting there would loop' },
    ],
  },
  {
    file: 'loop_http_url.yaml',
    diagnostics: [
      { code: 'ERR_CONFIG_EXPORT_LOOP', path: 'exporters.otlp.endpoint', line: 8, column: 15,
        message: 'endpoint "http://127.0.0.1:4318/v1/traces" is the processor\'s own HTTP receiver (receivers.otlp.protocols.http.endpoint); exporting there would loop' },
    ],
  },
  {
    file: 'port_clash.yaml',
    diagnostics: [
      { code: 'ERR_CONFIG_PORT_CLASH', path: 'receivers.otlp.protocols.http.endpoint', line: 5, column: 25,
        message: 'the HTTP receiver is on port 9000, which the gRPC receiver (receivers.otlp.protocols.grpc.endpoint) already uses' },
      { code: 'ERR_CONFIG_PORT_CLASH', path: 'admin.endpoint', line: 9, column: 13,
        message: 'the admin endpoint is on port 9000, which the gRPC receiver (receivers.otlp.protocols.grpc.endpoint) already uses' },
    ],
  },
  {
    file: 'tls_incomplete.yaml',
    diagnostics: [
      { code: 'ERR_CONFIG_BAD_TLS', path: 'receivers.otlp.protocols.grpc.tls.cert_file', line: 5, column: 27,
        message: 'cert_file is set but key_file is not (TLS needs both)' },
      { code: 'ERR_CONFIG_BAD_TLS', path: 'receivers.otlp.protocols.http.tls.client_ca_file', line: 7, column: 32,
        message: 'client_ca_file needs cert_file and key_file: client certificates are checked only over TLS' },
      { code: 'ERR_CONFIG_BAD_TLS', path: 'exporters.otlp.tls.insecure', line: 11, column: 22,
        message: 'insecure: true turns TLS off, but ca_file is set' },
    ],
  },
  {
    file: 'duplicate_key.yaml',
    diagnostics: [
      { code: 'ERR_CONFIG_DUPLICATE_KEY', path: 'buffer.max_traces', line: 7, column: 3,
        message: 'key "max_traces" appears twice in the same mapping (first on line 6)' },
    ],
  },
  {
    file: 'syntax_error.yaml',
    diagnostics: [
      // The unclosed flow mapping of line 4 is noticed where the next key starts.
      { code: 'ERR_CONFIG_YAML_SYNTAX', path: '', line: 5, column: 1,
        message: 'flow map in block collection must be sufficiently indented and end with a }' },
    ],
  },
];

describe('loadConfigFile on invalid fixtures', () => {
  for (const c of CASES) {
    it(`reports every problem of ${c.file} with its place`, () => {
      const file = fixture(c.file);
      const err = loadError(file);
      const first = c.diagnostics[0] as Expected;
      assert.equal(err.code, first.code);
      assert.equal(err.diagnostics.length, c.diagnostics.length,
        `got:\n${err.diagnostics.map((d) => `${d.code} ${d.path} ${d.line}:${d.column} ${d.message}`).join('\n')}`);
      c.diagnostics.forEach((want, i) => {
        const got = err.diagnostics[i] as ConfigDiagnostic;
        assert.equal(got.code, want.code, `diagnostic ${i}`);
        assert.equal(got.path, want.path, `diagnostic ${i}`);
        assert.equal(got.file, file, `diagnostic ${i}`);
        assert.equal(got.line, want.line, `diagnostic ${i} (${want.path})`);
        assert.equal(got.column, want.column, `diagnostic ${i} (${want.path})`);
        assert.equal(got.message, want.message, `diagnostic ${i}`);
      });
    });
  }

  it('names the file, place, code and path of each problem in the message', () => {
    const file = fixture('duplicate_key.yaml');
    const err = loadError(file);
    assert.equal(err.code, 'ERR_CONFIG_DUPLICATE_KEY');
    assert.equal(err.message,
      `${file}:7:3: ERR_CONFIG_DUPLICATE_KEY: buffer.max_traces: key "max_traces" appears twice in the same mapping (first on line 6)`);
  });

  it('lists several problems one per line', () => {
    const err = loadError(fixture('bad_duration.yaml'));
    assert.equal(err.code, 'ERR_CONFIG_BAD_DURATION');
    assert.equal(err.message.split('\n').length, 8);
  });

  it('reports a file that cannot be read', () => {
    const file = fixture('does_not_exist.yaml');
    const err = loadError(file);
    assert.equal(err.code, 'ERR_CONFIG_READ_FAILED');
    assert.deepEqual(err.diagnostics, [{
      code: 'ERR_CONFIG_READ_FAILED',
      message: 'cannot read the config file (ENOENT)',
      path: '',
      file,
      line: 0,
      column: 0,
    }]);
  });
});
