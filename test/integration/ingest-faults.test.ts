// The gateway under a broker crash and its own shutdown: no event is answered ACCEPTED and then missing.
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IngestServiceClient } from '../../proto/gen/portstream/v1/ingest.js';
import { EventStatus, type StreamEventsResponse } from '../../proto/gen/portstream/v1/ingest.js';
import { discBatch } from '../../test-kit/events.js';
import { storedEventIds } from '../helpers/jetstream.js';
import { startGateway, type GatewayFixture } from '../helpers/gateway.js';
import type { TestNats } from '../helpers/nats.js';
import { waitFor } from '../../test-kit/poll.js';

interface StreamRun {
  responses: StreamEventsResponse[];
  written: number;
  ended: Promise<ServiceError | undefined>;
  stop: () => void;
}

/** Keeps writing batches of 100 events on one call (pipelined) until stop() or the call ends. */
function streamUntilStopped(client: IngestServiceClient, prefix: string): StreamRun {
  const call = client.streamEvents();
  const run: StreamRun = {
    responses: [],
    written: 0,
    ended: new Promise((resolve) => {
      call.on('error', (e: ServiceError) => {
        resolve(e);
      });
      call.on('end', () => {
        resolve(undefined);
      });
    }),
    stop: () => (stopped = true),
  };
  let stopped = false;
  let open = true;
  call.on('data', (r: StreamEventsResponse) => run.responses.push(r));
  void run.ended.then(() => (open = false));
  const pump = (): void => {
    while (open && !stopped) {
      const i = run.written++;
      if (!call.write({ batchId: `${prefix}${i}`, events: discBatch(`${prefix}${i}`, 100, i * 100) })) {
        call.once('drain', pump);
        return;
      }
    }
    if (open && stopped) call.end();
  };
  pump();
  return run;
}

function acceptedIds(responses: StreamEventsResponse[]): string[] {
  return responses.flatMap((r) =>
    r.results.filter((x) => x.status === EventStatus.ACCEPTED).map((x) => x.eventId),
  );
}

describe('ingest gateway faults', () => {
  let g: GatewayFixture;
  let nats: TestNats;
  let nc: NatsConnection;
  let client: IngestServiceClient;

  beforeAll(async () => {
    g = await startGateway('faults-test', { INGEST_PUBLISH_TIMEOUT_MS: '1000', SHUTDOWN_TIMEOUT_MS: '5000' });
    ({ nats, nc, client } = g);
  });
  afterAll(async () => {
    await g.close();
  });

  it('nats-server killed mid-stream: the call ends UNAVAILABLE and every ACCEPTED event survives', async () => {
    const run = streamUntilStopped(client, 'kill');
    await waitFor(() => run.responses.length >= 20, { what: 'some acks before the crash' });
    await nats.server.kill();
    const err = await run.ended;
    expect(err?.code).toBe(status.UNAVAILABLE);
    const accepted = acceptedIds(run.responses);
    expect(accepted.length).toBeGreaterThanOrEqual(20 * 100);
    expect(run.responses.length).toBeLessThan(run.written);
    await nats.server.restart();
    const stored = await waitFor(() => storedEventIds(nc), {
      timeoutMs: 20_000,
      what: 'the stream after restart',
    });
    expect(accepted.filter((id) => stored.get(id) !== 1)).toEqual([]);
  });

  it('a batch re-sent on a new call is answered DUPLICATE and stored once', async () => {
    const batch = discBatch('resend', 200, 900_000);
    const send = (): Promise<StreamEventsResponse> =>
      new Promise((resolve, reject) => {
        const call = client.streamEvents();
        call.on('data', resolve);
        call.on('error', reject);
        call.write({ batchId: 'r', events: batch });
        call.end();
      });
    const first = await send();
    const second = await send();
    expect(first.results.every((r) => r.status === EventStatus.ACCEPTED)).toBe(true);
    expect(second.results.every((r) => r.status === EventStatus.DUPLICATE)).toBe(true);
    const stored = await storedEventIds(nc);
    expect(batch.every((e) => stored.get(e.eventId) === 1)).toBe(true);
  });

  it('shutdown answers every batch it read, ends open calls UNAVAILABLE and loses nothing acked', async () => {
    const run = streamUntilStopped(client, 'term');
    await waitFor(() => run.responses.length >= 10, { what: 'acks before shutdown' });
    await g.ingest.stop();
    const err = await run.ended;
    expect(err?.code).toBe(status.UNAVAILABLE);
    const stored = await storedEventIds(nc);
    const accepted = acceptedIds(run.responses);
    expect(accepted.length).toBeGreaterThanOrEqual(1000);
    expect(accepted.filter((id) => stored.get(id) !== 1)).toEqual([]);
    // A new call to the stopped gateway fails.
    const after = await new Promise<ServiceError | undefined>((resolve) => {
      client.publishEvents(
        { events: discBatch('after', 1, 999_999) },
        new Metadata(),
        { deadline: Date.now() + 2000 },
        (e) => {
          resolve(e ?? undefined);
        },
      );
    });
    expect(after?.code).toBe(status.UNAVAILABLE);
    g.ingest = await g.startAnother();
  });
});
