// NATS over TLS: a real nats-server with a tls block that verifies client certificates (as deploy/nats does for
// routes), reached with the NATS_TLS_* settings. The gateway persists events through such a connection; a
// client without a certificate, or without TLS, is refused.
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { silentLogger } from '../../core/logger.js';
import { connectNats } from '../../core/nats/connect.js';
import { STREAM_EVENTS } from '../../core/nats/topology.js';
import { natsTlsFromConfig } from '../../core/tls/files.js';
import { startIngest } from '../../ingest/main.js';
import { EventStatus, IngestServiceClient } from '../../proto/gen/portstream/v1/ingest.js';
import { clientAs, testAuth, TOKENS } from '../../test-kit/auth.js';
import { discBatch } from '../../test-kit/events.js';
import { publish } from '../helpers/gateway.js';
import { startTestNats, type TestNats } from '../helpers/nats.js';
import { makeDevCa, type DevCa } from '../helpers/tls.js';

describe('NATS over mutual TLS', () => {
  let ca: DevCa;
  let nats: TestNats;
  beforeAll(async () => {
    ca = await makeDevCa();
    nats = await startTestNats(
      [
        'tls {',
        `  cert_file: ${JSON.stringify(ca.serverCert)}`,
        `  key_file: ${JSON.stringify(ca.serverKey)}`,
        `  ca_file: ${JSON.stringify(ca.ca)}`,
        '  verify: true',
        '  timeout: 5',
        '}',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await nats.cleanup();
    await ca.cleanup();
  });

  it('the gateway persists events over a TLS connection made from the NATS_TLS_* settings', async () => {
    const config = loadConfig({
      INGEST_PORT: '0',
      NATS_TLS_CA_FILE: ca.ca,
      NATS_TLS_CERT_FILE: ca.clientCert,
      NATS_TLS_KEY_FILE: ca.clientKey,
    });
    const tls = natsTlsFromConfig(config);
    expect(tls?.ca).toContain('BEGIN CERTIFICATE');
    const nc: NatsConnection = await connectNats({ url: nats.url, name: 'nats-tls-test', tls });
    const ingest = await startIngest({
      config,
      log: silentLogger(),
      nc,
      registry: new Registry(),
      auth: testAuth,
    });
    const client = clientAs(IngestServiceClient, ingest.address, TOKENS.operator);
    try {
      const res = await publish(client, discBatch('nats-tls', 4));
      expect(res.results.every((r) => r.status === EventStatus.ACCEPTED)).toBe(true);
      const info = await (await jetstreamManager(nc)).streams.info(STREAM_EVENTS);
      expect(info.state.messages).toBeGreaterThan(0);
    } finally {
      client.close();
      await ingest.stop();
      await nc.close();
    }
  });

  it('refuses a client without a certificate, and one without TLS', async () => {
    const noCert = natsTlsFromConfig({
      NATS_TLS_CA_FILE: ca.ca,
      NATS_TLS_CERT_FILE: undefined,
      NATS_TLS_KEY_FILE: undefined,
    });
    await expect(
      connectNats({ url: nats.url, name: 'no-cert', tls: noCert, timeoutMs: 3000 }).then((nc) => nc.close()),
    ).rejects.toThrow();
    // Without any TLS settings the client requires none, but the server does and asks for a certificate.
    await expect(
      connectNats({ url: nats.url, name: 'plain', timeoutMs: 3000 }).then((nc) => nc.close()),
    ).rejects.toThrow();
  });
});
