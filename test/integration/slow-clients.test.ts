// Clients that never read, against the gateway as its own process: StreamEvents callers that write batches but
// never read their acks (one honouring write(), one ignoring it), and a WatchDecisions caller that never reads
// while large decisions pile up. The gateway stops reading those calls (it persists no more than its window
// allows), its memory stays bounded, and other clients are served meanwhile.
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { ClientDuplexStream } from '@grpc/grpc-js';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats } from '../../core/nats/connect.js';
import { STREAM_DECISIONS, subjects } from '../../core/nats/topology.js';
import {
  Channel,
  ClearanceStatus,
  CustomsServiceClient,
  Decision,
} from '../../proto/gen/portstream/v1/customs.js';
import {
  EventStatus,
  IngestServiceClient,
  type StreamEventsRequest,
  type StreamEventsResponse,
} from '../../proto/gen/portstream/v1/ingest.js';
import { clientAs, TOKENS } from '../../test-kit/auth.js';
import { discBatch } from '../../test-kit/events.js';
import { publish, streamBatches } from '../helpers/gateway.js';
import { storedEventIds } from '../helpers/jetstream.js';
import { startTestNats, type TestNats } from '../helpers/nats.js';
import { waitFor } from '../../test-kit/poll.js';
import { startService, writeTokensFile, type ServiceProcess } from '../helpers/service-process.js';

const WINDOW = 16;
const BATCH = 200;

async function rssMiB(pid: number): Promise<number> {
  const statusText = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(statusText)?.[1] ?? NaN);
  return Math.round(kb / 102.4) / 10;
}

/**
 * The client stops reading: a 'data' listener (so grpc-js starts reading the call) and pause() at once. Then
 * grpc-js keeps at most its stream buffer (16 messages) and stops reading the HTTP/2 stream, so flow control
 * reaches the gateway. (A call that is never read at all is different: grpc-js then buffers every message it
 * receives in the client, without limit, and the gateway's writes keep going through.)
 */
function stopReading(call: { on(e: 'data', f: () => void): unknown; pause(): unknown }): void {
  call.on('data', () => {
    throw new Error('a non-reading client received a message');
  });
  call.pause();
}

/** Polls probe until it returns the same value `times` polls in a row, `everyMs` apart; returns that value. */
async function settled(probe: () => Promise<number>, times = 8, everyMs = 250): Promise<number> {
  let last = await probe();
  let same = 0;
  const deadline = Date.now() + 30_000;
  while (same < times) {
    if (Date.now() > deadline) throw new Error(`never settled (last ${last})`);
    await delay(everyMs);
    const v = await probe();
    same = v === last ? same + 1 : 0;
    last = v;
  }
  return last;
}

describe('clients that never read', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  let dir: string;
  let gateway: ServiceProcess;
  let address: string;

  beforeAll(async () => {
    nats = await startTestNats();
    nc = await connectNats({ url: nats.url, name: 'slow-clients-test' });
    dir = await mkdtemp(path.join(tmpdir(), 'portstream-slow-'));
    gateway = startService('ingest', {
      NATS_URL: nats.url,
      INGEST_PORT: '0',
      AUTH_TOKENS_FILE: await writeTokensFile(dir),
      INGEST_MAX_INFLIGHT_BATCHES_PER_STREAM: String(WINDOW),
    });
    address = String((await gateway.logLine('ingest gateway ready')).grpc);
  });
  afterAll(async () => {
    gateway.proc.kill('SIGTERM');
    await gateway.exited;
    await nc.close();
    await nats.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('stops reading calls whose client does not read, stays bounded in memory, serves the others', async () => {
    const clients: (IngestServiceClient | CustomsServiceClient)[] = [];
    const calls: { cancel(): void }[] = [];
    try {
      // Admin's events skip the own-terminal check (a container read per distinct container of a batch): this
      // test measures flow control and the memory it bounds, not that check's allocation churn.
      // Warm-up: a client that reads, so the baseline includes a gateway that has done this work already.
      const warm = clientAs(IngestServiceClient, address, TOKENS.admin);
      clients.push(warm);
      const warmBatches = Array.from({ length: 40 }, (_, i) => discBatch(`warmb${i}`, BATCH, 0));
      const warmed = await streamBatches(warm, warmBatches);
      expect(warmed.responses.length).toBe(40);
      const rssBefore = await rssMiB(gateway.proc.pid ?? 0);

      // Polite non-readers: write until write() says no, then wait for a 'drain' that must never come.
      const polite = [0, 1, 2].map((k) => {
        const c = clientAs(IngestServiceClient, address, TOKENS.admin);
        clients.push(c);
        const call = c.streamEvents();
        call.on('error', () => undefined);
        stopReading(call);
        calls.push(call);
        const state = { written: 0, blocked: false };
        const pump = (): void => {
          for (;;) {
            const i = state.written++;
            if (!call.write({ batchId: `p${k}-${i}`, events: discBatch(`p${k}b${i}`, BATCH, 0) })) {
              state.blocked = true;
              call.once('drain', () => {
                state.blocked = false;
                pump();
              });
              return;
            }
          }
        };
        pump();
        return state;
      });
      // A rude non-reader: RUDE batches written regardless of write(); they pile up on its side, not ours. The
      // batches cycle through a pool of distinct ones (distinct ids), so the test process stays small.
      const rudeClient = clientAs(IngestServiceClient, address, TOKENS.admin);
      clients.push(rudeClient);
      const rude: ClientDuplexStream<StreamEventsRequest, StreamEventsResponse> = rudeClient.streamEvents();
      rude.on('error', () => undefined);
      stopReading(rude);
      calls.push(rude);
      const RUDE = 2000;
      const pool = Array.from({ length: 150 }, (_, i) => discBatch(`rb${i}`, BATCH, 0));
      for (let i = 0; i < RUDE; i++) rude.write({ batchId: `r-${i}`, events: pool[i % pool.length] ?? [] });

      // A decision watcher that never reads, while 300 decisions of 32 KiB land on the stream.
      const customs = clientAs(CustomsServiceClient, address, TOKENS.customs);
      clients.push(customs);
      const watch = customs.watchDecisions({ afterPosition: 0, fromStart: true, channels: [] });
      watch.on('error', () => undefined);
      stopReading(watch);
      calls.push(watch);
      const jsm = await jetstreamManager(nc);
      const watchConsumer = () => waitFor(async () => (await jsm.consumers.list(STREAM_DECISIONS).next())[0]);
      await watchConsumer();
      const js = jetstream(nc);
      const DECISIONS = 300;
      const note = 'x'.repeat(32 * 1024);
      for (let i = 0; i < DECISIONS; i++) {
        const n = String(108900000000 + i);
        await js.publish(
          subjects.decision(n),
          Decision.encode({
            declarationNumber: n,
            revision: 1,
            channel: Channel.GREEN,
            status: ClearanceStatus.CLEARED,
            rules: [],
            ruleSetVersion: 'slow',
            decidedTime: new Date(),
            decisionLatencyUs: 0,
            position: 0,
            note,
            nextSteps: [],
            selectionSecretVersion: '',
          }).finish(),
        );
      }

      // The gateway persists what it read and then nothing more from these calls.
      const perPrefix = async (): Promise<Map<string, number>> => {
        const counts = new Map<string, number>();
        for (const id of (await storedEventIds(nc)).keys()) {
          const p = id.slice(0, id.indexOf('b'));
          counts.set(p, (counts.get(p) ?? 0) + 1);
        }
        return counts;
      };
      const storedTotal = await settled(async () => {
        let n = 0;
        for (const [p, c] of await perPrefix()) if (p !== 'warm') n += c;
        return n;
      });
      const delivered = await settled(async () => (await watchConsumer()).delivered.stream_seq);
      const counts = await perPrefix();
      const politeWritten = polite.map((s) => s.written);
      const persisted = ['p0', 'p1', 'p2', 'r'].map((p) => (counts.get(p) ?? 0) / BATCH);

      // Meanwhile others are served: a unary publish and a stream that reads its acks.
      const other = clientAs(IngestServiceClient, address, TOKENS.admin);
      clients.push(other);
      const unary = await publish(other, discBatch('otherb', 10, 0));
      expect(unary.results.every((r) => r.status === EventStatus.ACCEPTED)).toBe(true);
      const streamed = await streamBatches(other, [
        discBatch('other2b', BATCH, 0),
        discBatch('other3b', BATCH, 0),
      ]);
      expect(streamed.error).toBeUndefined();
      expect(
        streamed.responses.flatMap((r) => r.results).every((r) => r.status === EventStatus.ACCEPTED),
      ).toBe(true);
      const rssAfter = await rssMiB(gateway.proc.pid ?? 0);

      // Stopped reading: each non-reading call got no further than its window plus what the transport holds,
      // a fraction of what its client tried to send; the polite writers are still waiting for 'drain'.
      expect(storedTotal).toBe(persisted.reduce((a, b) => a + b, 0) * BATCH);
      for (const n of persisted) expect(n).toBeGreaterThanOrEqual(WINDOW);
      // Window + the 16 answers grpc-js buffers in the client + what the HTTP/2 windows hold (64 KiB each way).
      for (const n of persisted) expect(n).toBeLessThan(WINDOW + 16 + 64);
      expect(persisted[3]).toBeLessThan(pool.length);
      expect(polite.every((s) => s.blocked)).toBe(true);
      expect(polite.map((s) => s.written)).toEqual(politeWritten);
      const lastSeq = (await jsm.streams.info(STREAM_DECISIONS)).state.last_seq;
      expect(delivered).toBeLessThan(lastSeq);
      // Bounded memory: the rude client alone pushed RUDE x BATCH events (~65 MiB encoded) and the decisions are
      // ~9 MiB; the gateway grew by well under half of what was thrown at it.
      const sentMiB = (RUDE * BATCH * 170 + DECISIONS * note.length) / (1 << 20);
      expect(rssAfter - rssBefore).toBeLessThan(sentMiB / 2);
      console.log(
        `never-reading clients: gateway RSS ${rssBefore} -> ${rssAfter} MiB while ~${Math.round(sentMiB)} MiB ` +
          `were pushed at it; batches persisted per non-reading call ${persisted.join(', ')} ` +
          `(window ${WINDOW}; the rude client wrote ${RUDE}); polite writers blocked after ` +
          `${polite.map((s) => s.written).join(', ')} writes; decision watch delivered up to seq ${delivered} of ${lastSeq}`,
      );
    } finally {
      for (const c of calls) c.cancel();
      for (const c of clients) c.close();
    }
  }, 90_000);
});
