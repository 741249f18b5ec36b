// End to end through the real processor: events published to JetStream are applied by the processor's state
// consumer to the ps_containers bucket, and the tracking API serves the resulting status and history.
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/logger.js';
import { ensureBuckets } from '../../core/nats/buckets.js';
import { startStateConsumer, type StateConsumerHandle } from '../../processor/state/consumer.js';
import { TOKENS } from '../../test-kit/auth.js';
import { containerNumber, equipmentEvent } from '../../test-kit/events.js';
import { waitFor } from '../../test-kit/poll.js';
import { startApiFixture, type ApiFixture } from './api-fixture.js';
import { publishEvents } from './sink-fixture.js';

describe('tracking API on the processor’s state', () => {
  let fx: ApiFixture;
  let consumer: StateConsumerHandle;

  beforeAll(async () => {
    fx = await startApiFixture();
    const nc = fx.natsFx.nc;
    const js = jetstream(nc);
    consumer = await startStateConsumer({
      js,
      jsm: await jetstreamManager(nc),
      nc,
      buckets: await ensureBuckets(js, 1),
      logger: silentLogger(),
    });
  });

  afterAll(async () => {
    await consumer.stop();
    await fx.close();
  });

  it('serves the status the processor derived from a discharge, and its history', async () => {
    const n = containerNumber('MSC', 950_001);
    await publishEvents(fx.natsFx.js, [equipmentEvent('pipe-disc-1', 950_001)]);
    const get = async (path: string): Promise<{ status: number; body: Record<string, unknown> }> => {
      const res = await fetch(`${fx.api.httpUrl}${path}`, {
        headers: { authorization: `Bearer ${TOKENS.admin}` },
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const r = await waitFor(
      async () => {
        const x = await get(`/v1/containers/${n}`);
        return x.status === 200 ? x : undefined;
      },
      { timeoutMs: 15_000, what: 'processor to write the container' },
    );
    expect(r.body.status).toMatchObject({ containerNumber: n, lastEventId: 'pipe-disc-1' });
    const h = await waitFor(
      async () => {
        const x = await get(`/v1/containers/${n}/events`);
        return Array.isArray(x.body.events) && x.body.events.length === 1 ? x : undefined;
      },
      { timeoutMs: 15_000, what: 'sink to write the event' },
    );
    expect(h.body.events).toMatchObject([{ eventId: 'pipe-disc-1' }]);
  });
});
