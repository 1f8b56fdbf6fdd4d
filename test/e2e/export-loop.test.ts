/**
 * An exporter endpoint that leads back to the processor's own receiver
 * through a name or proxy the config cannot see through: the data goes
 * round once and is refused, instead of circling for ever.
 */

import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';

import { parseConfig } from '../../config/load';
import { startService } from '../../processor/service';
import { captureLog } from '../helpers/log-capture';
import { buildRequest, hexId } from '../helpers/otlp-build';
import { startTcpProxy } from '../helpers/tcp-proxy';
import { callUnary, createRawClient } from '../receiver/raw-grpc';

import type { Service } from '../../processor/service';
import type { CapturedLog } from '../helpers/log-capture';
import type { TcpProxy } from '../helpers/tcp-proxy';

async function metricValue(service: Service, line: RegExp): Promise<number> {
  const text = await service.registry.metrics();
  return Number(line.exec(text)?.[1] ?? NaN);
}

for (const protocol of ['grpc', 'http/protobuf'] as const) {
  describe(`${protocol === 'grpc' ? 'a gRPC' : 'an HTTP'} exporter that loops back to its own receiver`, () => {
    let service: Service;
    let proxy: TcpProxy;
    let log: CapturedLog;
    let dir: string;

    before(async () => {
      proxy = await startTcpProxy();
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'betrace-loop-'));
      fs.writeFileSync(path.join(dir, 'rules.yaml'), 'rules: []\n');
      const endpoint = protocol === 'grpc' ? `127.0.0.1:${proxy.port}` : `http://127.0.0.1:${proxy.port}`;
      const yaml = `receivers:
  otlp:
    protocols:
      grpc: { endpoint: 127.0.0.1:0 }
      http: { endpoint: 127.0.0.1:0 }
rules:
  files: [rules.yaml]
exporters:
  otlp:
    endpoint: ${endpoint}
    protocol: ${protocol}
    tls: { insecure: true }
    retry: { initial_interval: 10ms, max_interval: 20ms, max_elapsed_time: 200ms }
admin:
  endpoint: 127.0.0.1:0
shutdown_timeout: 2s
`;
      const configPath = path.join(dir, 'config.yaml');
      fs.writeFileSync(configPath, yaml);
      log = captureLog();
      service = await startService(parseConfig(yaml, configPath, {}), { logger: log.logger });
      const receiver = service.endpoints()[protocol === 'grpc' ? 'grpc' : 'http'];
      proxy.setTarget(Number(receiver.split(':').pop()));
    });
    after(async () => {
      await service.shutdown();
      proxy.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('refuses the request that came round, once, and says why', async () => {
      const client = createRawClient(service.endpoints().grpc);
      try {
        const outcome = await callUnary(client, buildRequest([{ spans: [{ traceId: hexId(16), spanId: hexId(8), name: 'a' }] }]));
        assert.equal(outcome.error, null);
      } finally {
        client.close();
      }
      const transport = protocol === 'grpc' ? 'grpc' : 'http';
      const refused = new RegExp(`^betrace_requests_refused_total\\{transport="${transport}",reason="export_loop"\\} (\\d+)$`, 'm');
      for (let i = 0; i < 100 && !(await metricValue(service, refused) >= 1); i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.equal(await metricValue(service, refused), 1);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(await metricValue(service, refused), 1, 'a refusal is permanent, so nothing goes round again');
      const received = await metricValue(service, /^betrace_spans_received_total\{transport="grpc"\} (\d+)$/m);
      assert.equal(received, 1, 'only the sender\'s span was taken in');
      const errors = log.lines.filter((l) => l.level === 50 && /leads back to its own receiver/.test(JSON.stringify(l)));
      assert.equal(errors.length, 1, JSON.stringify(log.lines.map((l) => l.msg)));
    });
  });
}
