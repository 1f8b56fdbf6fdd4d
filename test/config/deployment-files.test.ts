import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

import { parseAllDocuments, parse as parseYaml, stringify } from 'yaml';

import { loadConfigFile, parseConfig } from '../../config/load';
import { REPO_ROOT } from '../helpers/paths';

const CHART_DIR = path.join(REPO_ROOT, 'charts', 'betrace');
const DEPLOY_DIR = path.join(REPO_ROOT, 'deploy');

/** The processor's metric names, each of which the dashboard must show. */
const METRICS = [
  'betrace_spans_received_total', 'betrace_spans_refused_total', 'betrace_traces_buffered',
  'betrace_spans_buffered', 'betrace_traces_completed_total', 'betrace_traces_evicted_total',
  'betrace_late_spans_total', 'betrace_rule_evaluations_total', 'betrace_violations_total',
  'betrace_evaluation_duration_seconds', 'betrace_exporter_sent_spans_total',
  'betrace_exporter_failed_spans_total', 'betrace_exporter_retries_total',
  'betrace_exporter_queue_size', 'betrace_exporter_queue_capacity', 'betrace_rules_loaded',
  'betrace_rule_reloads_total', 'betrace_compliance_spans_total',
];

function listFiles(dir: string, ext: RegExp): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...listFiles(full, ext));
    else if (ext.test(entry.name)) found.push(full);
  }
  return found.sort();
}

/**
 * Helm template text made plain YAML: lines holding only template actions
 * go, and an action inside a line becomes the scalar `x`.
 */
function stripTemplate(text: string): string {
  return text
    .split('\n')
    .filter((line) => !/^\s*(\{\{[^}]*\}\}\s*)+$/.test(line) && !/^\s*\{\{\/\*/.test(line))
    .map((line) => line.replace(/\{\{[^}]*\}\}/g, 'x'))
    .join('\n');
}

function assertYamlParses(file: string, text: string): void {
  for (const doc of parseAllDocuments(text)) {
    const problems = [...doc.errors, ...doc.warnings].map((e) => e.message);
    assert.deepEqual(problems, [], path.relative(REPO_ROOT, file));
  }
}

function readYaml(file: string): unknown {
  return parseYaml(fs.readFileSync(file, 'utf8'));
}

describe('deployment files', () => {
  const yamlFiles = [...listFiles(CHART_DIR, /\.ya?ml$/), ...listFiles(DEPLOY_DIR, /\.ya?ml$/)];

  it('include the chart, the compose file and their configs', () => {
    const names = yamlFiles.map((f) => path.relative(REPO_ROOT, f));
    for (const expected of [
      'charts/betrace/Chart.yaml', 'charts/betrace/values.yaml', 'charts/betrace/templates/deployment.yaml',
      'charts/betrace/templates/collector.yaml', 'deploy/docker-compose.yaml', 'deploy/tempo/tempo.yaml',
    ]) {
      assert.ok(names.includes(expected), `${expected} exists`);
    }
  });

  for (const file of yamlFiles) {
    const name = path.relative(REPO_ROOT, file);
    it(`${name} parses as YAML${name.includes('/templates/') ? ' once the template actions are taken out' : ''}`, () => {
      const text = fs.readFileSync(file, 'utf8');
      assertYamlParses(file, name.includes('/templates/') ? stripTemplate(text) : text);
    });
  }

  for (const file of [...listFiles(CHART_DIR, /\.json$/), ...listFiles(DEPLOY_DIR, /\.json$/)]) {
    it(`${path.relative(REPO_ROOT, file)} parses as JSON`, () => {
      assert.doesNotThrow(() => JSON.parse(fs.readFileSync(file, 'utf8')));
    });
  }
});

describe('the chart', () => {
  it('holds a processor config in its values that the processor accepts', () => {
    const values = readYaml(path.join(CHART_DIR, 'values.yaml')) as { config: unknown };
    const config = parseConfig(stringify(values.config), '/etc/betrace/config.yaml', {});
    assert.equal(config.receivers.grpc?.endpoint, '0.0.0.0:4317');
    assert.equal(config.receivers.http?.endpoint, '0.0.0.0:4318');
    assert.equal(config.admin.endpoint, '0.0.0.0:8888');
  });

  it('routes by trace ID through a headless Service when load balancing is on', () => {
    const text = fs.readFileSync(path.join(CHART_DIR, 'templates', 'collector.yaml'), 'utf8');
    assert.match(text, /routing_key: traceID/);
    assert.match(text, /hostname: \{\{ include "betrace\.fullname" \. \}\}-headless\./);
    const services = fs.readFileSync(path.join(CHART_DIR, 'templates', 'service-admin.yaml'), 'utf8');
    assert.match(services, /clusterIP: None/);
  });

  it('probes /healthz and /readyz on the admin port', () => {
    const values = readYaml(path.join(CHART_DIR, 'values.yaml')) as Record<string, { httpGet: { path: string; port: string } }>;
    assert.deepEqual(values.livenessProbe?.httpGet, { path: '/healthz', port: 'admin' });
    assert.deepEqual(values.readinessProbe?.httpGet, { path: '/readyz', port: 'admin' });
  });
});

describe('the compose setup', () => {
  const composeFile = path.join(DEPLOY_DIR, 'docker-compose.yaml');
  const compose = readYaml(composeFile) as { services: Record<string, { volumes?: string[] }> };

  it('runs BeTrace, Tempo, Prometheus and Grafana', () => {
    assert.deepEqual(Object.keys(compose.services).sort(), ['betrace', 'grafana', 'prometheus', 'tempo']);
  });

  it('mounts only files and folders that exist', () => {
    for (const [service, { volumes = [] }] of Object.entries(compose.services)) {
      for (const volume of volumes) {
        const source = volume.split(':')[0] as string;
        if (!source.startsWith('.')) continue;
        assert.ok(fs.existsSync(path.resolve(DEPLOY_DIR, source)), `${service}: ${source} exists`);
      }
    }
  });

  const promtool = spawnSync('promtool', ['--version'], { encoding: 'utf8' });
  const noPromtool = promtool.error === undefined ? false : 'promtool is not installed';
  it('has a Prometheus config that promtool accepts', { skip: noPromtool }, () => {
    const file = path.join(DEPLOY_DIR, 'prometheus', 'prometheus.yaml');
    const result = spawnSync('promtool', ['check', 'config', file], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
  });

  it('gives BeTrace a config the processor accepts, exporting to Tempo', () => {
    const config = loadConfigFile(path.join(DEPLOY_DIR, 'betrace', 'config.yaml'), {});
    assert.equal(config.exporters.otlp.endpoint, 'tempo:4317');
    assert.equal(config.exporters.console.enabled, true);
  });

  it('has a dashboard showing every processor metric', () => {
    const dashboard = fs.readFileSync(path.join(DEPLOY_DIR, 'grafana', 'dashboards', 'betrace-processor.json'), 'utf8');
    for (const metric of METRICS) assert.ok(dashboard.includes(metric), `${metric} is on the dashboard`);
  });

  it('has alert rules querying the violation spans with TraceQL', () => {
    const alerts = readYaml(path.join(DEPLOY_DIR, 'grafana', 'provisioning', 'alerting', 'betrace-alerts.yaml')) as {
      groups: Array<{ rules: Array<{ data: Array<{ datasourceUid: string; model: { query?: string } }> }> }>;
    };
    const queries = alerts.groups.flatMap((g) => g.rules.flatMap((r) => r.data))
      .filter((d) => d.datasourceUid === 'betrace-tempo')
      .map((d) => (d.model.query ?? '').replace(/\s+/g, ' '));
    assert.ok(queries.some((q) =>
      q.includes('{ span.betrace.violation = true && span.betrace.violation.severity = "CRITICAL" }')));
  });
});
