// Generic gRPC tooling works against the gateway and the tracking API: health checking, and server reflection
// that lists exactly the services each port serves (so grpcurl never offers a method that answers UNIMPLEMENTED).
import { createRequire } from 'node:module';
import path from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { silentLogger } from '../../core/logger.js';
import { connectNats } from '../../core/nats/connect.js';
import { startIngest, type IngestHandle } from '../../ingest/main.js';
import { testAuth } from '../../test-kit/auth.js';
import { clientFor, grpcHealth } from '../helpers/health.js';
import { startTestNats, type TestNats } from '../helpers/nats.js';
import { startApiFixture, type ApiFixture } from './api-fixture.js';

const require = createRequire(import.meta.url);

describe('generic gRPC tools', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  let ingest: IngestHandle;
  let api: ApiFixture;

  beforeAll(async () => {
    api = await startApiFixture();
    nats = await startTestNats();
    nc = await connectNats({ url: nats.url, name: 'generic-test' });
    ingest = await startIngest({
      config: loadConfig({ INGEST_PORT: '0' }),
      log: silentLogger(),
      nc,
      registry: new Registry(),
      auth: testAuth,
    });
  });
  afterAll(async () => {
    await api.close();
    await ingest.stop();
    await nc.close();
    await nats.cleanup();
  });

  it('answers grpc.health.v1 Check with SERVING for the server and the ingest service', async () => {
    const health = grpcHealth(ingest.address);
    expect(await health.check('')).toBe('SERVING');
    expect(await health.check('portstream.v1.IngestService')).toBe('SERVING');
    await expect(health.check('no.such.Service')).rejects.toMatchObject({ code: 5 });
    health.close();
  });

  const STANDARD = [
    'grpc.health.v1.Health',
    'grpc.reflection.v1.ServerReflection',
    'grpc.reflection.v1alpha.ServerReflection',
  ];
  const ports = (): [string, string, string[]][] => [
    [
      'gateway',
      ingest.address,
      [
        'portstream.v1.CustomsService',
        'portstream.v1.EnterpriseService',
        'portstream.v1.IngestService',
        'portstream.v1.ManifestService',
      ],
    ],
    ['tracking API', api.api.grpcAddress, ['portstream.v1.TrackingService']],
  ];

  for (const version of ['v1', 'v1alpha']) {
    it(`reflects (${version}) exactly the services each port serves, and describes their types`, async () => {
      const dir = path.join(path.dirname(require.resolve('@grpc/reflection/package.json')), 'build/proto');
      for (const [what, address, own] of ports()) {
        const client = clientFor(
          path.join(dir, `grpc/reflection/${version}/reflection.proto`),
          dir,
          ['grpc', 'reflection', version, 'ServerReflection'],
          address,
        );
        const ask = (req: object): Promise<Record<string, unknown>> =>
          new Promise((resolve, reject) => {
            const call = (
              client as unknown as Record<string, () => NodeJS.ReadWriteStream>
            ).ServerReflectionInfo?.();
            if (!call) throw new Error('no reflection method');
            call.on('data', (r: Record<string, unknown>) => {
              resolve(r);
              call.end();
            });
            call.on('error', reject);
            call.write(req as never);
          });
        const list = await ask({ list_services: '*' });
        const names = (list.list_services_response as { service: { name: string }[] }).service.map(
          (s) => s.name,
        );
        expect({ what, names: [...names].sort() }).toEqual({ what, names: [...own, ...STANDARD].sort() });
        for (const symbol of [...own, 'portstream.v1.EquipmentEvent', 'grpc.health.v1.Health']) {
          const file = await ask({ file_containing_symbol: symbol });
          expect({
            symbol,
            files: (file.file_descriptor_response as { file_descriptor_proto: Buffer[] } | undefined)
              ?.file_descriptor_proto.length,
          }).toEqual({ symbol, files: expect.any(Number) as number });
        }
        client.close();
      }
    });
  }
});
