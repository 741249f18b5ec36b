// What the parts of a declaration's path cost alone, at the clearance bench's rate: the floor under
// `cpu.clearance_ms_per_declaration`. Each part runs by itself, open model, and the CPU of the process that
// serves it is counted per operation:
//   unary     a bare grpc-js server answering one unary call (a declaration in, a decision-sized answer out),
//             in a process of its own: what the customs gateway pays before any work of ours;
//   append    a JetStream publish of a ledger-sized message with its ack, each on a subject of its own, to a
//             file-stored stream: nats-server's cost of one durable write;
//   delivery  the same appends, each also delivered to one durable pull consumer and acked: what one more
//             consumer of a stream adds in nats-server.
//   npx tsx bench/clearance-floor.ts [rate=500] [seconds=10]
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { credentials, makeGenericClientConstructor, type Client } from '@grpc/grpc-js';
import { AckPolicy, jetstream, jetstreamManager, type JetStreamClient } from '@nats-io/jetstream';
import { connectNats } from '../core/nats/connect.js';
import { LocalNatsServer } from '../core/nats/local-server.js';
import { Declaration } from '../proto/gen/portstream/v1/customs.js';
import { declarations } from './harness/clearance.js';
import { cpuSeconds, syscalls } from './harness/cpu.js';
import { openLoop } from './harness/schedule.js';
import { startUnaryServer, unaryDefinition } from './harness/unary-baseline.js';

const rate = Number(process.argv[2] ?? 500);
const seconds = Number(process.argv[3] ?? 10);

/** A ledger entry holds the declaration, its decision and the state after it: about twice the declaration. */
const DECISION_BYTES = 160;

interface PerOp {
  cpu_us: number;
  writes: number;
  reads: number;
}

/** CPU and system calls of `pid` per operation while `run` does `ops` of them. */
async function measure(pid: number, ops: number, run: () => Promise<void>): Promise<PerOp> {
  const [c0, s0] = await Promise.all([cpuSeconds(pid), syscalls(pid)]);
  await run();
  const [c1, s1] = await Promise.all([cpuSeconds(pid), syscalls(pid)]);
  const r = (n: number): number => Math.round(n * 100) / 100;
  return {
    cpu_us: Math.round(((c1 - c0) * 1e6) / ops),
    writes: r((s1.writes - s0.writes) / ops),
    reads: r((s1.reads - s0.reads) / ops),
  };
}

/** The child's part: serve bare unary calls, print the address, stop when stdin closes. */
async function serve(): Promise<void> {
  const server = await startUnaryServer(new Uint8Array(DECISION_BYTES).fill(7));
  process.stdout.write(`${JSON.stringify({ address: server.address })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => {
    server.stop();
    process.exit(0);
  });
}

async function unaryFloor(payloads: Buffer[]): Promise<PerOp> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.resolve('bench/clearance-floor.ts'), 'serve'],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  );
  try {
    const address = await new Promise<string>((resolve, reject) => {
      child.once('exit', (code) => {
        reject(new Error(`unary server exited with ${String(code)}`));
      });
      createInterface({ input: child.stdout }).once('line', (l) => {
        resolve((JSON.parse(l) as { address: string }).address);
      });
    });
    const Unary = makeGenericClientConstructor(unaryDefinition, 'Unary');
    const generic: Client = new Unary(address, credentials.createInsecure());
    const client = generic as unknown as { get: (req: Buffer, cb: (err: Error | null) => void) => void };
    const call = (req: Buffer): Promise<void> =>
      new Promise((resolve, reject) => {
        client.get(req, (err) => {
          if (err) reject(err);
          else resolve();
        });
      });
    // Warm-up: both sides' call paths compiled before the count.
    for (let i = 0; i < 500; i++) await call(payloads[i % payloads.length] as Buffer);
    const ops = Math.round(rate * seconds);
    const pid = child.pid ?? 0;
    const result = await measure(pid, ops, async () => {
      const calls: Promise<void>[] = [];
      await openLoop(rate, seconds * 1000, (i) => {
        calls.push(call(payloads[i % payloads.length] as Buffer));
      });
      await Promise.all(calls);
    });
    generic.close();
    return result;
  } finally {
    child.stdin.end();
  }
}

async function appendLoad(js: JetStreamClient, prefix: string, payload: Uint8Array): Promise<void> {
  const acks: Promise<unknown>[] = [];
  await openLoop(rate, seconds * 1000, (i) => {
    acks.push(js.publish(`${prefix}.${i}`, payload, { expect: { lastSubjectSequence: 0 } }));
  });
  await Promise.all(acks);
}

async function natsFloor(entry: Uint8Array): Promise<{ append: PerOp; delivery: PerOp }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'portstream-bench-floor-'));
  const nats = await LocalNatsServer.start({ storeDir: path.join(dir, 'nats') });
  const nc = await connectNats({ url: nats.url, name: 'bench-floor' });
  try {
    const jsm = await jetstreamManager(nc);
    const js = jetstream(nc);
    await jsm.streams.add({ name: 'FLOOR', subjects: ['floor.>'] });
    const pid = nats.pid ?? 0;
    // Warm-up: the stream's first block and the client's paths.
    await Promise.all(Array.from({ length: 500 }, (_, i) => js.publish(`floor.warm.${i}`, entry)));
    const ops = Math.round(rate * seconds);
    const append = await measure(pid, ops, () => appendLoad(js, 'floor.a', entry));

    await jsm.consumers.add('FLOOR', {
      durable_name: 'floor',
      ack_policy: AckPolicy.Explicit,
      filter_subject: 'floor.d.>',
    });
    const consumer = await js.consumers.get('FLOOR', 'floor');
    let delivered = 0;
    let allIn: () => void = () => undefined;
    const done = new Promise<void>((resolve) => {
      allIn = resolve;
    });
    const messages = await consumer.consume({
      callback: (m) => {
        m.ack();
        if (++delivered === ops) allIn();
      },
    });
    const both = await measure(pid, ops, async () => {
      await appendLoad(js, 'floor.d', entry);
      await done;
      await nc.flush();
    });
    await messages.close();
    return {
      append,
      delivery: {
        cpu_us: both.cpu_us - append.cpu_us,
        writes: Math.round((both.writes - append.writes) * 100) / 100,
        reads: Math.round((both.reads - append.reads) * 100) / 100,
      },
    };
  } finally {
    await nc.close();
    await nats.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const decls = declarations(2000, 1);
  const payloads = decls.map((d) => Buffer.from(Declaration.encode(d).finish()));
  const declBytes = Math.round(payloads.reduce((a, b) => a + b.length, 0) / payloads.length);
  const entry = new Uint8Array(2 * declBytes + DECISION_BYTES).fill(1);
  const unary = await unaryFloor(payloads);
  const { append, delivery } = await natsFloor(entry);
  process.stdout.write(
    `${JSON.stringify({ rate, seconds, declaration_bytes: declBytes, entry_bytes: entry.length, unary, append, delivery })}\n`,
  );
}

if (process.argv[2] === 'serve') await serve();
else await main();
