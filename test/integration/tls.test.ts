// TLS and mutual TLS on every server, with certificates from scripts/dev-ca.sh: the ingest gateway's gRPC
// (IngestService and CustomsService on one port), the tracking API's gRPC and its HTTPS. A client that trusts
// the CA is served; a plaintext client, or one without a certificate where one is required, is refused.
import { spawn } from 'node:child_process';
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { readFileSync } from 'node:fs';
import { status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import type { NatsConnection } from '@nats-io/nats-core';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { clientCredentials } from '../../core/grpc/credentials.js';
import { silentLogger } from '../../core/logger.js';
import { connectNats } from '../../core/nats/connect.js';
import { serverTlsFromConfig, type ServerTls } from '../../core/tls/files.js';
import { startIngest, type IngestHandle } from '../../ingest/main.js';
import { EventStatus, IngestServiceClient } from '../../proto/gen/portstream/v1/ingest.js';
import { TrackingServiceClient } from '../../proto/gen/portstream/v1/tracking.js';
import { clientAs, testAuth, TOKENS } from '../../test-kit/auth.js';
import { discBatch } from '../../test-kit/events.js';
import { publish } from '../helpers/gateway.js';
import { startTestNats, type TestNats } from '../helpers/nats.js';
import { makeDevCa, type DevCa } from '../helpers/tls.js';
import { MINE, seed, startApiFixture, type ApiFixture } from './api-fixture.js';

let ca: DevCa;

function serverTls(mutual: boolean): ServerTls {
  const tls = serverTlsFromConfig({
    TLS_CERT_FILE: ca.serverCert,
    TLS_KEY_FILE: ca.serverKey,
    TLS_CLIENT_CA_FILE: mutual ? ca.ca : undefined,
  });
  if (!tls) throw new Error('no TLS material');
  return tls;
}

async function refusal(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error('the call succeeded');
}

beforeAll(async () => {
  ca = await makeDevCa();
});
afterAll(async () => {
  await ca.cleanup();
});

describe('ingest gateway over TLS and mutual TLS', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  let tlsGw: IngestHandle;
  let mtlsGw: IngestHandle;
  const clients: IngestServiceClient[] = [];
  const client = (address: string, files: Parameters<typeof clientCredentials>[0]): IngestServiceClient => {
    const c = clientAs(IngestServiceClient, address, TOKENS.operator, clientCredentials(files));
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    nats = await startTestNats();
    nc = await connectNats({ url: nats.url, name: 'tls-test' });
    const config = loadConfig({ INGEST_PORT: '0' });
    const start = (mutual: boolean): Promise<IngestHandle> =>
      startIngest({
        config,
        log: silentLogger(),
        nc,
        registry: new Registry(),
        auth: testAuth,
        tls: serverTls(mutual),
      });
    tlsGw = await start(false);
    mtlsGw = await start(true);
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await tlsGw.stop();
    await mtlsGw.stop();
    await nc.close();
    await nats.cleanup();
  });

  it('serves a client that trusts the CA', async () => {
    const res = await publish(client(tlsGw.address, { caFile: ca.ca }), discBatch('tls-ok', 3));
    expect(res.results.map((r) => r.status)).toEqual([
      EventStatus.ACCEPTED,
      EventStatus.ACCEPTED,
      EventStatus.ACCEPTED,
    ]);
  });

  it('refuses a plaintext client, and a client that does not trust the CA', async () => {
    const plain = await refusal(publish(client(tlsGw.address, {}), discBatch('tls-plain', 1)));
    expect(plain.code).toBe(grpcStatus.UNAVAILABLE);
    // TLS, but trusting only the system's roots: the dev CA is not among them.
    const untrusted = clientAs(
      IngestServiceClient,
      tlsGw.address,
      TOKENS.operator,
      clientCredentialsWithSystemRoots(),
    );
    clients.push(untrusted);
    expect((await refusal(publish(untrusted, discBatch('tls-untrusted', 1)))).code).toBe(
      grpcStatus.UNAVAILABLE,
    );
  });

  it('with a client CA, refuses a client without a certificate and serves one with', async () => {
    const noCert = await refusal(publish(client(mtlsGw.address, { caFile: ca.ca }), discBatch('m-no', 1)));
    expect(noCert.code).toBe(grpcStatus.UNAVAILABLE);
    const plain = await refusal(publish(client(mtlsGw.address, {}), discBatch('m-plain', 1)));
    expect(plain.code).toBe(grpcStatus.UNAVAILABLE);
    const withCert = client(mtlsGw.address, {
      caFile: ca.ca,
      certFile: ca.clientCert,
      keyFile: ca.clientKey,
    });
    const res = await publish(withCert, discBatch('m-yes', 2));
    expect(res.results.every((r) => r.status === EventStatus.ACCEPTED)).toBe(true);
    // TLS does not replace the bearer token: a certificate without a token is still UNAUTHENTICATED.
    const noToken = new IngestServiceClient(
      mtlsGw.address,
      clientCredentials({ caFile: ca.ca, certFile: ca.clientCert, keyFile: ca.clientKey }),
    );
    clients.push(noToken);
    expect((await refusal(publish(noToken, discBatch('m-anon', 1)))).code).toBe(grpcStatus.UNAUTHENTICATED);
  });
});

function clientCredentialsWithSystemRoots(): ReturnType<typeof clientCredentials> {
  // A client certificate without a CA file: TLS against the system's trust store only.
  return clientCredentials({ certFile: ca.clientCert, keyFile: ca.clientKey });
}

interface HttpAnswer {
  status: number;
  body: string;
}

function httpsGet(url: string, opts: { ca?: string; cert?: string; key?: string }): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        headers: { authorization: `Bearer ${TOKENS.admin}` },
        ...(opts.ca ? { ca: readFileSync(opts.ca) } : {}),
        ...(opts.cert ? { cert: readFileSync(opts.cert) } : {}),
        ...(opts.key ? { key: readFileSync(opts.key) } : {}),
        agent: false,
      },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('tracking API over mutual TLS (gRPC and HTTPS)', () => {
  let fx: ApiFixture;
  beforeAll(async () => {
    fx = await startApiFixture({ tls: serverTls(true) });
    await seed(fx);
  });
  afterAll(async () => {
    await fx.close();
  });

  it('serves HTTPS to a client with a certificate, and refuses one without or in plaintext', async () => {
    expect(fx.api.httpUrl.startsWith('https://')).toBe(true);
    const url = `${fx.api.httpUrl}/v1/containers/${MINE}`;
    const ok = await httpsGet(url, { ca: ca.ca, cert: ca.clientCert, key: ca.clientKey });
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.body)).toMatchObject({ status: { containerNumber: MINE } });
    await expect(httpsGet(url, { ca: ca.ca })).rejects.toThrow();
    const plainUrl = url.replace('https://', 'http://');
    await expect(
      new Promise((resolve, reject) => {
        const req = httpRequest(plainUrl, { agent: false }, resolve);
        req.on('error', reject);
        req.end();
      }),
    ).rejects.toThrow();
  });

  it('serves gRPC to a client with a certificate and refuses one without', async () => {
    const withCert = clientAs(
      TrackingServiceClient,
      fx.api.grpcAddress,
      TOKENS.admin,
      clientCredentials({ caFile: ca.ca, certFile: ca.clientCert, keyFile: ca.clientKey }),
    );
    const without = clientAs(
      TrackingServiceClient,
      fx.api.grpcAddress,
      TOKENS.admin,
      clientCredentials({ caFile: ca.ca }),
    );
    const get = (c: TrackingServiceClient): Promise<unknown> =>
      new Promise((resolve, reject) => {
        c.getContainerStatus({ containerNumber: MINE }, (err, res) => {
          if (err) reject(err);
          else resolve(res);
        });
      });
    try {
      expect(await get(withCert)).toMatchObject({ status: { containerNumber: MINE } });
      expect((await refusal(get(without))).code).toBe(grpcStatus.UNAVAILABLE);
    } finally {
      withCert.close();
      without.close();
    }
  });
});

describe('start-up with a bad TLS file', () => {
  it('stops `portstream ingest` with a message naming the variable', async () => {
    const proc = spawn(process.execPath, ['--import', 'tsx', 'cli/portstream.ts', 'ingest'], {
      env: {
        ...process.env,
        AUTH_TOKENS_FILE: '/nonexistent/tokens.json',
        TLS_CERT_FILE: ca.serverCert,
        TLS_KEY_FILE: `${ca.dir}/missing-key.pem`,
        NATS_URL: 'nats://127.0.0.1:1',
      },
    });
    let err = '';
    proc.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => proc.once('exit', resolve));
    expect(code).toBe(2);
    expect(err).toContain('TLS_KEY_FILE=');
    expect(err).toContain('cannot read the file (ENOENT)');
  });
});
