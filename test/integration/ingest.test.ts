import { status, type ServiceError } from '@grpc/grpc-js';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventClassifier, type Event } from '../../proto/gen/portstream/v1/events.js';
import {
  EventStatus,
  IngestServiceClient,
  type StreamEventsResponse,
} from '../../proto/gen/portstream/v1/ingest.js';
import { clientAs, TOKENS } from '../../test-kit/auth.js';
import { discBatch, equipmentEvent } from '../../test-kit/events.js';
import { publish, startGateway, streamBatches, type GatewayFixture } from '../helpers/gateway.js';
import { storedEventIds } from '../helpers/jetstream.js';
import type { TestNats } from '../helpers/nats.js';
import { waitFor } from '../../test-kit/poll.js';

const ENV = { INGEST_MAX_BATCH_EVENTS: '1000', INGEST_MAX_MESSAGE_BYTES: '2000000' };

/** Whether the stream emits 'drain' within ms (false: the transport is still pushing back). */
function drainedWithin(stream: NodeJS.EventEmitter, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      stream.off('drain', onDrain);
      resolve(false);
    }, ms);
    const onDrain = (): void => {
      clearTimeout(timer);
      resolve(true);
    };
    stream.once('drain', onDrain);
  });
}

describe('ingest gateway', () => {
  let g: GatewayFixture;
  let nats: TestNats;
  let nc: NatsConnection;
  let client: IngestServiceClient;

  beforeAll(async () => {
    g = await startGateway('ingest-test', ENV);
    ({ nats, nc, client } = g);
  });
  afterAll(async () => {
    await g.close();
  });

  it('acks 10 batches of 500 events streamed on one call, each event persisted once', async () => {
    const batches = Array.from({ length: 10 }, (_, b) => discBatch(`rt${b}`, 500, b * 500));
    const { responses, error } = await streamBatches(client, batches);
    expect(error).toBeUndefined();
    expect(responses.map((r) => r.batchId)).toEqual(batches.map((_, i) => `b${i}`));
    for (const [i, r] of responses.entries()) {
      expect(r.results.map((x) => x.eventId)).toEqual(batches[i]?.map((e) => e.eventId));
      expect(r.results.every((x) => x.status === EventStatus.ACCEPTED)).toBe(true);
    }
    const stored = await storedEventIds(nc);
    const ids = batches.flat().map((e) => e.eventId);
    expect(ids.every((id) => stored.get(id) === 1)).toBe(true);
  });

  it('answers DUPLICATE for re-sent ids and for a repeat inside a batch, storing nothing new', async () => {
    const batch = discBatch('dup', 50, 10_000);
    const first = await publish(client, batch);
    expect(first.results.every((r) => r.status === EventStatus.ACCEPTED)).toBe(true);
    const again = await publish(client, [
      ...batch,
      equipmentEvent('dup-new', 10_100),
      equipmentEvent('dup-new', 10_101),
    ]);
    expect(again.results.slice(0, 50).every((r) => r.status === EventStatus.DUPLICATE)).toBe(true);
    expect(again.results.slice(50).map((r) => r.status)).toEqual([
      EventStatus.ACCEPTED,
      EventStatus.DUPLICATE,
    ]);
    const stored = await storedEventIds(nc);
    expect([...batch.map((e) => e.eventId), 'dup-new'].every((id) => stored.get(id) === 1)).toBe(true);
  });

  it('a second gateway with an empty cache gets JetStream to dedupe an exact re-send', async () => {
    const other = await g.startAnother();
    const otherClient = clientAs(IngestServiceClient, other.address, TOKENS.operator);
    try {
      const batch = discBatch('xgw', 20, 20_000);
      expect((await publish(client, batch)).results.every((r) => r.status === EventStatus.ACCEPTED)).toBe(
        true,
      );
      const res = await publish(otherClient, batch);
      expect(res.results.every((r) => r.status === EventStatus.DUPLICATE)).toBe(true);
      const stored = await storedEventIds(nc);
      expect(batch.every((e) => stored.get(e.eventId) === 1)).toBe(true);
    } finally {
      otherClient.close();
      await other.stop();
    }
  });

  it('rejects invalid events with the field path, persists the valid rest of the batch', async () => {
    const good = equipmentEvent('mix-good', 30_000);
    const cases: [Event, string][] = [
      [equipmentEvent('mix-cd', 30_001, {}), 'equipment.container_number'],
      [
        { ...equipmentEvent('mix-future', 30_002), eventTime: new Date(Date.now() + 86_400_000) },
        'event_time',
      ],
      [{ ...equipmentEvent('mix-class', 30_003), classifier: EventClassifier.UNSPECIFIED }, 'classifier'],
      [
        { ...equipmentEvent('mix-port', 30_004), facility: { unLocode: 'XXHPH', terminalCode: 'HICT' } },
        'facility.un_locode',
      ],
      [{ ...equipmentEvent('', 30_005) }, 'event_id'],
      [{ ...equipmentEvent('mix-none', 30_006), payload: undefined }, 'payload'],
    ];
    // Break the first case's check digit.
    const first = cases[0]?.[0].payload;
    if (first?.$case === 'equipment') {
      const cn = first.value.containerNumber;
      first.value.containerNumber = cn.slice(0, 10) + String((Number(cn[10]) + 1) % 10);
    }
    const res = await publish(client, [good, ...cases.map(([e]) => e)]);
    expect(res.results[0]?.status).toBe(EventStatus.ACCEPTED);
    res.results.slice(1).forEach((r, i) => {
      expect(r.status).toBe(EventStatus.REJECTED);
      expect(r.field).toBe(cases[i]?.[1]);
      expect(r.reason).not.toBe('');
    });
    const stored = await storedEventIds(nc);
    expect(stored.get('mix-good')).toBe(1);
    for (const id of ['mix-cd', 'mix-future', 'mix-class', 'mix-port', 'mix-none'])
      expect(stored.has(id)).toBe(false);
  });

  it('refuses a batch over the size limit as INVALID_ARGUMENT naming events, and an oversized message', async () => {
    const err = await publish(client, discBatch('big', 1001, 40_000)).catch(
      (e: unknown) => e as ServiceError,
    );
    expect((err as ServiceError).code).toBe(status.INVALID_ARGUMENT);
    expect((err as ServiceError).details).toMatch(/^events:/);
    const huge = equipmentEvent('huge', 41_000);
    if (huge.payload?.$case === 'equipment') huge.payload.value.truckPlate = 'x'.repeat(3_000_000);
    const err2 = await publish(client, [huge]).catch((e: unknown) => e as ServiceError);
    expect((err2 as ServiceError).code).toBe(status.RESOURCE_EXHAUSTED);
    const stored = await storedEventIds(nc);
    expect(stored.has('big-0')).toBe(false);
    expect(stored.has('huge')).toBe(false);
  });

  it('stops reading a stream while persistence is stalled, then catches up with nothing lost', async () => {
    const call = client.streamEvents();
    const responses: StreamEventsResponse[] = [];
    call.on('data', (r: StreamEventsResponse) => responses.push(r));
    const total = 400;
    const batch = (i: number): { batchId: string; events: Event[] } => ({
      batchId: `bp${i}`,
      events: discBatch(`bp${i}`, 50, 50_000 + i * 50),
    });
    await nats.server.freeze();
    let written = 0;
    let stalled = false;
    try {
      // JetStream answers nothing: the gateway fills its window, stops reading, and the client's writes stall.
      while (written < total && !stalled) {
        if (!call.write(batch(written++))) stalled = !(await drainedWithin(call, 1500));
      }
    } finally {
      nats.server.thaw();
    }
    expect(stalled).toBe(true);
    expect(written).toBeLessThan(total);
    expect(responses.length).toBe(0);
    while (written < total) {
      if (!call.write(batch(written++))) await drainedWithin(call, 30_000);
    }
    call.end();
    await waitFor(() => responses.length === total, { timeoutMs: 30_000, what: 'all acks' });
    expect(responses.map((r) => r.batchId)).toEqual(Array.from({ length: total }, (_, i) => `bp${i}`));
    expect(responses.every((r) => r.results.every((x) => x.status === EventStatus.ACCEPTED))).toBe(true);
    const stored = await storedEventIds(nc);
    const ids = Array.from({ length: total }, (_, i) => batch(i).events.map((e) => e.eventId)).flat();
    expect(ids.filter((id) => stored.get(id) !== 1)).toEqual([]);
  });
});

describe('ingest gateway access', () => {
  let g: GatewayFixture;
  const clients: IngestServiceClient[] = [];
  const as = (token: string | undefined): IngestServiceClient => {
    const c = clientAs(IngestServiceClient, g.ingest.address, token);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    g = await startGateway('ingest-auth-test', ENV);
  });
  afterAll(async () => {
    for (const c of clients) c.close();
    await g.close();
  });

  it.each([
    ['no token', undefined, status.UNAUTHENTICATED],
    ['an unknown token', 'not-a-valid-token-at-all', status.UNAUTHENTICATED],
    ['a customs token', TOKENS.customs, status.PERMISSION_DENIED],
    ['a logistics firm token', TOKENS.firm, status.PERMISSION_DENIED],
  ])('refuses %s on both RPCs and stores nothing', async (_name, token, code) => {
    const client = as(token);
    const unary = await publish(client, discBatch(`deny${code}`, 2, 70_000)).catch(
      (e: unknown) => e as ServiceError,
    );
    expect((unary as ServiceError).code).toBe(code);
    const { responses, error } = await streamBatches(client, [discBatch(`sdeny${code}`, 2, 70_010)]);
    expect(responses).toEqual([]);
    expect(error?.code).toBe(code);
    const stored = await storedEventIds(g.nc);
    expect([...stored.keys()].some((id) => id.includes('deny'))).toBe(false);
  });

  it('lets an operator publish only for its own terminals; admin may publish for any', async () => {
    const mine = equipmentEvent('own-1', 71_000);
    const theirs = {
      ...equipmentEvent('own-2', 71_001),
      facility: { unLocode: 'VNHPH', terminalCode: 'TVCT' },
    };
    const res = await publish(as(TOKENS.operator), [mine, theirs]);
    expect(res.results.map((r) => [r.status, r.field])).toEqual([
      [EventStatus.ACCEPTED, ''],
      [EventStatus.REJECTED, 'facility'],
    ]);
    const other = await publish(as(TOKENS.otherOperator), [theirs]);
    expect(other.results[0]?.status).toBe(EventStatus.ACCEPTED);
    const admin = await publish(as(TOKENS.admin), [{ ...theirs, eventId: 'own-3' }]);
    expect(admin.results[0]?.status).toBe(EventStatus.ACCEPTED);
  });
});
