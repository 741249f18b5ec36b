// `portstream migrate` (cli/topology.ts createNatsTopology) on a real nats-server: it creates every durable
// consumer the services use (core/consumer/durable.ts durableSpecs) with its settings, a second run changes
// nothing (no stream, bucket or durable re-created or updated), and a processor started afterwards finds each of
// its durables already there exactly as it would have made it.
import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNatsTopology } from '../../cli/topology.js';
import { loadConfig } from '../../core/config.js';
import { durableConfig, durableSpecs } from '../../core/consumer/index.js';
import { silentLogger } from '../../core/logger.js';
import { connectNats } from '../../core/nats/connect.js';
import { startProcessor } from '../../processor/main.js';
import { startTestNats, type TestNats } from '../helpers/nats.js';

/** Every stream with its configuration and creation time, and every durable on it with its own. */
async function snapshot(jsm: JetStreamManager): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  for await (const si of jsm.streams.list()) {
    out.set(`stream ${si.config.name}`, { config: si.config, created: si.created });
    for await (const ci of jsm.consumers.list(si.config.name)) {
      // Durables only: a service's short-lived ordered consumers (a scan, a watch) come and go.
      if (ci.config.durable_name === undefined) continue;
      out.set(`consumer ${si.config.name}/${ci.name}`, { config: ci.config, created: ci.created });
    }
  }
  return out;
}

describe('portstream migrate: NATS topology', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const config = loadConfig({});

  beforeAll(async () => {
    nats = await startTestNats();
    nc = await connectNats({ url: nats.url, name: 'migrate-test' });
    jsm = await jetstreamManager(nc);
  });
  afterAll(async () => {
    await nc.close();
    await nats.cleanup();
  });

  it('creates every durable the services use, and a second run changes nothing', async () => {
    const created = await createNatsTopology(nc, config);
    const specs = durableSpecs(config);
    const first = await snapshot(jsm);
    const consumers = [...first.keys()].filter((k) => k.startsWith('consumer ')).sort();
    expect(consumers).toEqual(specs.map((s) => `consumer ${s.stream}/${s.durable}`).sort());
    for (const spec of specs) {
      expect(created).toContain(`consumer ${spec.stream}/${spec.durable}`);
      const { config: c } = await jsm.consumers.info(spec.stream, spec.durable);
      expect(c).toMatchObject(durableConfig(spec));
    }

    await createNatsTopology(nc, config);
    expect(await snapshot(jsm)).toEqual(first);
  });

  it('a processor started after it finds its durables in place and changes none', async () => {
    await createNatsTopology(nc, config);
    const before = await snapshot(jsm);
    const processor = await startProcessor({ config, log: silentLogger(), nc });
    try {
      expect(await snapshot(jsm)).toEqual(before);
    } finally {
      await processor.stop();
    }
  });
});
