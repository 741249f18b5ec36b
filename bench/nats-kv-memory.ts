// nats-server's memory per KV key: writes N distinct keys (container-record-sized values) into a ps_containers
// bucket on a fresh local nats-server and prints its RSS as it goes. State in KV costs server memory per key
// held, whatever the event rate; this measures how much.
//   npx tsx bench/nats-kv-memory.ts [keys=1000000] [valueBytes=300]
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connectNats } from '../core/nats/connect.js';
import { LocalNatsServer } from '../core/nats/local-server.js';

const keys = Number(process.argv[2] ?? 1_000_000);
const valueBytes = Number(process.argv[3] ?? 300);

const dir = await mkdtemp(path.join(tmpdir(), 'portstream-bench-kvmem-'));
const server = await LocalNatsServer.start({ storeDir: path.join(dir, 'nats'), port: 0 });
const nc = await connectNats({ url: server.url, name: 'bench-kv-memory' });
try {
  const js = jetstream(nc);
  await new Kvm(js).create('ps_containers', { history: 1, replicas: 1 });
  const rssMb = async (): Promise<number> => {
    const status = await readFile(`/proc/${String(server.pid)}/status`, 'utf8');
    return Math.round(Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
  };
  const value = new Uint8Array(valueBytes).fill(7);
  const inflight = new Set<Promise<unknown>>();
  const report = async (written: number): Promise<void> => {
    console.log(JSON.stringify({ keys: written, nats_rss_mb: await rssMb() }));
  };
  await report(0);
  for (let i = 0; i < keys; i++) {
    // A KV put is a publish on $KV.<bucket>.<key>, answered with a PubAck.
    const p = js.publish(`$KV.ps_containers.K${i}`, value).finally(() => inflight.delete(p));
    inflight.add(p);
    if (inflight.size >= 256) await Promise.race(inflight);
    if ((i + 1) % Math.max(1, Math.floor(keys / 4)) === 0) await report(i + 1);
  }
  await Promise.all(inflight);
  const end = await rssMb();
  console.log(
    JSON.stringify({ keys, nats_rss_mb: end, bytes_per_key: Math.round((end * 1024 ** 2) / keys) }),
  );
} finally {
  await nc.close();
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
