// Graceful shutdown under load, of each service as its own process. The gateway (`portstream ingest`) gets
// SIGTERM while clients stream batches: it exits with code 0; every event it answered ACCEPTED is in JetStream
// once; the calls end UNAVAILABLE (retryable) and the batches left unanswered, re-sent with the same ids to a
// new gateway, are stored once too. The processor (`portstream processor`) gets SIGTERM while declarations
// flow: it exits with code 0, and with a new processor every declaration ends up with exactly one decision.
import type { ServiceError } from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { STREAM_CUSTOMS, STREAM_DECISIONS } from '../../core/nats/topology.js';
import { silentLogger } from '../../core/logger.js';
import { connectNats } from '../../core/nats/connect.js';
import { startIngest } from '../../ingest/main.js';
import type { Event } from '../../proto/gen/portstream/v1/events.js';
import { CustomsServiceClient, Decision } from '../../proto/gen/portstream/v1/customs.js';
import {
  EventStatus,
  IngestServiceClient,
  type StreamEventsResponse,
} from '../../proto/gen/portstream/v1/ingest.js';
import { clientAs, testAuth, TOKENS } from '../../test-kit/auth.js';
import { discBatch } from '../../test-kit/events.js';
import { numberSequence, sampleDeclaration } from '../helpers/declarations.js';
import { streamBatches } from '../helpers/gateway.js';
import { submitAtPace } from '../helpers/grpc-load.js';
import { storedEventIds } from '../helpers/jetstream.js';
import { startTestNats, type TestNats } from '../helpers/nats.js';
import { waitFor } from '../../test-kit/poll.js';
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

      expect(exit.code, gateway.output().slice(-4000)).toBe(0);
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

  it('the processor process on SIGTERM: exit 0, and every declaration decided exactly once', async () => {
    const tokens = await writeTokensFile(dir);
    const env = {
      NATS_URL: nats.url,
      AUTH_TOKENS_FILE: tokens,
      SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    };
    const gateway = await startIngest({
      config: loadConfig({ INGEST_PORT: '0', CUSTOMS_MAX_WAIT_MS: '3000' }),
      log: silentLogger(),
      nc,
      registry: new Registry(),
      auth: testAuth,
    });
    const customs = clientAs(CustomsServiceClient, gateway.address, TOKENS.customs);
    const first = startService('processor', env);
    let second: ReturnType<typeof startService> | undefined;
    const nextNumber = numberSequence(108800000000);
    const kinds = ['green', 'yellow', 'red'] as const;
    let k = 0;
    let phase = 'first';
    let load: ReturnType<typeof submitAtPace> | undefined;
    try {
      await first.logLine('processor started');
      const running = submitAtPace(
        customs,
        () => sampleDeclaration(kinds[k++ % 3] ?? 'green', nextNumber()),
        {
          intervalMs: 50,
          phase: () => phase,
        },
      );
      load = running;
      await waitFor(() => running.submissions.filter((s) => s.decided).length >= 40, {
        timeoutMs: 30_000,
        what: 'decisions from the first processor',
      });
      const signalled = Date.now();
      first.proc.kill('SIGTERM');
      phase = 'between';
      const exit = await first.exited;
      expect(exit.code, first.output().slice(-4000)).toBe(0);
      expect(first.output()).toContain('"msg":"stopped"');
      second = startService('processor', env);
      await second.logLine('processor started');
      phase = 'second';
      await waitFor(() => running.submissions.filter((s) => s.phase === 'second' && s.decided).length >= 40, {
        timeoutMs: 30_000,
        what: 'decisions from the second processor',
      });
      await running.stop();
      const jsm = await jetstreamManager(nc);
      await waitFor(
        async () => {
          const c = await jsm.consumers.info(STREAM_CUSTOMS, 'processor-customs');
          return c.num_pending === 0 && c.num_ack_pending === 0;
        },
        { timeoutMs: 30_000, what: 'every command acked' },
      );
      const submitted = running.submissions;
      expect(submitted.filter((s) => s.error !== undefined)).toEqual([]);
      // Every declaration has exactly one decision on the stream, whichever processor made it.
      const decisions = new Map<string, number>();
      const total = (await jsm.streams.info(STREAM_DECISIONS)).state.messages;
      const reader = await jetstream(nc).consumers.get(STREAM_DECISIONS);
      const messages = await reader.consume();
      let seen = 0;
      for await (const m of messages) {
        const d = Decision.decode(m.data);
        decisions.set(d.declarationNumber, (decisions.get(d.declarationNumber) ?? 0) + 1);
        if (++seen >= total) break;
      }
      await reader.delete().catch(() => undefined);
      expect(
        submitted.filter((s) => decisions.get(s.declarationNumber) !== 1).map((s) => s.declarationNumber),
      ).toEqual([]);
      expect(decisions.size).toBe(submitted.length);
      const pending = (p: string): string =>
        `${submitted.filter((s) => s.phase === p && !s.decided).length}/${submitted.filter((s) => s.phase === p).length}`;
      console.log(
        `processor SIGTERM under load: exit ${exit.code} after ${exit.at - signalled} ms; ` +
          `${submitted.length} declarations submitted, each with exactly one decision on the stream; ` +
          `answered PENDING at the 3 s deadline (decided later): ${pending('first')} with the first processor, ` +
          `${pending('between')} while none ran, ${pending('second')} with the second`,
      );
    } finally {
      await load?.stop();
      first.proc.kill('SIGKILL');
      second?.proc.kill('SIGTERM');
      if (second) await second.exited;
      customs.close();
      await gateway.stop();
    }
  }, 90_000);
});
