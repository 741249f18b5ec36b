// Per-caller rate limits: a caller over its allowance is refused (gRPC RESOURCE_EXHAUSTED naming the limit and
// the retry time; HTTP 429 with Retry-After and the JSON error body) while every other caller is still served.
// The rates are tiny (0.01/s) so no allowance comes back during a test: only the burst counts.
import { Metadata, status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STREAM_EVENTS } from '../../core/nats/topology.js';
import { CustomsServiceClient } from '../../proto/gen/portstream/v1/customs.js';
import { EventStatus, IngestServiceClient } from '../../proto/gen/portstream/v1/ingest.js';
import { ListVesselVisitsRequest, TrackingServiceClient } from '../../proto/gen/portstream/v1/tracking.js';
import { clientAs, TOKENS } from '../../test-kit/auth.js';
import { discBatch, equipmentEvent } from '../../test-kit/events.js';
import { publish, startGateway, streamBatches, type GatewayFixture } from '../helpers/gateway.js';
import { MY_DECL, seed, startApiFixture, type ApiFixture } from './api-fixture.js';

async function refusal(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error('the call succeeded');
}

function expectRateLimited(err: ServiceError, limit: string, who: string): void {
  expect(err.code).toBe(grpcStatus.RESOURCE_EXHAUSTED);
  expect(err.details).toMatch(
    new RegExp(`^rate limit for ${limit} exceeded by ${who} .*; retry in \\d+ ms$`),
  );
  expect(Number(err.metadata.get('retry-after-ms')[0])).toBeGreaterThan(0);
}

describe('rate limits at the ingest gateway', () => {
  let g: GatewayFixture;
  const clients: { close(): void }[] = [];
  beforeAll(async () => {
    g = await startGateway('rate-limit-test', {
      RATE_LIMIT_EVENTS_PER_SECOND: '0.01',
      RATE_LIMIT_EVENTS_BURST: '5',
      RATE_LIMIT_CUSTOMS_PER_SECOND: '0.01',
      RATE_LIMIT_CUSTOMS_BURST: '2',
    });
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await g.close();
  });

  it('refuses a terminal over its events allowance and keeps serving another terminal', async () => {
    const jsm = await jetstreamManager(g.nc);
    const first = await publish(g.client, discBatch('rl-a', 5));
    expect(first.results.every((r) => r.status === EventStatus.ACCEPTED)).toBe(true);
    const stored = (await jsm.streams.info(STREAM_EVENTS)).state.messages;

    expectRateLimited(await refusal(publish(g.client, discBatch('rl-a-more', 1))), 'events', 'hict-operator');
    // Nothing of the refused batch was persisted.
    expect((await jsm.streams.info(STREAM_EVENTS)).state.messages).toBe(stored);

    const other = clientAs(IngestServiceClient, g.ingest.address, TOKENS.otherOperator);
    clients.push(other);
    const tvct = [0, 1, 2].map((i) =>
      equipmentEvent(`rl-b-${i}`, 500 + i, { facility: { unLocode: 'VNHPH', terminalCode: 'TVCT' } }),
    );
    const res = await publish(other, tvct);
    expect(res.results.map((r) => r.status)).toEqual([
      EventStatus.ACCEPTED,
      EventStatus.ACCEPTED,
      EventStatus.ACCEPTED,
    ]);
  });

  it('answers the batches of a stream read before the limit, then ends it with RESOURCE_EXHAUSTED', async () => {
    const admin = clientAs(IngestServiceClient, g.ingest.address, TOKENS.admin);
    clients.push(admin);
    const { responses, error } = await streamBatches(admin, [
      discBatch('rl-s1', 3, 700),
      discBatch('rl-s2', 3, 710),
      discBatch('rl-s3', 1, 720),
    ]);
    expect(responses.map((r) => r.batchId)).toEqual(['b0']);
    expect(responses[0]?.results.every((r) => r.status === EventStatus.ACCEPTED)).toBe(true);
    expect(error).toBeDefined();
    expectRateLimited(error as ServiceError, 'events', 'admin');
  });

  it('refuses customs calls over the allowance per caller', async () => {
    const call = (c: CustomsServiceClient): Promise<unknown> =>
      new Promise((resolve, reject) => {
        c.getDeclaration({ declarationNumber: MY_DECL }, new Metadata(), (err, res) => {
          if (err) reject(err);
          else resolve(res);
        });
      });
    const customs = clientAs(CustomsServiceClient, g.ingest.address, TOKENS.customs);
    const admin = clientAs(CustomsServiceClient, g.ingest.address, TOKENS.admin);
    clients.push(customs, admin);
    // Unknown declaration: NOT_FOUND, and each call still spends the allowance.
    for (let i = 0; i < 2; i++) expect((await refusal(call(customs))).code).toBe(grpcStatus.NOT_FOUND);
    expectRateLimited(await refusal(call(customs)), 'customs calls', 'customs');
    expect((await refusal(call(admin))).code).toBe(grpcStatus.NOT_FOUND);
  });
});

describe('rate limits at the tracking API (gRPC and HTTP share one allowance per caller)', () => {
  let fx: ApiFixture;
  beforeAll(async () => {
    fx = await startApiFixture({ rateLimit: { perSecond: 0.01, burst: 2 } });
    await seed(fx);
  });
  afterAll(async () => {
    await fx.close();
  });

  const get = (who: keyof typeof TOKENS): Promise<Response> =>
    fetch(`${fx.api.httpUrl}/v1/vessel-visits`, { headers: { authorization: `Bearer ${TOKENS[who]}` } });

  const visits = (who: keyof typeof TOKENS): Promise<unknown> => {
    const c = clientAs(TrackingServiceClient, fx.api.grpcAddress, TOKENS[who]);
    return new Promise<unknown>((resolve, reject) => {
      c.listVesselVisits(ListVesselVisitsRequest.fromPartial({ pageSize: 10 }), (err, res) => {
        if (err) reject(err);
        else resolve(res);
      });
    }).finally(() => {
      c.close();
    });
  };

  it('answers 429 with Retry-After and the error body over HTTP, and RESOURCE_EXHAUSTED over gRPC', async () => {
    expect((await get('firm')).status).toBe(200);
    expect((await get('firm')).status).toBe(200);
    const over = await get('firm');
    expect(over.status).toBe(429);
    expect(Number(over.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const body = (await over.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('RESOURCE_EXHAUSTED');
    expect(body.error.message).toMatch(/^rate limit for tracking API requests exceeded by viettel-logistics/);
    // The same caller over gRPC draws on the same allowance.
    expectRateLimited(await refusal(visits('firm')), 'tracking API requests', 'viettel-logistics');
    // Others are still served, over both.
    expect((await get('admin')).status).toBe(200);
    await expect(visits('operator')).resolves.toBeDefined();
  });

  it('does not spend allowance on unauthenticated requests', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await fetch(`${fx.api.httpUrl}/v1/vessel-visits`, {
        headers: { authorization: 'Bearer nope' },
      });
      expect(r.status).toBe(401);
    }
    expect((await get('customs')).status).toBe(200);
  });
});
