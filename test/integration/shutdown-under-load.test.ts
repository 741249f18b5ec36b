// Graceful shutdown under load, of the gateway as its own process (`portstream ingest`): SIGTERM while clients
// stream batches. It exits with code 0; every event it answered ACCEPTED is in JetStream once; the calls end
// UNAVAILABLE (retryable) and the batches left unanswered, re-sent with the same ids to a new gateway, are
// stored once too, so nothing acked is lost and nothing is doubled.
import type { ServiceError } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import type { NatsConnection } from '@nats-io/nats-core';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { silentLogger } from '../../core/logger.js';
import { connectNats } from '../../core/nats/connect.js';
import { startIngest } from '../../ingest/main.js';
import type { Event } from '../../proto/gen/portstream/v1/events.js';
import {
  EventStatus,
  IngestServiceClient,
  type StreamEventsResponse,
} from '../../proto/gen/portstream/v1/ingest.js';
import { clientAs, testAuth, TOKENS } from '../helpers/auth.js';
import { discBatch } from '../helpers/events.js';
import { streamBatches } from '../helpers/gateway.js';
import { storedEventIds } from '../helpers/jetstream.js';
import { startTestNats, type TestNats } from '../helpers/nats.js';
import { waitFor } from '../helpers/poll.js';
import { startService, writeTokensFile } from '../helpers/service-process.js';

const SHUTDOWN_TIMEOUT_MS = 10_000;

interface Client {
  sent: Map<string, Event[]>;
  answered: Map<string, StreamEventsResponse>;
  ended: Promise<ServiceError | undefined>;
}

/** Writes batches of 100 events as fast as the call takes them (honouring write()), until the call ends. */
function streamFlatOut(client: IngestServiceClient, prefix: string): Client {
  const call = client.streamEvents();
  const c: Client = { sent: new Map(), answered: new Map(), ended: Promise.resolve(undefined) };
  let open = true;
  c.ended = new Promise((resolve) => {
    call.on('error', (e: ServiceError) => {
      open = false;
      resolve(e);
    });
    call.on('end', () => {
      open = false;
      resolve(undefined);
    });
  });
  call.on('data', (r: StreamEventsResponse) => c.answered.set(r.batchId, r));
  let i = 0;
  const pump = (): void => {
    while (open) {
      const batchId = `${prefix}${i}`;
      const events = discBatch(batchId, 100, i * 100);
      i++;
      c.sent.set(batchId, events);
      if (!call.write({ batchId, events })) {
        call.once('drain', pump);
        return;
      }
    }
  };
  pump();
  return c;
}

describe('graceful shutdown under load', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  let dir: string;

  beforeAll(async () => {
    nats = await startTestNats();
    nc = await connectNats({ url: nats.url, name: 'shutdown-test' });
    dir = await mkdtemp(path.join(tmpdir(), 'portstream-shutdown-'));
  });
  afterAll(async () => {
    await nc.close();
    await nats.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('the gateway process on SIGTERM: exit 0, every ACCEPTED event stored once, the rest UNAVAILABLE and re-sendable', async () => {
    const gateway = startService('ingest', {
      NATS_URL: nats.url,
      INGEST_PORT: '0',
      AUTH_TOKENS_FILE: await writeTokensFile(dir),
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    });
    let clients: Client[] = [];
    const grpc: IngestServiceClient[] = [];
    try {
      const ready = await gateway.logLine('ingest gateway ready');
      const address = String(ready.grpc);
      for (let k = 0; k < 4; k++) grpc.push(clientAs(IngestServiceClient, address, TOKENS.operator));
      clients = grpc.map((g, k) => streamFlatOut(g, `sd${k}-`));
      await waitFor(() => clients.every((c) => c.answered.size >= 5), {
        timeoutMs: 30_000,
        what: 'every client acked a few batches',
      });
      const signalled = Date.now();
      gateway.proc.kill('SIGTERM');
      const exit = await gateway.exited;
      const ends = await Promise.all(clients.map((c) => c.ended));

      expect(exit.code).toBe(0);
      expect(gateway.output()).toContain('"msg":"stopped"');
      expect(ends.map((e) => e?.code)).toEqual(clients.map(() => status.UNAVAILABLE));
      const acceptedIds = clients.flatMap((c) =>
        [...c.answered.values()].flatMap((r) =>
          r.results.filter((x) => x.status === EventStatus.ACCEPTED).map((x) => x.eventId),
        ),
      );
      // Every batch answered was answered whole, ACCEPTED (all events are valid and new).
      const answeredEvents = clients.reduce((n, c) => n + c.answered.size * 100, 0);
      expect(acceptedIds.length).toBe(answeredEvents);
      const stored = await storedEventIds(nc);
      expect(acceptedIds.filter((id) => stored.get(id) !== 1)).toEqual([]);

      // A client re-sends what was not answered, same ids, to a gateway that is up: each id ends up stored once.
      const unanswered = clients.flatMap((c) =>
        [...c.sent.entries()].filter(([id]) => !c.answered.has(id)).map(([, events]) => events),
      );
      const next = await startIngest({
        config: loadConfig({ INGEST_PORT: '0' }),
        log: silentLogger(),
        nc,
        registry: new Registry(),
        auth: testAuth,
      });
      const again = clientAs(IngestServiceClient, next.address, TOKENS.operator);
      const resent = await streamBatches(again, unanswered);
      again.close();
      await next.stop();
      expect(resent.error).toBeUndefined();
      const statuses = resent.responses.flatMap((r) => r.results.map((x) => x.status));
      expect(statuses.filter((s) => s !== EventStatus.ACCEPTED && s !== EventStatus.DUPLICATE)).toEqual([]);
      const after = await storedEventIds(nc);
      const everySent = clients.flatMap((c) => [...c.sent.values()].flat().map((e) => e.eventId));
      expect(everySent.filter((id) => after.get(id) !== 1)).toEqual([]);
      expect(after.size).toBe(everySent.length);
      console.log(
        `gateway SIGTERM under load: exit ${exit.code} after ${exit.at - signalled} ms ` +
          `(SHUTDOWN_TIMEOUT_MS ${SHUTDOWN_TIMEOUT_MS}); ${acceptedIds.length} events ACCEPTED before, ` +
          `all stored once; ${unanswered.length} batches unanswered (calls ended UNAVAILABLE), re-sent: ` +
          `${statuses.filter((s) => s === EventStatus.DUPLICATE).length} DUPLICATE (stored before the stop), ` +
          `${statuses.filter((s) => s === EventStatus.ACCEPTED).length} ACCEPTED; ${after.size} events stored, once each`,
      );
    } finally {
      gateway.proc.kill('SIGKILL');
      for (const g of grpc) g.close();
    }
  }, 60_000);
});
