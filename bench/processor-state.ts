// Processor state throughput: a backlog of N bench events (EventGroups of G, three events per container as the
// bench's load sends them) in PS_EVENTS, then the state consumer started on it and timed until it has applied
// all of it. Reports events/s and CPU microseconds per event of this process and of nats-server, which are
// steadier than wall-clock rates on a busy machine.
//   npx tsx bench/processor-state.ts [events=100000] [groupSize=500]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { silentLogger } from '../core/logger.js';
import { ensureBuckets } from '../core/nats/buckets.js';
import { connectNats } from '../core/nats/connect.js';
import { LocalNatsServer } from '../core/nats/local-server.js';
import { ensureStreams, STREAM_EVENTS, subjects } from '../core/nats/topology.js';
import { STATE_CONSUMER, startStateConsumer } from '../processor/state/consumer.js';
import { EventGroup } from '../proto/gen/portstream/v1/records.js';
import { cpuSeconds } from './harness/cpu.js';
import { benchBatch, benchLoad } from './harness/events.js';
import { lagOf } from './harness/lag.js';

const total = Number(process.argv[2] ?? 100_000);
const groupSize = Number(process.argv[3] ?? 500);

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'portstream-bench-state-'));
  const server = await LocalNatsServer.start({ storeDir: path.join(dir, 'nats'), port: 0 });
  const nc = await connectNats({ url: server.url, name: 'bench-state' });
  try {
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    await ensureStreams(jsm, {
      replicas: 1,
      eventsMaxAgeHours: 24,
      eventsMaxBytes: 4 * 1024 ** 3,
      duplicateWindowSeconds: 120,
    });
    const load = benchLoad('st', 0);
    const pubs: Promise<unknown>[] = [];
    for (let first = 0; first < total; first += groupSize) {
      const events = benchBatch(load, first, Math.min(groupSize, total - first));
      pubs.push(
        js.publish(
          subjects.events('VNHPH', 'HICT', 'equipment'),
          EventGroup.encode(EventGroup.fromPartial({ events })).finish(),
        ),
      );
      if (pubs.length >= 256) await Promise.all(pubs.splice(0));
    }
    await Promise.all(pubs);
    const buckets = await ensureBuckets(js, 1);

    const cpu0 = process.cpuUsage();
    const nats0 = server.pid === undefined ? 0 : await cpuSeconds(server.pid);
    const t0 = performance.now();
    const state = await startStateConsumer({ js, jsm, nc, buckets, logger: silentLogger() });
    while ((await lagOf(jsm, { stream: STREAM_EVENTS, consumer: STATE_CONSUMER })) > 0) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const natsCpu = (server.pid === undefined ? 0 : await cpuSeconds(server.pid)) - nats0;
    await state.stop();
    const us = (s: number): string => ((s * 1e6) / total).toFixed(1);
    console.log(
      JSON.stringify({
        events: total,
        group: groupSize,
        seconds: +(ms / 1000).toFixed(2),
        events_per_s: Math.round(total / (ms / 1000)),
        processor_cpu_us_per_event: us((cpu.user + cpu.system) / 1e6),
        nats_cpu_us_per_event: us(natsCpu),
      }),
    );
  } finally {
    await nc.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
