/**
 * Rules that involve several keys, checked on the merged configuration
 * after the environment overrides: a way in, a way out, no export loop, no
 * two listeners on one address, TLS settings that fit together.
 */

import net from 'node:net';

import { parseEndpoint } from './endpoint';

import type { ConfigDiagnostic, ConfigErrorCode } from './errors';
import type { EndpointAddress } from './endpoint';
import type { Config, ExporterTlsConfig, ReceiverTlsConfig } from './types';

/** Where a YAML path's value came from: a file position or an environment variable. */
export interface Location {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

/** Finds the location of a YAML path (or of its closest written ancestor). */
export type Locate = (yamlPath: string) => Location;

interface Listener {
  readonly path: string;
  readonly label: string;
  readonly address: EndpointAddress;
}

const GRPC_ENDPOINT = 'receivers.otlp.protocols.grpc.endpoint';
const HTTP_ENDPOINT = 'receivers.otlp.protocols.http.endpoint';
const EXPORTER_ENDPOINT = 'exporters.otlp.endpoint';

/**
 * True for a YAML path whose value (or a parent's or child's) was rejected
 * while reading; checks on it are skipped, since the default left in its
 * place would only give a second, misleading error.
 */
export type IsRejected = (yamlPath: string) => boolean;

/** Returns every cross-key problem of `config`; empty when there is none. */
export function validateConfig(
  config: Config,
  locate: Locate,
  isRejected: IsRejected = () => false,
): ConfigDiagnostic[] {
  const out: ConfigDiagnostic[] = [];
  const report = (code: ConfigErrorCode, yamlPath: string, message: string): void => {
    out.push({ code, message, path: yamlPath, ...locate(yamlPath) });
  };

  const noReceiver = config.receivers.grpc === null && config.receivers.http === null;
  if (noReceiver && !isRejected('receivers.otlp.protocols')) {
    report('ERR_CONFIG_NO_RECEIVER', 'receivers.otlp.protocols',
      'no receiver protocol is listed, so no data can come in (add grpc: or http: under receivers.otlp.protocols)');
  }
  const exporterAddress = checkExporterEndpoint(config, report);
  const noExporter = config.exporters.otlp.endpoint === '' && !config.exporters.console.enabled;
  const wayOutRejected = isRejected(EXPORTER_ENDPOINT) || isRejected('exporters.console.enabled');
  if (noExporter && !wayOutRejected) {
    report('ERR_CONFIG_NO_EXPORTER', 'exporters',
      'nothing goes out: set exporters.otlp.endpoint, or exporters.console.enabled: true');
  }

  const receivers = listReceivers(config);
  if (exporterAddress !== null) {
    for (const receiver of receivers) {
      if (receiver.address.port !== 0 && isSameDestination(exporterAddress, receiver.address)) {
        report('ERR_CONFIG_EXPORT_LOOP', EXPORTER_ENDPOINT,
          `endpoint "${config.exporters.otlp.endpoint}" is the processor's own ${receiver.label} (${receiver.path}); exporting there would loop`);
      }
    }
  }
  checkPortClashes([...receivers, ...listAdmin(config)], report);
  checkReceiverTls(config, report);
  checkExporterTls(config, exporterAddress, report);

  const retry = config.exporters.otlp.retry;
  if (retry.maxIntervalMs < retry.initialIntervalMs) {
    report('ERR_CONFIG_OUT_OF_RANGE', 'exporters.otlp.retry.max_interval',
      `must be at least initial_interval (${retry.initialIntervalMs}ms), not ${retry.maxIntervalMs}ms`);
  }
  return out;
}

type Report = (code: ConfigErrorCode, yamlPath: string, message: string) => void;

function checkExporterEndpoint(config: Config, report: Report): EndpointAddress | null {
  const { endpoint, protocol } = config.exporters.otlp;
  if (endpoint === '') return null;

  let address: EndpointAddress;
  try {
    address = parseEndpoint(endpoint, { allowUrl: true });
  } catch (err) {
    report('ERR_CONFIG_BAD_ENDPOINT', EXPORTER_ENDPOINT, (err as Error).message);
    return null;
  }
  if (protocol === 'http/protobuf' && address.scheme === '') {
    report('ERR_CONFIG_BAD_ENDPOINT', EXPORTER_ENDPOINT,
      `endpoint "${endpoint}" must be a URL with protocol http/protobuf (e.g. "http://${endpoint}")`);
    return null;
  }
  if (protocol === 'grpc' && address.path !== '') {
    report('ERR_CONFIG_BAD_ENDPOINT', EXPORTER_ENDPOINT,
      `endpoint "${endpoint}" has a path "${address.path}", which gRPC does not use`);
    return null;
  }
  if (address.port === 0) {
    report('ERR_CONFIG_BAD_ENDPOINT', EXPORTER_ENDPOINT,
      `endpoint "${endpoint}" has port 0, which cannot be sent to`);
    return null;
  }
  return address;
}

function listReceivers(config: Config): Listener[] {
  const found: Listener[] = [];
  const add = (yamlPath: string, label: string, endpoint: string): void => {
    const address = tryParse(endpoint);
    if (address !== null) found.push({ path: yamlPath, label, address });
  };
  const { grpc, http } = config.receivers;
  if (grpc !== null) add(GRPC_ENDPOINT, 'gRPC receiver', grpc.endpoint);
  if (http !== null) add(HTTP_ENDPOINT, 'HTTP receiver', http.endpoint);
  return found;
}

function listAdmin(config: Config): Listener[] {
  const address = tryParse(config.admin.endpoint);
  return address === null ? [] : [{ path: 'admin.endpoint', label: 'admin endpoint', address }];
}

function checkPortClashes(listeners: readonly Listener[], report: Report): void {
  for (let i = 1; i < listeners.length; i++) {
    const later = listeners[i] as Listener;
    for (let j = 0; j < i; j++) {
      const earlier = listeners[j] as Listener;
      // Port 0 asks the system for a free port, so two of them never collide.
      if (later.address.port === 0 || later.address.port !== earlier.address.port) continue;
      if (!hostsOverlap(later.address.host, earlier.address.host)) continue;
      report('ERR_CONFIG_PORT_CLASH', later.path,
        `the ${later.label} is on port ${later.address.port}, which the ${earlier.label} (${earlier.path}) already uses`);
      break;
    }
  }
}

function checkReceiverTls(config: Config, report: Report): void {
  const check = (prefix: string, tls: ReceiverTlsConfig): void => {
    checkPair(prefix, tls.certFile, tls.keyFile, report);
    if (tls.clientCaFile !== '' && (tls.certFile === '' || tls.keyFile === '')) {
      report('ERR_CONFIG_BAD_TLS', `${prefix}.client_ca_file`,
        'client_ca_file needs cert_file and key_file: client certificates are checked only over TLS');
    }
  };
  const { grpc, http } = config.receivers;
  if (grpc !== null) check('receivers.otlp.protocols.grpc.tls', grpc.tls);
  if (http !== null) check('receivers.otlp.protocols.http.tls', http.tls);
}

function checkExporterTls(config: Config, address: EndpointAddress | null, report: Report): void {
  const prefix = 'exporters.otlp.tls';
  const tls: ExporterTlsConfig = config.exporters.otlp.tls;
  checkPair(prefix, tls.certFile, tls.keyFile, report);
  const files = ['ca_file', 'cert_file', 'key_file'].filter(
    (_, i) => [tls.caFile, tls.certFile, tls.keyFile][i] !== '',
  );
  const filesSet = `${files.join(', ')} ${files.length === 1 ? 'is' : 'are'} set`;
  if (tls.insecure && files.length > 0) {
    report('ERR_CONFIG_BAD_TLS', `${prefix}.insecure`,
      `insecure: true turns TLS off, but ${filesSet}`);
  }
  if (address === null) return;
  if (address.scheme === 'https' && tls.insecure) {
    report('ERR_CONFIG_BAD_TLS', `${prefix}.insecure`,
      `insecure: true contradicts the https:// endpoint "${config.exporters.otlp.endpoint}"`);
  }
  if (address.scheme === 'http' && files.length > 0) {
    report('ERR_CONFIG_BAD_TLS', EXPORTER_ENDPOINT,
      `endpoint "${config.exporters.otlp.endpoint}" is plaintext http://, but ${filesSet} (use https://)`);
  }
}

function checkPair(prefix: string, certFile: string, keyFile: string, report: Report): void {
  if (certFile !== '' && keyFile === '') {
    report('ERR_CONFIG_BAD_TLS', `${prefix}.cert_file`,
      'cert_file is set but key_file is not (TLS needs both)');
  }
  if (keyFile !== '' && certFile === '') {
    report('ERR_CONFIG_BAD_TLS', `${prefix}.key_file`,
      'key_file is set but cert_file is not (TLS needs both)');
  }
}

function tryParse(endpoint: string): EndpointAddress | null {
  try {
    return parseEndpoint(endpoint);
  } catch {
    // Already reported where the key was read.
    return null;
  }
}

/** True when sending to `a` reaches a socket listening on `b`. */
function isSameDestination(a: EndpointAddress, b: EndpointAddress): boolean {
  if (a.port !== b.port) return false;
  const hostA = canonicalHost(a.host);
  const hostB = canonicalHost(b.host);
  return hostA === hostB || (isLocalHost(hostA) && isLocalHost(hostB));
}

/** True when two listeners on the same port would fight over it. */
function hostsOverlap(a: string, b: string): boolean {
  const hostA = canonicalHost(a);
  const hostB = canonicalHost(b);
  if (hostA === hostB || isWildcard(hostA) || isWildcard(hostB)) return true;
  return isLocalHost(hostA) && isLocalHost(hostB);
}

function canonicalHost(host: string): string {
  const lower = host.toLowerCase().replace(/\.$/, '');
  // The URL parser writes IPv6 addresses in their shortest form (0:0:0:0:0:0:0:1 is ::1).
  return net.isIPv6(lower) ? new URL(`http://[${lower}]/`).hostname.slice(1, -1) : lower;
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

function isLocalHost(host: string): boolean {
  if (isWildcard(host) || host === 'localhost' || host === '::1') return true;
  return /^127\.\d+\.\d+\.\d+$/.test(host);
}
