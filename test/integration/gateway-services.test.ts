// Gateways that serve part of the API (INGEST_SERVICES): a customs gateway apart from an events gateway, as a port
// runs them under event load. Each answers what it serves, says UNIMPLEMENTED (and, to health checks, NOT_FOUND)
// for the rest, and together they make the whole path: an event persisted through one, a declaration decided
// through the other.
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { silentLogger } from '../../core/logger.js';
import { startIngest, type IngestHandle } from '../../ingest/main.js';
import {
  CustomsServiceClient,
  type SubmitDeclarationResponse,
} from '../../proto/gen/portstream/v1/customs.js';
import { EventStatus, IngestServiceClient } from '../../proto/gen/portstream/v1/ingest.js';
import { ManifestServiceClient } from '../../proto/gen/portstream/v1/manifest.js';
import { clientAs, testAuth, TOKENS } from '../../test-kit/auth.js';
import { equipmentEvent } from '../../test-kit/events.js';
import { numberSequence, sampleDeclaration } from '../helpers/declarations.js';
import { publish, startGateway, type GatewayFixture } from '../helpers/gateway.js';
import { grpcHealth } from '../helpers/health.js';

/** The gRPC status code of one unary call (OK when it succeeds). */
function codeOf(
  start: (md: Metadata, opts: { deadline: number }, cb: (err: ServiceError | null) => void) => unknown,
): Promise<status> {
  return new Promise((resolve) => {
    start(new Metadata(), { deadline: Date.now() + 10_000 }, (err) => {
      resolve(err ? err.code : status.OK);
    });
  });
}

describe('gateway services (INGEST_SERVICES)', () => {
  let events: GatewayFixture;
  let customs: IngestHandle;
  const nextNumber = numberSequence(108700000000);

  beforeAll(async () => {
    // The fixture's gateway serves events alone; a customs gateway shares its NATS.
    events = await startGateway('gateway-services', { INGEST_SERVICES: 'events' });
    customs = await startIngest({
      config: loadConfig({ INGEST_PORT: '0', INGEST_SERVICES: 'customs' }),
      log: silentLogger(),
      nc: events.nc,
      registry: new Registry(),
      auth: testAuth,
    });
  });

  afterAll(async () => {
    await customs.stop();
    await events.close();
  });

  it('refuses a setting that names no service, naming the variable', () => {
    expect(() => loadConfig({ INGEST_SERVICES: 'events,billing' })).toThrow(/INGEST_SERVICES/);
    expect(() => loadConfig({ INGEST_SERVICES: 'customs,' })).toThrow(/INGEST_SERVICES/);
  });

  it('an events gateway persists events and serves no customs or manifest call', async () => {
    const res = await publish(events.client, [equipmentEvent('gs-ev-1', 7001)]);
    expect(res.results.map((r) => r.status)).toEqual([EventStatus.ACCEPTED]);
    const customsClient = clientAs(CustomsServiceClient, events.ingest.address, TOKENS.customs);
    const manifests = clientAs(ManifestServiceClient, events.ingest.address, TOKENS.carrier);
    try {
      expect(
        await codeOf((md, o, cb) =>
          customsClient.getDeclaration({ declarationNumber: nextNumber() }, md, o, cb),
        ),
      ).toBe(status.UNIMPLEMENTED);
      expect(
        await codeOf((md, o, cb) => manifests.getBillOfLading({ billNumber: 'HLCUHPH000001' }, md, o, cb)),
      ).toBe(status.UNIMPLEMENTED);
    } finally {
      customsClient.close();
      manifests.close();
    }
    const health = grpcHealth(events.ingest.address);
    try {
      expect(await health.check('portstream.v1.IngestService')).toBe('SERVING');
      expect(await health.code('portstream.v1.CustomsService')).toBe(status.NOT_FOUND);
    } finally {
      health.close();
    }
  });

  it('a customs gateway decides declarations and serves no event or manifest call', async () => {
    const client = clientAs(CustomsServiceClient, customs.address, TOKENS.customs);
    const ingestClient = clientAs(IngestServiceClient, customs.address, TOKENS.operator);
    const manifests = clientAs(ManifestServiceClient, customs.address, TOKENS.carrier);
    try {
      const declaration = sampleDeclaration('red', nextNumber());
      const answer = await new Promise<SubmitDeclarationResponse>((resolve, reject) => {
        client.submitDeclaration(
          { declaration },
          new Metadata(),
          { deadline: Date.now() + 10_000 },
          (e, r) => {
            if (e) reject(e);
            else resolve(r);
          },
        );
      });
      expect(answer.decision?.declarationNumber).toBe(declaration.declarationNumber);
      expect(
        await codeOf((md, o, cb) =>
          ingestClient.publishEvents({ events: [equipmentEvent('gs-ev-2', 7002)] }, md, o, cb),
        ),
      ).toBe(status.UNIMPLEMENTED);
      expect(
        await codeOf((md, o, cb) => manifests.getBillOfLading({ billNumber: 'HLCUHPH000001' }, md, o, cb)),
      ).toBe(status.UNIMPLEMENTED);
    } finally {
      client.close();
      ingestClient.close();
      manifests.close();
    }
    const health = grpcHealth(customs.address);
    try {
      expect(await health.check('portstream.v1.CustomsService')).toBe('SERVING');
      expect(await health.check('portstream.v1.EnterpriseService')).toBe('SERVING');
      expect(await health.code('portstream.v1.IngestService')).toBe(status.NOT_FOUND);
    } finally {
      health.close();
    }
  });
});
