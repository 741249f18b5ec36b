// nats-server's memory per KV key: writes N distinct keys (container-record-sized values) into a ps_containers
// bucket on a fresh local nats-server and prints its RSS as it goes. State in KV costs server memory per key
// held, whatever the event rate; this measures how much.
//   npx tsx bench/nats-kv-memory.ts [keys=1000000] [valueBytes=300]
//
// With `retire` as the third argument it measures what keys that are done with cost: two generations of N keys
// each, every key replaced by a KV delete marker once written (what retention does to a container that left),
// on two fresh servers: one keeps the markers (as before processor/index/compaction.ts and the retention's marker
// removal), the other deletes each marker by its sequence (core/nats/compact.ts). RSS after each step; the
// second generation shows whether memory follows the keys held or every key ever written; `seconds` is how long
// each step took (the deletes are one request each, 256 in flight).
//   npx tsx bench/nats-kv-memory.ts 1000000 300 retire
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { headers } from '@nats-io/nats-core';
import { deleteStored } from '../core/nats/compact.js';
import { connectNats } from '../core/nats/connect.js';
import { LocalNatsServer } from '../core/nats/local-server.js';

const keys = Number(process.argv[2] ?? 1_000_000);
const valueBytes = Number(process.argv[3] ?? 300);
const retire = process.argv[4] === 'retire';
const BUCKET = 'ps_containers';
const WIDTH = 256;

/** Runs `op` for 0..n-1 with WIDTH in flight; returns the results in order. */
async function pipelined<T>(n: number, op: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array<T>(n);
  const inflight = new Set<Promise<unknown>>();
  for (let i = 0; i < n; i++) {
    const p = op(i)
      .then((r) => {
        out[i] = r;
      })
      .finally(() => inflight.delete(p));
    inflight.add(p);
    if (inflight.size >= WIDTH) await Promise.race(inflight);
  }
  await Promise.all(inflight);
  return out;
}

async function withServer(
  run: (js: JetStreamClient, jsm: JetStreamManager, rssMb: () => Promise<number>) => Promise<void>,
): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), 'portstream-bench-kvmem-'));
  const server = await LocalNatsServer.start({ storeDir: path.join(dir, 'nats'), port: 0 });
  const nc = await connectNats({ url: server.url, name: 'bench-kv-memory' });
  try {
    const js = jetstream(nc);
    await new Kvm(js).create(BUCKET, { history: 1, replicas: 1 });
    const rssMb = async (): Promise<number> => {
      const status = await readFile(`/proc/${String(server.pid)}/status`, 'utf8');
      return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
    };
    await run(js, await jetstreamManager(nc), rssMb);
  } finally {
    await nc.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const value = new Uint8Array(valueBytes).fill(7);

if (!retire) {
  await withServer(async (js, _jsm, rssMb) => {
    const report = async (written: number): Promise<void> => {
      console.log(JSON.stringify({ keys: written, nats_rss_mb: await rssMb() }));
    };
    await report(0);
    const quarter = Math.max(1, Math.floor(keys / 4));
    for (let done = 0; done < keys; done += quarter) {
      const n = Math.min(quarter, keys - done);
      // A KV put is a publish on $KV.<bucket>.<key>, answered with a PubAck.
      await pipelined(n, (i) => js.publish(`$KV.${BUCKET}.K${done + i}`, value));
      await report(done + n);
    }
    const end = await rssMb();
    console.log(
      JSON.stringify({ keys, nats_rss_mb: end, bytes_per_key: Math.round((end * 1024 ** 2) / keys) }),
    );
  });
} else {
  for (const markers of ['kept', 'deleted'] as const) {
    await withServer(async (js, jsm, rssMb) => {
      const stream = `KV_${BUCKET}`;
      let last = performance.now();
      const step = async (what: string): Promise<void> => {
        const seconds = Number(((performance.now() - last) / 1000).toFixed(1));
        const info = await jsm.streams.info(stream);
        console.log(
          JSON.stringify({
            markers,
            step: what,
            subjects: info.state.num_subjects ?? 0,
            messages: info.state.messages,
            nats_rss_mb: await rssMb(),
            seconds,
          }),
        );
        last = performance.now();
      };
      await step('start');
      for (const generation of ['A', 'B']) {
        await pipelined(keys, (i) => js.publish(`$KV.${BUCKET}.${generation}${i}`, value));
        await step(`generation ${generation} written`);
        const h = headers();
        h.set('KV-Operation', 'DEL');
        const acks = await pipelined(keys, (i) =>
          js.publish(`$KV.${BUCKET}.${generation}${i}`, undefined, { headers: h }),
        );
        await step(`generation ${generation} replaced by delete markers`);
        if (markers === 'deleted') {
          await pipelined(keys, (i) => deleteStored(jsm, stream, acks[i]?.seq ?? 0));
          await step(`generation ${generation} markers deleted`);
        }
      }
    });
  }
}
