// PROCESSOR_ROLES: a processor runs only the parts it is given, so the decider and the state consumer can be
// deployed as separate processes; with both it runs both.
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { silentLogger } from '../../core/logger.js';
import { connectNats } from '../../core/nats/connect.js';
import { ensureStreams, STREAM_CUSTOMS, STREAM_EVENTS, topologyOptions } from '../../core/nats/topology.js';
import { CUSTOMS_CONSUMER } from '../../processor/customs/projector.js';
import { startProcessor } from '../../processor/main.js';
import { STATE_CONSUMER } from '../../processor/state/consumer.js';
import { startTestNats, type TestNats } from '../helpers/nats.js';
import { waitFor } from '../../test-kit/poll.js';

describe('processor roles', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  let jsm: JetStreamManager;

  beforeAll(async () => {
    nats = await startTestNats();
    nc = await connectNats({ url: nats.url, name: 'roles-test' });
    jsm = await jetstreamManager(nc);
    await ensureStreams(jsm, topologyOptions(loadConfig({})));
  });

  afterAll(async () => {
    await nc.close();
    await nats.cleanup();
  });

  const consumers = async (): Promise<string[]> => {
    const names: string[] = [];
    for (const stream of [STREAM_EVENTS, STREAM_CUSTOMS]) {
      for await (const c of jsm.consumers.list(stream)) names.push(c.name);
    }
    return names.sort();
  };

  it('starts only the state consumer for "state", then only the ledger projector for "customs"', async () => {
    const state = await startProcessor({
      config: loadConfig({ PROCESSOR_ROLES: 'state' }),
      log: silentLogger(),
      nc,
    });
    expect(await consumers()).toEqual([STATE_CONSUMER]);
    await state.stop();
    const customs = await startProcessor({
      config: loadConfig({ PROCESSOR_ROLES: 'customs' }),
      log: silentLogger(),
      nc,
    });
    expect(await consumers()).toEqual([CUSTOMS_CONSUMER, STATE_CONSUMER].sort());
    await customs.stop();
  });

  it('refuses an unknown role naming the variable', () => {
    expect(() => loadConfig({ PROCESSOR_ROLES: 'customs,billing' })).toThrow(/PROCESSOR_ROLES/);
  });

  it('started before the streams exist, waits for them (saying so) and then starts', async () => {
    const bare = await startTestNats();
    const conn = await connectNats({ url: bare.url, name: 'roles-test-early' });
    try {
      const lines: string[] = [];
      const log = pino({ level: 'warn' }, { write: (l: string) => lines.push(l) });
      let started = false;
      const processor = startProcessor({ config: loadConfig({}), log, nc: conn }).then((h) => {
        started = true;
        return h;
      });
      await waitFor(() => lines.some((l) => l.includes('waiting for the streams')), { what: 'the wait log' });
      expect(started).toBe(false);
      const bareJsm = await jetstreamManager(conn);
      await ensureStreams(bareJsm, topologyOptions(loadConfig({})));
      const handle = await processor;
      expect((await bareJsm.consumers.info(STREAM_EVENTS, STATE_CONSUMER)).name).toBe(STATE_CONSUMER);
      await handle.stop();
    } finally {
      await conn.close();
      await bare.cleanup();
    }
  });
});
