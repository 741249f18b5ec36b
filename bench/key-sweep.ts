// What removing keys nothing needs costs (processor/state/retention.ts, processor/index/compaction.ts): N
// containers retired long ago are seeded on a fresh local nats-server as the processor leaves them (a delete
// marker in ps_containers with its watermark; in ps_list_index a delete marker for the terminal key it was listed
// under and a record listing nothing), and the list index durable is past all of it. Then the real sweeps run
// until they find nothing, each timed, with the CPU of this process and of nats-server per key removed.
//   npx tsx bench/key-sweep.ts [containers=100000]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers } from '@nats-io/nats-core';
import { INDEX_CONSUMER } from '../core/consumer/index.js';
import { silentLogger } from '../core/logger.js';
import { ensureBuckets } from '../core/nats/buckets.js';
import { connectNats } from '../core/nats/connect.js';
import { LocalNatsServer } from '../core/nats/local-server.js';
import { ensureStreams } from '../core/nats/topology.js';
import { encodeRetiredContainer } from '../core/state/container.js';
import { startIndexCompaction } from '../processor/index/compaction.js';
import { startContainerRetention } from '../processor/state/retention.js';
import { cpuSeconds } from './harness/cpu.js';
import { rssMb } from './harness/measure.js';

const containers = Number(process.argv[2] ?? 100_000);
const WIDTH = 256;
const DAY = 86_400_000;

async function pipelined(n: number, op: (i: number) => Promise<unknown>): Promise<void> {
  const inflight = new Set<Promise<unknown>>();
  for (let i = 0; i < n; i++) {
    const p = op(i).finally(() => inflight.delete(p));
    inflight.add(p);
    if (inflight.size >= WIDTH) await Promise.race(inflight);
  }
  await Promise.all(inflight);
}

const dir = await mkdtemp(path.join(tmpdir(), 'portstream-bench-keysweep-'));
const server = await LocalNatsServer.start({ storeDir: path.join(dir, 'nats'), port: 0 });
const natsPid = server.pid;
if (natsPid === undefined) throw new Error('nats-server did not start');
const nc = await connectNats({ url: server.url, name: 'bench-key-sweep' });
try {
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  await ensureStreams(jsm, {
    replicas: 1,
    eventsMaxAgeHours: 1,
    eventsMaxBytes: 1 << 30,
    duplicateWindowSeconds: 120,
  });
  const buckets = await ensureBuckets(js, 1);
  const { containers: cb, listIndex: ib } = buckets.names;
  const left = new Date(Date.now() - 400 * DAY);
  const del = headers();
  del.set('KV-Operation', 'DEL');
  const marker = encodeRetiredContainer({ watermarkTime: left, leftTime: left, retiredTime: left });
  // The projection's record of a retired container: written from the marker, listing nothing.
  const record = (rev: number): Uint8Array => new TextEncoder().encode(JSON.stringify({ rev, keys: [] }));
  const id = (i: number): string => `BSWU${String(i).padStart(7, '0')}`;
  await pipelined(containers, async (i) => {
    const ack = await js.publish(`$KV.${cb}.${id(i)}`, marker, { headers: del });
    await js.publish(`$KV.${ib}.t.VNHPH.HICT.${id(i)}`, new Uint8Array(), { headers: del });
    await js.publish(`$KV.${ib}.r.c.${id(i)}`, record(ack.seq));
  });
  // The list index durable, past everything seeded (as after the projection took it all): every message pulled
  // and acked, since a durable's ack floor moves only with acks.
  const last = (await jsm.streams.info(`KV_${cb}`)).state.last_seq;
  await jsm.consumers.add(`KV_${cb}`, { durable_name: INDEX_CONSUMER, ack_policy: AckPolicy.Explicit });
  const durable = await js.consumers.get(`KV_${cb}`, INDEX_CONSUMER);
  let floor = 0;
  while (floor < last) {
    const batch = await durable.fetch({ max_messages: 1000, expires: 1000 });
    for await (const m of batch) m.ack();
    floor = (await jsm.consumers.info(`KV_${cb}`, INDEX_CONSUMER)).ack_floor.stream_seq;
  }
  console.log(JSON.stringify({ containers, containers_last_seq: last, index_ack_floor: floor }));
  const deps = { js, jsm, buckets, logger: silentLogger(), timer: false as const };
  const retention = startContainerRetention({ ...deps, retentionMs: 7 * DAY, lateEventsMs: 366 * DAY });
  const compaction = startIndexCompaction({ ...deps, intervalMs: 3_600_000 });
  const measure = async (what: string, sweep: () => Promise<number>): Promise<void> => {
    let total = { removed: 0, seconds: 0, ownCpu: 0, natsCpu: 0, sweeps: 0 };
    for (;;) {
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const n0 = await cpuSeconds(natsPid);
      const removed = await sweep();
      const c1 = process.cpuUsage(c0);
      const sweepStats = {
        removed,
        seconds: (performance.now() - t0) / 1000,
        ownCpu: (c1.user + c1.system) / 1e6,
        natsCpu: (await cpuSeconds(natsPid)) - n0,
      };
      console.log(
        JSON.stringify({
          sweep: what,
          removed,
          seconds: Number(sweepStats.seconds.toFixed(2)),
          nats_rss_mb: Math.round(await rssMb(natsPid)),
        }),
      );
      total = {
        removed: total.removed + removed,
        seconds: total.seconds + sweepStats.seconds,
        ownCpu: total.ownCpu + sweepStats.ownCpu,
        natsCpu: total.natsCpu + sweepStats.natsCpu,
        sweeps: total.sweeps + 1,
      };
      if (removed === 0) break;
    }
    const per = (s: number): number => Math.round((s * 1e6) / Math.max(1, total.removed));
    console.log(
      JSON.stringify({
        sweep: what,
        sweeps: total.sweeps,
        removed: total.removed,
        seconds: Number(total.seconds.toFixed(1)),
        processor_us_per_key: per(total.ownCpu),
        nats_us_per_key: per(total.natsCpu),
      }),
    );
  };
  await measure('retention (markers)', async () => (await retention.sweep()).removed);
  await measure('index compaction', async () => {
    const r = await compaction.sweep();
    return r.markers + r.records;
  });
  await retention.stop();
  await compaction.stop();
} finally {
  await nc.close();
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
