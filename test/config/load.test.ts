import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';

import { createDefaultConfig } from '../../config/defaults';
import { ConfigError } from '../../config/config-error';
import { embeddedDefaultConfig, loadConfigFile, parseConfig } from '../../config/load';
import { BetraceError } from '../../processor/errors';
import { BUNDLED_RULES_DIR } from '../../processor/paths';
import { testPath } from '../helpers/paths';

import type { ConfigDiagnostic } from '../../config/errors';
import type { Config } from '../../config/types';

const MIB = 1024 * 1024;
const GRPC_AND_CONSOLE = `
receivers: { otlp: { protocols: { grpc: } } }
exporters: { console: { enabled: true } }
`;

function fixture(name: string): string {
  return testPath('config', 'testdata', name);
}

function parseError(text: string, source: string, env: NodeJS.ProcessEnv = {}): ConfigError {
  try {
    parseConfig(text, source, env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err;
  }
  assert.fail('the config was accepted');
}

function only(err: ConfigError): ConfigDiagnostic {
  assert.equal(err.diagnostics.length, 1, err.message);
  return err.diagnostics[0] as ConfigDiagnostic;
}

describe('loadConfigFile on valid fixtures', () => {
  it('reads every key of valid_full.yaml, converting units and resolving paths', () => {
    const file = fixture('valid_full.yaml');
    const dir = path.dirname(file);
    const config = loadConfigFile(file, {});
    const expected: Config = {
      source: file,
      receivers: {
        grpc: {
          endpoint: '0.0.0.0:14317',
          maxRecvMsgSizeBytes: Math.floor(0.01 * MIB),
          tls: {
            certFile: path.join(dir, 'tls/server.crt'),
            keyFile: path.join(dir, 'tls/server.key'),
            clientCaFile: '/etc/betrace/ca.crt',
          },
        },
        http: {
          endpoint: '[::]:14318',
          maxRequestBodySizeBytes: 4.5 * MIB,
          tls: {
            certFile: path.join(dir, 'tls/server.crt'),
            keyFile: path.join(dir, 'tls/server.key'),
            clientCaFile: path.join(dir, 'tls/ca.crt'),
          },
        },
      },
      buffer: {
        type: 'redis',
        maxTraces: 1000,
        maxSpansPerTrace: 500,
        maxBytes: 64 * MIB,
        idleTimeoutMs: 1500,
        rootGraceMs: 0,
        maxTraceAgeMs: 90_000,
        onEvict: 'drop',
        decidedCache: { maxTraces: 20, ttlMs: 3_600_000 },
        redis: { url: 'redis://r1:6379,redis://r2:6379', keyPrefix: 'bt:' },
      },
      rules: {
        files: [path.join(dir, 'rules/*.yaml'), '/opt/rules/extra.yaml', path.join(dir, '../shared/**/*.yaml')],
        apiFile: path.join(dir, 'state/api-rules.yaml'),
        watch: false,
      },
      exporters: {
        otlp: {
          endpoint: 'https://tempo.example:4318/otlp/v1/traces',
          protocol: 'http/protobuf',
          headers: { 'X-Scope-OrgID': 'acme', authorization: 'Bearer abc' },
          tls: {
            insecure: false,
            caFile: path.join(dir, 'ca.pem'),
            certFile: path.join(dir, 'client.pem'),
            keyFile: path.join(dir, 'client.key'),
            serverName: 'tempo.internal',
          },
          compression: 'none',
          timeoutMs: 250,
          retry: { initialIntervalMs: 10, maxIntervalMs: 1000, maxElapsedTimeMs: 1500 },
          queue: { enabled: false, maxRequests: 7, maxBytes: 0.5 * MIB },
        },
        console: { enabled: true },
      },
      signing: { keyProvider: 'local', keyFile: path.join(dir, 'keys/ring.yaml'), keyFromEnv: '' },
      admin: { endpoint: '127.0.0.1:0', tokenFile: path.join(dir, 'admin-token'), tokenFromEnv: '' },
      violations: { maxRecords: 3 },
      shutdownTimeoutMs: 2.5,
      telemetry: { logs: { level: 'warn' } },
    };
    assert.deepEqual(config, expected);
  });

  it('turns on only the listed protocol, with its defaults when it has no value', () => {
    const config = loadConfigFile(fixture('valid_minimal.yaml'), {});
    assert.deepEqual(config.receivers.grpc, createDefaultConfig().receivers.grpc);
    assert.equal(config.receivers.http, null);
  });

  it('turns on a protocol written as an empty mapping', () => {
    const config = parseConfig('receivers: { otlp: { protocols: { http: {} } } }\nexporters: { console: { enabled: true } }\n', '', {});
    assert.equal(config.receivers.grpc, null);
    assert.deepEqual(config.receivers.http, createDefaultConfig().receivers.http);
  });

  it('freezes the whole result', () => {
    const config = loadConfigFile(fixture('valid_full.yaml'), {});
    assert.ok(Object.isFrozen(config));
    assert.ok(Object.isFrozen(config.buffer.decidedCache));
    assert.ok(Object.isFrozen(config.rules.files));
    assert.ok(Object.isFrozen(config.exporters.otlp.headers));
    assert.throws(() => {
      (config.buffer as { maxTraces: number }).maxTraces = 1;
    }, TypeError);
  });
});

describe('parseConfig', () => {
  it('keeps rule glob patterns as patterns, resolved against the config folder', () => {
    const text = `${GRPC_AND_CONSOLE}rules: { files: ["*.yaml", "team-a/**/*.yml", "/abs/x.yaml"], api_file: api.yaml }\n`;
    const config = parseConfig(text, '/srv/betrace/conf/betrace.yaml', {});
    assert.deepEqual(config.rules.files, ['/srv/betrace/conf/*.yaml', '/srv/betrace/conf/team-a/**/*.yml', '/abs/x.yaml']);
    assert.equal(config.rules.apiFile, '/srv/betrace/conf/api.yaml');
    assert.equal(config.source, '/srv/betrace/conf/betrace.yaml');
  });

  it('resolves relative paths against the working folder when the source is empty', () => {
    const config = parseConfig(`${GRPC_AND_CONSOLE}signing: { key_file: keys.yaml }\n`, '', {});
    assert.equal(config.signing.keyFile, path.resolve('keys.yaml'));
    assert.equal(config.source, '');
  });

  it('names the source in diagnostics, or <config> when there is none', () => {
    assert.equal(parseError('receivers: {}\n', 'mine.yaml').diagnostics[0]?.file, 'mine.yaml');
    assert.equal(parseError('receivers: {}\n', '').diagnostics[0]?.file, '<config>');
  });

  it('reports an empty file as having no way in and no way out', () => {
    const err = parseError('', 'empty.yaml');
    assert.equal(err.code, 'ERR_CONFIG_NO_RECEIVER');
    assert.deepEqual(err.diagnostics.map((d) => [d.code, d.line, d.column]), [
      ['ERR_CONFIG_NO_RECEIVER', 1, 1],
      ['ERR_CONFIG_NO_EXPORTER', 1, 1],
    ]);
  });

  it('rejects a document that is not a mapping', () => {
    const d = parseError('- a\n- b\n', 'list.yaml').diagnostics[0] as ConfigDiagnostic;
    assert.equal(d.code, 'ERR_CONFIG_BAD_TYPE');
    assert.equal(d.path, '');
    assert.equal(d.message, 'the config must be a mapping of keys to values, not a list');
  });

  it('rejects a key with no value instead of taking the default silently', () => {
    const d = only(parseError(`${GRPC_AND_CONSOLE}buffer:\n  idle_timeout:\n`, 'x.yaml'));
    assert.equal(d.code, 'ERR_CONFIG_BAD_TYPE');
    assert.equal(d.path, 'buffer.idle_timeout');
    assert.equal(d.line, 5);
    assert.equal(d.message, 'has no value (remove the key to keep its default)');
  });

  it('follows YAML anchors and aliases', () => {
    const config = parseConfig(`${GRPC_AND_CONSOLE}buffer: { idle_timeout: &wait 3s, max_trace_age: *wait }\n`, '', {});
    assert.equal(config.buffer.idleTimeoutMs, 3000);
    assert.equal(config.buffer.maxTraceAgeMs, 3000);
  });

  it('rejects a second YAML document', () => {
    const d = only(parseError(`${GRPC_AND_CONSOLE}---\nbuffer: {}\n`, 'two.yaml'));
    assert.equal(d.code, 'ERR_CONFIG_YAML_SYNTAX');
    assert.equal(d.line, 4);
    assert.equal(d.message, 'the file holds more than one YAML document; a config is one document');
  });

  it('reports a bad escape with its place', () => {
    const d = only(parseError(`${GRPC_AND_CONSOLE}buffer: { redis: { key_prefix: "a\\qb" } }\n`, 'esc.yaml'));
    assert.equal(d.code, 'ERR_CONFIG_YAML_SYNTAX');
    assert.equal(d.line, 4);
    assert.equal(d.column, 34);
    assert.equal(d.message, 'invalid escape sequence \\q');
  });

  it('suggests a key one level down when a level is left out', () => {
    const d = only(parseError(`${GRPC_AND_CONSOLE}idle_timeout: 5s\n`, 'x.yaml'));
    assert.equal(d.code, 'ERR_CONFIG_UNKNOWN_KEY');
    assert.equal(d.message, 'unknown key "idle_timeout" (did you mean "buffer.idle_timeout"?)');
  });

  it('gives no suggestion for a key far from every known one', () => {
    const d = only(parseError(`${GRPC_AND_CONSOLE}buffer: { flux_capacitor: 1 }\n`, 'x.yaml'));
    assert.equal(d.code, 'ERR_CONFIG_UNKNOWN_KEY');
    assert.equal(d.message, 'unknown key "flux_capacitor"');
  });

  it('rejects object-prototype names as unknown keys', () => {
    const d = only(parseError(`${GRPC_AND_CONSOLE}buffer: { constructor: 1 }\n`, 'x.yaml'));
    assert.equal(d.code, 'ERR_CONFIG_UNKNOWN_KEY');
    assert.equal(d.path, 'buffer.constructor');
  });

  // Each line is valid but for one problem; it sits on line 2, after the receivers.
  const badValues: ReadonlyArray<[string, string, string, string]> = [
    ['buffer: { redis: { url: "http://r:6379" } }', 'ERR_CONFIG_BAD_VALUE', 'buffer.redis.url',
      '"http://r:6379" is not a redis:// or rediss:// URL with a host (several URLs are separated by commas)'],
    ['buffer: { root_grace: 0.5us }', 'ERR_CONFIG_BAD_DURATION', 'buffer.root_grace',
      'duration "0.5us" is below 1ms, the smallest non-zero duration (write "0s" for none)'],
    ['buffer: { max_trace_age: 0.5us }', 'ERR_CONFIG_BAD_DURATION', 'buffer.max_trace_age',
      'duration "0.5us" is below 1ms, the smallest non-zero duration'],
    ['buffer: { redis: { url: "redis://r:6379,redis://r:99999" } }', 'ERR_CONFIG_BAD_VALUE', 'buffer.redis.url',
      '"redis://r:99999" has port 99999, which is over 65535 (several URLs are separated by commas)'],
    ['rules: { files: [a.yaml, ""] }', 'ERR_CONFIG_BAD_VALUE', 'rules.files[1]', 'must not be empty'],
    ['rules: { files: [a.yaml, 3] }', 'ERR_CONFIG_BAD_TYPE', 'rules.files[1]', 'must be a path or glob pattern, not the number 3'],
    ['exporters: { otlp: { endpoint: "t:1", headers: { "bad header": x } } }', 'ERR_CONFIG_BAD_VALUE',
      'exporters.otlp.headers.bad header', '"bad header" is not a valid header name'],
    ['exporters: { otlp: { endpoint: "t:1", headers: { "X-Ok": "a\\nb" } } }', 'ERR_CONFIG_BAD_VALUE',
      'exporters.otlp.headers.X-Ok', 'header "X-Ok" holds the control character U+000A, which no HTTP or gRPC header may carry'],
    ['exporters: { otlp: { endpoint: "t:1", headers: { A: x, a: y } } }', 'ERR_CONFIG_DUPLICATE_KEY',
      'exporters.otlp.headers.a', 'header "a" appears twice (header names ignore case)'],
    ['exporters: { otlp: { endpoint: "t:1", compression: zstd } }', 'ERR_CONFIG_BAD_ENUM', 'exporters.otlp.compression',
      'must be one of "gzip", "none", not the string "zstd"'],
    ['exporters: { otlp: { endpoint: "t:1", protocol: http } }', 'ERR_CONFIG_BAD_ENUM', 'exporters.otlp.protocol',
      'must be one of "grpc", "http/protobuf", not the string "http"'],
    ['telemetry: { logs: { level: INFO } }', 'ERR_CONFIG_BAD_ENUM', 'telemetry.logs.level',
      'must be one of "trace", "debug", "info", "warn", "error", "silent", not the string "INFO" (did you mean "info"?)'],
    ['signing: { key_provider: vault }', 'ERR_CONFIG_BAD_ENUM', 'signing.key_provider',
      'must be one of "local", not the string "vault"'],
    ['violations: { max_records: -1 }', 'ERR_CONFIG_OUT_OF_RANGE', 'violations.max_records', 'must be at least 1, not -1'],
    ['buffer: { max_bytes_mib: .inf }', 'ERR_CONFIG_BAD_TYPE', 'buffer.max_bytes_mib',
      'must be a number of MiB (fractions allowed, e.g. 0.5), not the number Infinity'],
    ['buffer: { max_spans_per_trace: 9007199254740993 }', 'ERR_CONFIG_OUT_OF_RANGE', 'buffer.max_spans_per_trace',
      'must be at most 9007199254740991, not 9007199254740992'],
    ['exporters: { otlp: { endpoint: 4317 } }', 'ERR_CONFIG_BAD_TYPE', 'exporters.otlp.endpoint',
      'must be a string, not the number 4317 (quote it to make it a string)'],
    ['exporters: { otlp: { endpoint: "http://tempo:4317", tls: { ca_file: ca.pem } } }', 'ERR_CONFIG_BAD_TLS',
      'exporters.otlp.endpoint', 'endpoint "http://tempo:4317" is plaintext http://, but ca_file is set (use https://)'],
    ['exporters: { otlp: { endpoint: "https://tempo:4317", tls: { insecure: true } } }', 'ERR_CONFIG_BAD_TLS',
      'exporters.otlp.tls.insecure', 'insecure: true contradicts the https:// endpoint "https://tempo:4317"'],
    ['exporters: { otlp: { endpoint: "t:1", tls: { key_file: k.pem } } }', 'ERR_CONFIG_BAD_TLS',
      'exporters.otlp.tls.key_file', 'key_file is set but cert_file is not (TLS needs both)'],
    ['exporters: { otlp: { endpoint: "tempo:4317/x" } }', 'ERR_CONFIG_BAD_ENDPOINT', 'exporters.otlp.endpoint',
      'endpoint "tempo:4317/x" has an invalid port "4317/x" (0 to 65535)'],
    ['exporters: { otlp: { endpoint: "http://tempo:4317/v1" } }', 'ERR_CONFIG_BAD_ENDPOINT', 'exporters.otlp.endpoint',
      'endpoint "http://tempo:4317/v1" has a path "/v1", which gRPC does not use'],
    ['exporters: { otlp: { endpoint: "tempo:0" } }', 'ERR_CONFIG_BAD_ENDPOINT', 'exporters.otlp.endpoint',
      'endpoint "tempo:0" has port 0, which cannot be sent to'],
    ['exporters: { otlp: { endpoint: "t:1", retry: { initial_interval: 2s, max_interval: 1s } } }', 'ERR_CONFIG_OUT_OF_RANGE',
      'exporters.otlp.retry.max_interval', 'must be at least initial_interval (2000ms), not 1000ms'],
  ];
  for (const [line, code, yamlPath, message] of badValues) {
    it(`rejects ${line}`, () => {
      const way = line.startsWith('exporters') ? '' : 'exporters: { console: { enabled: true } }\n';
      const d = only(parseError(`receivers: { otlp: { protocols: { grpc: } } }\n${line}\n${way}`, 'x.yaml'));
      assert.equal(d.code, code);
      assert.equal(d.path, yamlPath);
      assert.equal(d.line, 2);
      assert.equal(d.message, message);
    });
  }

  const loops: ReadonlyArray<[string, string, string]> = [
    ['127.0.0.1:4317', 'grpc', '127.0.0.1:4317'],
    ['0.0.0.0:4317', 'grpc', '[::1]:4317'],
    ['[::]:4317', 'grpc', 'localhost:4317'],
    ['[0:0:0:0:0:0:0:1]:4317', 'grpc', '[::1]:4317'],
    ['10.1.2.3:4317', 'grpc', '10.1.2.3:4317'],
    ['localhost:4318', 'http/protobuf', 'http://127.0.0.1:4318'],
    ['127.0.0.1:80', 'http/protobuf', 'http://localhost'],
  ];
  for (const [listen, protocol, endpoint] of loops) {
    it(`sees a loop from ${endpoint} to a receiver on ${listen}`, () => {
      const text = `receivers: { otlp: { protocols: { grpc: { endpoint: "${listen}" } } } }\n`
        + `exporters: { otlp: { protocol: ${protocol}, endpoint: "${endpoint}" } }\n`;
      const d = only(parseError(text, 'x.yaml'));
      assert.equal(d.code, 'ERR_CONFIG_EXPORT_LOOP');
      assert.equal(d.path, 'exporters.otlp.endpoint');
    });
  }

  const notLoops: ReadonlyArray<[string, string]> = [
    ['127.0.0.1:4317', 'tempo:4317'],
    ['0.0.0.0:4317', '127.0.0.1:14317'],
    ['10.1.2.3:4317', '10.1.2.4:4317'],
    ['127.0.0.1:0', '127.0.0.1:4317'],
  ];
  for (const [listen, endpoint] of notLoops) {
    it(`accepts ${endpoint} beside a receiver on ${listen}`, () => {
      const text = `receivers: { otlp: { protocols: { grpc: { endpoint: "${listen}" } } } }\n`
        + `exporters: { otlp: { endpoint: "${endpoint}" } }\n`;
      assert.equal(parseConfig(text, '', {}).exporters.otlp.endpoint, endpoint);
    });
  }

  it('adds no "nothing goes out" error when the way out was itself rejected', () => {
    const text = 'receivers: { otlp: { protocols: { grpc: } } }\nexporters: { console: { enabled: "yes" } }\n';
    const d = only(parseError(text, 'x.yaml'));
    assert.equal(d.code, 'ERR_CONFIG_BAD_TYPE');
    assert.equal(d.path, 'exporters.console.enabled');
  });

  it('lets several listeners take port 0', () => {
    const text = 'receivers: { otlp: { protocols: { grpc: { endpoint: "127.0.0.1:0" }, http: { endpoint: "127.0.0.1:0" } } } }\n'
      + 'exporters: { console: { enabled: true } }\nadmin: { endpoint: "127.0.0.1:0" }\n';
    assert.equal(parseConfig(text, '', {}).admin.endpoint, '127.0.0.1:0');
  });

  it('finds a clash between the admin endpoint left at its default and a receiver', () => {
    const text = 'receivers: { otlp: { protocols: { grpc: { endpoint: "0.0.0.0:8888" } } } }\n'
      + 'exporters: { console: { enabled: true } }\n';
    const d = only(parseError(text, 'x.yaml'));
    assert.equal(d.code, 'ERR_CONFIG_PORT_CLASH');
    assert.equal(d.path, 'admin.endpoint');
    // Not written in the file: the document's start.
    assert.deepEqual([d.line, d.column], [1, 1]);
  });
});

describe('environment overrides', () => {
  it('takes the downstream endpoint from BETRACE_EXPORTER_OTLP_ENDPOINT over the file', () => {
    const text = 'receivers: { otlp: { protocols: { grpc: } } }\nexporters: { otlp: { endpoint: "a:4317" } }\n';
    const config = parseConfig(text, '', { BETRACE_EXPORTER_OTLP_ENDPOINT: 'tempo:4317' });
    assert.equal(config.exporters.otlp.endpoint, 'tempo:4317');
  });

  it('gives a way out through BETRACE_EXPORTER_OTLP_ENDPOINT alone', () => {
    const config = parseConfig('receivers: { otlp: { protocols: { grpc: } } }\n', '', {
      BETRACE_EXPORTER_OTLP_ENDPOINT: 'tempo:4317',
    });
    assert.equal(config.exporters.otlp.endpoint, 'tempo:4317');
  });

  it('reports a looping BETRACE_EXPORTER_OTLP_ENDPOINT as coming from the variable', () => {
    const err = parseError(GRPC_AND_CONSOLE, 'x.yaml', { BETRACE_EXPORTER_OTLP_ENDPOINT: '127.0.0.1:4317' });
    assert.equal(err.code, 'ERR_CONFIG_EXPORT_LOOP');
    assert.deepEqual(only(err), {
      code: 'ERR_CONFIG_EXPORT_LOOP',
      message: 'endpoint "127.0.0.1:4317" is the processor\'s own gRPC receiver (receivers.otlp.protocols.grpc.endpoint); exporting there would loop',
      path: 'exporters.otlp.endpoint',
      file: '$BETRACE_EXPORTER_OTLP_ENDPOINT',
      line: 0,
      column: 0,
    });
    assert.match(err.message, /^\$BETRACE_EXPORTER_OTLP_ENDPOINT: ERR_CONFIG_EXPORT_LOOP: exporters\.otlp\.endpoint: /);
  });

  it('reports a malformed BETRACE_EXPORTER_OTLP_ENDPOINT', () => {
    const d = only(parseError(GRPC_AND_CONSOLE, 'x.yaml', { BETRACE_EXPORTER_OTLP_ENDPOINT: 'tempo' }));
    assert.equal(d.code, 'ERR_CONFIG_BAD_ENDPOINT');
    assert.equal(d.file, '$BETRACE_EXPORTER_OTLP_ENDPOINT');
    assert.equal(d.message, 'endpoint "tempo" is not host:port');
  });

  it('takes the signing key and admin token from their variables instead of files', () => {
    const text = `${GRPC_AND_CONSOLE}signing: { key_file: keys.yaml }\nadmin: { token_file: token }\n`;
    const config = parseConfig(text, '/etc/betrace/config.yaml', {
      BETRACE_SIGNING_KEY: 'c2VjcmV0',
      BETRACE_ADMIN_TOKEN: 'let-me-in',
    });
    assert.deepEqual(config.signing, { keyProvider: 'local', keyFile: '', keyFromEnv: 'c2VjcmV0' });
    assert.deepEqual(config.admin, { endpoint: '127.0.0.1:8888', tokenFile: '', tokenFromEnv: 'let-me-in' });
  });

  it('treats empty variables as unset', () => {
    const text = `${GRPC_AND_CONSOLE}signing: { key_file: keys.yaml }\n`;
    const config = parseConfig(text, '/etc/betrace/config.yaml', {
      BETRACE_EXPORTER_OTLP_ENDPOINT: '',
      BETRACE_SIGNING_KEY: '',
      BETRACE_ADMIN_TOKEN: '',
    });
    assert.equal(config.exporters.otlp.endpoint, '');
    assert.equal(config.signing.keyFile, '/etc/betrace/keys.yaml');
    assert.equal(config.signing.keyFromEnv, '');
    assert.equal(config.admin.tokenFromEnv, '');
  });

  it('never reads OTEL_* variables', () => {
    const config = parseConfig(GRPC_AND_CONSOLE, '', {
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://collector:4318/v1/traces',
      OTEL_EXPORTER_OTLP_HEADERS: 'a=b',
      OTEL_LOG_LEVEL: 'debug',
    });
    assert.equal(config.exporters.otlp.endpoint, '');
    assert.deepEqual(config.exporters.otlp.headers, {});
    assert.equal(config.telemetry.logs.level, 'info');
  });
});

describe('embeddedDefaultConfig', () => {
  it('listens on 127.0.0.1, loads the bundled rules and prints to the console', () => {
    const config = embeddedDefaultConfig({});
    const defaults = createDefaultConfig();
    assert.deepEqual(config, {
      ...defaults,
      rules: { ...defaults.rules, files: [path.join(BUNDLED_RULES_DIR, '*.yaml')] },
      exporters: { ...defaults.exporters, console: { enabled: true } },
    });
    assert.equal(config.receivers.grpc?.endpoint, '127.0.0.1:4317');
    assert.equal(config.receivers.http?.endpoint, '127.0.0.1:4318');
    assert.equal(config.buffer.type, 'memory');
    assert.equal(config.admin.endpoint, '127.0.0.1:8888');
    assert.ok(Object.isFrozen(config.rules.files));
  });

  it('applies the environment overrides', () => {
    const config = embeddedDefaultConfig({ BETRACE_EXPORTER_OTLP_ENDPOINT: 'tempo:4317', BETRACE_ADMIN_TOKEN: 't' });
    assert.equal(config.exporters.otlp.endpoint, 'tempo:4317');
    assert.equal(config.exporters.console.enabled, true);
    assert.equal(config.admin.tokenFromEnv, 't');
  });

  it('refuses an override that loops back to its own HTTP receiver', () => {
    assert.throws(() => embeddedDefaultConfig({ BETRACE_EXPORTER_OTLP_ENDPOINT: 'localhost:4318' }),
      (err: ConfigError) => {
        assert.equal(err.code, 'ERR_CONFIG_EXPORT_LOOP');
        assert.ok(err instanceof ConfigError);
        assert.equal(err.diagnostics[0]?.file, '$BETRACE_EXPORTER_OTLP_ENDPOINT');
        return true;
      });
  });
});

describe('ConfigError', () => {
  it('is a non-retryable BetraceError with the first diagnostic\'s code', () => {
    const err = parseError('', 'empty.yaml');
    assert.ok(err instanceof BetraceError);
    assert.equal(err.code, 'ERR_CONFIG_NO_RECEIVER');
    assert.equal(err.retryable, false);
    assert.equal(err.name, 'ConfigError');
  });
});
