// A compressed port day end to end, as `portstream up` runs it: the simulator plays carriers, terminals and
// customs over gRPC against the gateway; the processor decides; the sink writes ClickHouse. Every manifest is
// filed and no declaration finds its bills missing from one; every event the simulator sent is in ClickHouse
// exactly once, and every decision on the stream is in ClickHouse exactly once.
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/nats-core';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSimulation } from '../../simulator/driver.js';
import { loadConfig } from '../../core/config.js';
import { silentLogger } from '../../core/logger.js';
import { connectNats } from '../../core/nats/connect.js';
import { BUCKET_CONTAINERS } from '../../core/nats/buckets.js';
import { STREAM_DECISIONS } from '../../core/nats/topology.js';
import { decodeContainerRecord } from '../../core/state/container.js';
import { CargoFlow } from '../../proto/gen/portstream/v1/manifest.js';
import { ContainerLocation, CustomsStatus } from '../../proto/gen/portstream/v1/tracking.js';
import { startIngest, type IngestHandle } from '../../ingest/main.js';
import { startProcessor, type ProcessorHandle } from '../../processor/main.js';
import { startSink, type SinkHandle } from '../../sink/index.js';
import { testAuth, TOKENS } from '../../test-kit/auth.js';
import { startTestNats, type TestNats } from '../helpers/nats.js';
import { waitFor } from '../../test-kit/poll.js';
import { SINK_CONFIG, startClickHouse, type ChFixture } from './sink-fixture.js';

describe('a compressed port day end to end', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  let chf: ChFixture;
  let ingest: IngestHandle;
  let processor: ProcessorHandle;
  let sink: SinkHandle;

  beforeAll(async () => {
    nats = await startTestNats();
    nc = await connectNats({ url: nats.url, name: 'e2e' });
    chf = await startClickHouse();
    const config = loadConfig({ INGEST_PORT: '0' });
    ingest = await startIngest({ config, log: silentLogger(), nc, registry: new Registry(), auth: testAuth });
    processor = await startProcessor({ config, log: silentLogger(), nc });
    sink = await startSink({
      nc,
      ch: chf.ch,
      config: SINK_CONFIG,
      log: silentLogger(),
      migrate: false,
      logIntervalMs: 0,
    });
  });
  afterAll(async () => {
    await ingest.stop();
    await processor.stop();
    await sink.stop();
    await nc.close();
    await chf.cleanup();
    await nats.cleanup();
  });

  it('has every event and decision in ClickHouse exactly once', async () => {
    const stats = await runSimulation(
      {
        endpoint: ingest.address,
        token: TOKENS.admin,
        customsToken: TOKENS.customs,
        carrierToken: TOKENS.portCarriers,
        seed: 7,
        durationMs: 6000,
        timeScale: 14_400,
        // Eight calls: two terminals see a second call, which loads the first one's transshipment boxes.
        callsPerDay: 8,
        containersPerCall: [20, 40],
      },
      silentLogger(),
    );
    expect(stats.eventsSent).toBeGreaterThan(200);
    expect(stats.rejected).toBe(0);
    expect(stats.accepted + stats.duplicate).toBe(stats.eventsSent);
    expect(stats.manifestsFiled).toBeGreaterThan(0);
    expect(stats.billsFiled).toBeGreaterThan(stats.manifestsFiled);
    expect(stats.firstManifestFailure).toBeUndefined();
    expect(stats.manifestsFailed).toBe(0);
    expect(stats.declarationsSubmitted).toBeGreaterThan(20);
    expect(stats.firstDeclarationFailure).toBeUndefined();
    expect(stats.declarationsFailed).toBe(0);
    // Each declaration found its bills on a filed manifest (but for the model's "bill on no manifest" risk).
    expect(stats.unexpectedNotManifested).toBe(0);
    const db = chf.ch.database;
    const events = await waitFor(
      async () => {
        const [r] = await chf.ch.query<{ n: number; u: number }>(
          `SELECT count() AS n, uniqExact(event_id) AS u FROM ${db}.events FINAL`,
        );
        return r && r.u >= stats.eventsSent ? r : undefined;
      },
      { timeoutMs: 30_000, what: 'every simulated event in ClickHouse' },
    );
    expect(events).toEqual({ n: stats.eventsSent, u: stats.eventsSent });
    // Not only after merge: the sink never inserted a second copy at all.
    const [raw] = await chf.ch.query<{ n: number }>(`SELECT count() AS n FROM ${db}.events`);
    expect(raw?.n).toBe(stats.eventsSent);
    const jsm = await jetstreamManager(nc);
    const decisionsOnStream = (await jsm.streams.info(STREAM_DECISIONS)).state.messages;
    expect(decisionsOnStream).toBeGreaterThanOrEqual(stats.declarationsSubmitted);
    const decisions = await waitFor(
      async () => {
        const [r] = await chf.ch.query<{ n: number; u: number }>(
          `SELECT count() AS n, uniqExact(declaration_number, revision, status) AS u FROM ${db}.decisions FINAL`,
        );
        return r && r.n >= decisionsOnStream ? r : undefined;
      },
      { timeoutMs: 30_000, what: 'every decision in ClickHouse' },
    );
    expect(decisions).toEqual({ n: decisionsOnStream, u: decisionsOnStream });
    // All three channels appear in a day.
    expect(stats.decisions.green).toBeGreaterThan(0);
    expect(stats.decisions.yellow + stats.decisions.red).toBeGreaterThan(0);

    // The manifests reached the containers: LCL boxes carry several consignees' bills and leave only with every
    // bill cleared; transshipment boxes are on the bills of the call discharging them and of the call loading them.
    const containers = await new Kvm(jetstream(nc)).open(BUCKET_CONTAINERS);
    const tally = async (): Promise<{
      lcl: number;
      lclReleasedAndOut: number;
      transshipped: number;
      loadedOnward: number;
    }> => {
      const seen = { lcl: 0, lclReleasedAndOut: 0, transshipped: 0, loadedOnward: 0 };
      for await (const key of await containers.keys()) {
        const e = await containers.get(key);
        if (e?.operation !== 'PUT') continue;
        const rec = decodeContainerRecord(e.value);
        const shipments = rec.bookkeeping.shipments;
        const lcl = shipments.find((x) => x.flow === CargoFlow.IMPORT && x.bills.length > 1);
        if (lcl) {
          seen.lcl++;
          // Each consignee declared its own bill.
          expect(new Set(lcl.bills.map((b) => b.declarationNumbers[0])).size).toBe(lcl.bills.length);
          const cleared = lcl.bills.every((b) => b.customsStatus === CustomsStatus.CLEARED);
          if (cleared && rec.status.location === ContainerLocation.LEFT_TERMINAL) seen.lclReleasedAndOut++;
        }
        const ts = shipments.filter((x) => x.flow === CargoFlow.TRANSSHIPMENT);
        if (ts.length > 0) seen.transshipped++;
        if (ts.length > 1) {
          seen.loadedOnward++;
          expect(new Set(ts.map((x) => x.callId)).size).toBe(ts.length);
        }
      }
      return seen;
    };
    const seen = await waitFor(
      async () => {
        const t = await tally();
        return Object.values(t).every((n) => n > 0) ? t : undefined;
      },
      { timeoutMs: 30_000, what: 'LCL and transshipment containers in the container state' },
    );
    expect(seen.lcl).toBeGreaterThanOrEqual(seen.lclReleasedAndOut);
  }, 90_000);
});
