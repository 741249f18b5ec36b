// The gateway's decision feed against a real nats-server: a waiter gets the decisions stored after it was
// registered (with their stream position and index), not earlier ones, and the feed goes on when its consumer
// is deleted under it.
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/logger.js';
import { connectNats } from '../../core/nats/connect.js';
import { ensureStreams, STREAM_DECISIONS, subjects } from '../../core/nats/topology.js';
import { DecisionFeed, FEED_CONSUMER_PREFIX } from '../../ingest/customs/decision-feed.js';
import { Channel, ClearanceStatus, Decision } from '../../proto/gen/portstream/v1/customs.js';
import { startTestNats, type TestNats } from '../helpers/nats.js';
import { waitFor } from '../helpers/poll.js';

const opts = { replicas: 1, eventsMaxAgeHours: 1, eventsMaxBytes: 1 << 28, duplicateWindowSeconds: 120 };

describe('decision feed', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  let feed: DecisionFeed;

  /** Publishes decision `index` of the declaration as the decider does (message id `<n>:<index>`). */
  const decide = async (n: string, index: number, status: ClearanceStatus): Promise<number> => {
    const d = Decision.fromPartial({
      declarationNumber: n,
      revision: 1,
      channel: Channel.GREEN,
      status,
      ruleSetVersion: 'test',
      decidedTime: new Date(),
    });
    const ack = await js.publish(subjects.decision(n), Decision.encode(d).finish(), {
      msgID: `${n}:${index}`,
    });
    return ack.seq;
  };

  beforeAll(async () => {
    nats = await startTestNats();
    nc = await connectNats({ url: nats.url, name: 'decision-feed-test' });
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
    await ensureStreams(jsm, opts);
    feed = new DecisionFeed(nc, js, jsm, silentLogger());
  });
  afterAll(async () => {
    await feed.stop();
    // The feed removed its consumer when it stopped.
    const left = (await jsm.consumers.list(STREAM_DECISIONS).next()).map((c) => c.name);
    expect(left.filter((name) => name.startsWith(FEED_CONSUMER_PREFIX))).toEqual([]);
    await nc.close();
    await nats.cleanup();
  });

  it('hands a waiter the first decision at or past its index, with its position; not one made before it', async () => {
    // A decision stored before the feed starts is not delivered: the feed begins at the stream's end.
    await decide('108600000901', 0, ClearanceStatus.CLEARED);
    await feed.ready();
    const waiter = feed.watch('108600000901');
    try {
      expect(await waiter.next(0, 300)).toBeUndefined();
      // Two more, indexes 1 and 2: asking from index 2 skips the first; asking from 0 takes the first.
      const first = await decide('108600000901', 1, ClearanceStatus.DOCUMENT_CHECK);
      const second = await decide('108600000901', 2, ClearanceStatus.CLEARED);
      const past1 = await waiter.next(2, 5000);
      expect(past1?.status).toBe(ClearanceStatus.CLEARED);
      expect(past1?.position).toBe(second);
      const any = await waiter.next(0, 5000);
      expect(any?.status).toBe(ClearanceStatus.DOCUMENT_CHECK);
      expect(any?.position).toBe(first);
    } finally {
      waiter.close();
    }
    // Another declaration's waiter sees only its own.
    const other = feed.watch('108600000902');
    try {
      await decide('108600000903', 0, ClearanceStatus.CLEARED);
      const mine = await decide('108600000902', 0, ClearanceStatus.REFUSED);
      const got = await other.next(0, 5000);
      expect(got).toMatchObject({ declarationNumber: '108600000902', position: mine });
    } finally {
      other.close();
    }
  });

  it('a closed waiter answers undefined at once', async () => {
    const waiter = feed.watch('108600000904');
    const pending = waiter.next(0, 60_000);
    waiter.close();
    expect(await pending).toBeUndefined();
  });

  it('goes on after its consumer is deleted under it', async () => {
    const feedConsumers = async (): Promise<string[]> =>
      (await jsm.consumers.list(STREAM_DECISIONS).next())
        .map((c) => c.name)
        .filter((name) => name.startsWith(FEED_CONSUMER_PREFIX));
    const [name] = await feedConsumers();
    expect(name).toBeDefined();
    await jsm.consumers.delete(STREAM_DECISIONS, name ?? '');
    const waiter = feed.watch('108600000905');
    try {
      const seq = await decide('108600000905', 0, ClearanceStatus.CLEARED);
      const got = await waiter.next(0, 20_000);
      expect(got?.position).toBe(seq);
      // It reads again through a new consumer.
      const now = await waitFor(async () => {
        const names = await feedConsumers();
        return names.length === 1 && names[0] !== name ? names : undefined;
      });
      expect(now).toHaveLength(1);
    } finally {
      waiter.close();
    }
  });
});
