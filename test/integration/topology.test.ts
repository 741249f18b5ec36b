import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats } from '../../core/nats/connect.js';
import { ensureStreams, STREAM_EVENTS, streamConfigs } from '../../core/nats/topology.js';
import { startTestNats, type TestNats } from '../helpers/nats.js';

const opts = { replicas: 1, eventsMaxAgeHours: 24, eventsMaxBytes: 1 << 30, duplicateWindowSeconds: 120 };

describe('JetStream topology', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  beforeAll(async () => {
    nats = await startTestNats();
    nc = await connectNats({ url: nats.url, name: 'test' });
  });
  afterAll(async () => {
    await nc.close();
    await nats.cleanup();
  });

  it('creates every stream, and a second call (another service starting) changes nothing', async () => {
    const jsm = await jetstreamManager(nc);
    await ensureStreams(jsm, opts);
    await Promise.all([ensureStreams(jsm, opts), ensureStreams(jsm, opts)]);
    const names: string[] = [];
    for await (const si of jsm.streams.list()) names.push(si.config.name);
    expect(names.sort()).toEqual(
      streamConfigs(opts)
        .map((c) => c.name)
        .sort(),
    );
    const info = await jsm.streams.info(STREAM_EVENTS);
    expect(info.config.discard).toBe('new');
    expect(info.config.storage).toBe('file');
  });
});
