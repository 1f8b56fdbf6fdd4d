import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';

import * as grpc from '@grpc/grpc-js';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as HttpExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';

import { createGrpcReceiver } from '../../processor/receiver/otlp-grpc';
import { createHttpReceiver } from '../../processor/receiver/otlp-http';
import { createFakeIngest } from './fake-ingest';
import { createTestDeps, grpcConfig, httpConfig } from './fixtures';
import { sendHttp } from './http-client';
import { callUnary, createRawClient } from './raw-grpc';
import { createTlsFiles, tlsUnavailableReason } from './tls-files';
import { createTrace, exportSpans } from './sdk-client';

import type { ReceiverTlsConfig } from '../../config/types';
import type { BetraceError } from '../../processor/errors';
import type { Receiver } from '../../processor/receiver/ingest';
import type { FakeIngest } from './fake-ingest';
import type { TlsFiles } from './tls-files';

const skip = tlsUnavailableReason() ?? false;

let files: TlsFiles;
const cleanups: Array<() => Promise<void> | void> = [];

before(() => {
  if (skip === false) files = createTlsFiles();
});
after(() => files?.remove());
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

function serverTls(withClientCa: boolean): ReceiverTlsConfig {
  return {
    certFile: files.serverCertFile,
    keyFile: files.serverKeyFile,
    clientCaFile: withClientCa ? files.caFile : '',
  };
}

async function started(receiver: Receiver): Promise<Receiver> {
  await receiver.start();
  cleanups.push(() => receiver.shutdown(Date.now()));
  return receiver;
}

async function sampleRequest(): Promise<Uint8Array> {
  const { spans } = await createTrace(['checkout', 'db.query']);
  return ProtobufTraceSerializer.serializeRequest(spans)!;
}

function client(endpoint: string, credentials: grpc.ChannelCredentials): grpc.Client {
  const created = createRawClient(endpoint, credentials);
  cleanups.push(() => created.close());
  return created;
}

describe('createGrpcReceiver with TLS', { skip }, () => {
  it('serves the OpenTelemetry exporter over TLS and refuses plaintext', async () => {
    const ingest: FakeIngest = createFakeIngest();
    const receiver = await started(
      createGrpcReceiver(grpcConfig({ tls: serverTls(false) }), ingest, createTestDeps()),
    );
    const exporter = new GrpcExporter({
      url: `https://${receiver.endpoint}`,
      credentials: grpc.credentials.createSsl(files.ca),
    });
    const { spans } = await createTrace(['checkout']);
    const result = await exportSpans(exporter, spans);
    await exporter.shutdown();
    const insecure = client(receiver.endpoint, grpc.credentials.createInsecure());
    const plaintext = await callUnary(insecure, await sampleRequest());

    assert.equal(result.code, 0, String(result.error));
    assert.equal(ingest.requests.length, 1);
    assert.equal(plaintext.error?.code, grpc.status.UNAVAILABLE);
  });

  it('asks for a client certificate signed by the client CA', async () => {
    const ingest = createFakeIngest();
    const receiver = await started(
      createGrpcReceiver(grpcConfig({ tls: serverTls(true) }), ingest, createTestDeps()),
    );
    const request = await sampleRequest();
    const noCert = client(receiver.endpoint, grpc.credentials.createSsl(files.ca));
    const anonymous = await callUnary(noCert, request);
    const withCert = await callUnary(
      client(receiver.endpoint, grpc.credentials.createSsl(files.ca, files.clientKey, files.clientCert)),
      request,
    );

    assert.equal(anonymous.error?.code, grpc.status.UNAVAILABLE);
    assert.equal(withCert.error, null);
    assert.equal(ingest.requests.length, 1);
  });

  it('refuses to start when a TLS file cannot be read', async () => {
    const receiver = createGrpcReceiver(
      grpcConfig({ tls: { ...serverTls(false), keyFile: `${files.dir}/missing.key` } }),
      createFakeIngest(),
      createTestDeps(),
    );
    await assert.rejects(receiver.start(), (err: BetraceError) => {
      assert.equal(err.code, 'ERR_PROCESSOR_STARTUP');
      assert.match(err.message, /key_file/);
      return true;
    });
  });
});

describe('createHttpReceiver with TLS', { skip }, () => {
  it('serves the OpenTelemetry exporter over HTTPS and refuses plaintext', async () => {
    const ingest = createFakeIngest();
    const receiver = await started(
      createHttpReceiver(httpConfig({ tls: serverTls(false) }), ingest, createTestDeps()),
    );
    const exporter = new HttpExporter({
      url: `https://${receiver.endpoint}/v1/traces`,
      httpAgentOptions: { ca: files.ca },
    });
    const { spans } = await createTrace(['checkout']);
    const result = await exportSpans(exporter, spans);
    await exporter.shutdown();

    assert.equal(result.code, 0, String(result.error));
    assert.equal(ingest.requests.length, 1);
    await assert.rejects(
      sendHttp(receiver.endpoint, '{}', { headers: { 'Content-Type': 'application/json' } }),
    );
    assert.equal(ingest.requests.length, 1);
  });

  it('asks for a client certificate signed by the client CA', async () => {
    const ingest = createFakeIngest();
    const receiver = await started(
      createHttpReceiver(httpConfig({ tls: serverTls(true) }), ingest, createTestDeps()),
    );
    const headers = { 'Content-Type': 'application/json' };
    await assert.rejects(sendHttp(receiver.endpoint, '{}', { headers, https: { ca: files.ca } }));
    const withCert = await sendHttp(receiver.endpoint, '{}', {
      headers,
      https: { ca: files.ca, cert: files.clientCert, key: files.clientKey },
    });

    assert.equal(withCert.status, 200);
    assert.equal(ingest.requests.length, 1);
  });

  it('refuses to start with a certificate but no key', async () => {
    const receiver = createHttpReceiver(
      httpConfig({ tls: { ...serverTls(false), keyFile: '' } }),
      createFakeIngest(),
      createTestDeps(),
    );
    await assert.rejects(receiver.start(), (err: BetraceError) => {
      assert.equal(err.code, 'ERR_PROCESSOR_STARTUP');
      assert.match(err.message, /both cert_file and key_file/);
      return true;
    });
  });
});
