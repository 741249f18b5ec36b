// `portstream cluster` as a user runs it, checked for no loss: three nats-server nodes, two gateway processes,
// two processor processes and a sink process (embedded ClickHouse), JS_REPLICAS=3. The simulator (in this
// process, keeping a per-id ledger) plays a compressed port day over both gateways, and the node leading the
// events stream is killed (SIGKILL) midway. Then: every event acked to the simulator is in PS_EVENTS exactly
// once and in its container's state; every answered declaration has one decision per command, once, in the
// stream and in KV alike; nothing was dead-lettered; after Ctrl-C, ClickHouse holds each event and decision once.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, describe, expect, it } from 'vitest';
import { runSimulation } from '../../simulator/driver.js';
import { createStats, type SimulationLedger } from '../../simulator/stats.js';
import { createClickHouse } from '../../core/clickhouse/client.js';
import { clientEventId } from '../../core/event-key.js';
import { silentLogger } from '../../core/logger.js';
import { BUCKET_CONTAINERS, BUCKET_DECLARATIONS } from '../../core/nats/buckets.js';
import { connectNats } from '../../core/nats/connect.js';
import {
  STREAM_CUSTOMS,
  STREAM_DEADLETTERS,
  STREAM_DECISIONS,
  STREAM_EVENTS,
} from '../../core/nats/topology.js';
import { decodeContainerRecord } from '../../core/state/container.js';
import { decodeDeclarationState } from '../../core/state/declaration.js';
import { Decision } from '../../proto/gen/portstream/v1/customs.js';
import { EventGroup } from '../../proto/gen/portstream/v1/records.js';
import { storedMessages } from '../helpers/jetstream.js';
import { waitFor } from '../../test-kit/poll.js';

interface Cluster {
  proc: ChildProcessWithoutNullStreams;
  output: () => string;
  exited: Promise<number | null>;
}

function startCluster(dataDir: string): Cluster {
  const proc = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'cli/portstream.ts',
      'cluster',
      '--gateways',
      '2',
      '--processors',
      '2',
      '--no-simulate',
      '--data-dir',
      dataDir,
    ],
    {
      env: {
        ...process.env,
        LOG_FORMAT: 'json',
        LOG_LEVEL: 'info',
        SHUTDOWN_TIMEOUT_MS: '10000',
        // Gateways answer UNAVAILABLE sooner while a stream elects its new leader; the client re-sends.
        INGEST_PUBLISH_TIMEOUT_MS: '2000',
        SINK_FLUSH_INTERVAL_MS: '200',
      },
    },
  );
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) =>
    proc.once('exit', (code) => {
      resolve(code);
    }),
  );
  return { proc, output: () => out, exited };
}

/** What the banner says: NATS nodes (server name -> pid), NATS_URL, gateway endpoints, tokens. */
function parseBanner(out: string): {
  pids: Map<string, number>;
  natsUrl: string;
  endpoints: string;
  admin: string;
  customs: string;
} {
  const pids = new Map<string, number>();
  for (const m of out.matchAll(/NATS n(\d)\s+\S+\s+\(pid (\d+)/g))
    pids.set(`portstream-n${m[1]}`, Number(m[2]));
  const field = (re: RegExp): string => {
    const v = re.exec(out)?.[1];
    if (v === undefined) throw new Error(`banner without ${String(re)}:\n${out}`);
    return v;
  };
  return {
    pids,
    natsUrl: field(/NATS_URL\s+(\S+)/),
    endpoints: field(/endpoints\s+(\S+)/),
    admin: field(/admin\s+\S+\s+Bearer (\S+)/),
    customs: field(/customs\s+\S+\s+Bearer (\S+)/),
  };
}

/** Every consumer of the pipeline has acked everything on its stream. */
async function caughtUp(nc: NatsConnection): Promise<boolean> {
  const jsm = await jetstreamManager(nc, { timeout: 2000 });
  const consumers: [string, string][] = [
    [STREAM_EVENTS, 'processor-events'],
    [STREAM_CUSTOMS, 'processor-customs'],
    [STREAM_EVENTS, 'clickhouse-sink'],
    [STREAM_CUSTOMS, 'clickhouse-sink'],
    [STREAM_DECISIONS, 'clickhouse-sink'],
  ];
  for (const [stream, name] of consumers) {
    const [s, c] = await Promise.all([jsm.streams.info(stream), jsm.consumers.info(stream, name)]);
    if (c.num_pending !== 0 || c.num_ack_pending !== 0 || c.delivered.stream_seq < s.state.last_seq)
      return false;
  }
  return true;
}

describe('portstream cluster: 3 NATS nodes, 2 gateways, 2 processors, a sink, each its own process', () => {
  let dir: string;
  let cluster: Cluster | undefined;
  let nc: NatsConnection | undefined;
  afterAll(async () => {
    await nc?.close();
    if (cluster && cluster.proc.exitCode === null) {
      cluster.proc.kill('SIGINT');
      await cluster.exited;
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('loses nothing and doubles nothing while a NATS node is killed under a simulated port day', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'portstream-cluster-mode-'));
    const c = startCluster(dir);
    cluster = c;
    await waitFor(() => c.output().includes('Ctrl-C stops everything'), {
      timeoutMs: 150_000,
      intervalMs: 200,
      what: `the cluster banner (output so far:\n${c.output()})`,
    });
    const banner = parseBanner(c.output());
    expect(banner.endpoints.split(',')).toHaveLength(2);
    expect(banner.pids.size).toBe(3);
    const conn = await connectNats({ url: banner.natsUrl, name: 'cluster-mode-test' });
    nc = conn;
    const jsm = await jetstreamManager(conn, { timeout: 2000 });

    const stats = createStats({ ledger: true });
    const ledger = stats.ledger as SimulationLedger;
    const simulation = runSimulation(
      {
        endpoint: banner.endpoints,
        token: banner.admin,
        customsToken: banner.customs,
        seed: 11,
        durationMs: 15_000,
        timeScale: 5760,
        callsPerDay: 12,
        containersPerCall: [40, 80],
        // A node kill under a loaded CI machine can keep a stream leaderless for longer than the default
        // ~15 s of retries.
        customsAttempts: 16,
        stats,
      },
      silentLogger(),
    );

    // Midway: kill the node leading the events stream, as a machine crash would.
    let finished: string | undefined;
    simulation.then(
      () => (finished = 'done'),
      (err: unknown) => (finished = String(err)),
    );
    await waitFor(() => finished || (stats.accepted >= 600 && stats.declarationsSubmitted >= 20), {
      timeoutMs: 60_000,
      what: 'simulated traffic flowing',
    });
    expect(finished, `simulation ended before the kill: ${JSON.stringify({ ...stats, ledger: 0 })}`).toBe(
      undefined,
    );
    const leader = (await waitFor(() => jsm.streams.info(STREAM_EVENTS))).cluster?.leader ?? '';
    const victim = banner.pids.get(leader);
    expect(victim).toBeDefined();
    process.kill(victim ?? 0, 'SIGKILL');
    const acceptedAtKill = stats.accepted;

    const result = await simulation;
    expect(result.rejected).toBe(0);
    expect(result.declarationsFailed, stats.firstDeclarationFailure).toBe(0);
    expect(result.accepted + result.duplicate).toBe(result.eventsSent);
    expect(result.accepted).toBeGreaterThan(acceptedAtKill);
    expect(ledger.submitted.size).toBe(result.declarationsSubmitted);

    await waitFor(() => caughtUp(conn).catch(() => false), {
      timeoutMs: 60_000,
      intervalMs: 250,
      what: 'processors and sink caught up',
    });

    // Events: every acked id stored exactly once, nothing stored that was not acked.
    const acked = new Set([...ledger.accepted, ...ledger.duplicate]);
    expect(acked.size).toBe(result.eventsSent);
    // Reads retry: on a loaded machine a request can time out while the client fails over from the dead node.
    const read = <T>(what: string, fn: () => Promise<T>): Promise<NonNullable<T>> =>
      waitFor(fn, { timeoutMs: 60_000, intervalMs: 500, what });
    const groups = await read('the events stream', () =>
      storedMessages(conn, STREAM_EVENTS, (d) => EventGroup.decode(d)),
    );
    const copies = new Map<string, number>();
    const idsByContainer = new Map<string, string[]>();
    for (const g of groups) {
      for (const e of g.events) {
        copies.set(e.eventId, (copies.get(e.eventId) ?? 0) + 1);
        if (e.payload?.$case !== 'equipment') continue;
        const n = e.payload.value.containerNumber;
        idsByContainer.set(n, [...(idsByContainer.get(n) ?? []), e.eventId]);
      }
    }
    expect([...acked].filter((id) => copies.get(id) !== 1)).toEqual([]);
    expect(copies.size).toBe(acked.size);

    // Container state: every equipment event applied to its container (each keeps its newest 64 ids).
    const kvm = new Kvm(jetstream(conn));
    const containers = await read('the containers bucket', () => kvm.open(BUCKET_CONTAINERS));
    // Polled until complete: a read may be answered by the replica of the node that was killed, while it is
    // still catching up with the others (KV reads are direct gets, which any replica answers).
    let missing: string[] = [];
    await waitFor(
      async () => {
        const out: string[] = [];
        for (const [n, ids] of idsByContainer) {
          const entry = await containers.get(n);
          if (entry?.operation !== 'PUT') {
            out.push(`${n}: no state`);
            continue;
          }
          const recent = new Set(
            decodeContainerRecord(entry.value).bookkeeping.recentEventIds.map(clientEventId),
          );
          for (const id of ids.slice(-64)) if (!recent.has(id)) out.push(`${n}:${id}`);
        }
        missing = out;
        return out.length === 0;
      },
      { timeoutMs: 20_000, intervalMs: 500, what: 'every event in container state' },
    ).catch(() => undefined);
    expect(missing).toEqual([]);

    // Decisions: one per command (the submission, and the inspection result when one was recorded), never two
    // for the same step; the stream and the declaration's KV state agree.
    const decisions = await read('the decisions stream', () =>
      storedMessages(conn, STREAM_DECISIONS, (d) => Decision.decode(d)),
    );
    const perDeclaration = new Map<string, Decision[]>();
    for (const d of decisions)
      perDeclaration.set(d.declarationNumber, [...(perDeclaration.get(d.declarationNumber) ?? []), d]);
    expect([...perDeclaration.keys()].filter((n) => !ledger.submitted.has(n))).toEqual([]);
    const declarations = await read('the declarations bucket', () => kvm.open(BUCKET_DECLARATIONS));
    const wrong = await read('declaration state', async () => {
      const out: string[] = [];
      for (const n of ledger.submitted) {
        const onStream = perDeclaration.get(n) ?? [];
        // An inspection result whose call went unanswered and then failed may have been recorded: one decision or
        // two, never more, the stream and KV agreeing.
        const expected = ledger.inspected.has(n) ? 2 : 1;
        const alsoRight = ledger.inspectionUnconfirmed.has(n) ? 2 : expected;
        const entry = await declarations.get(n);
        const state = entry ? decodeDeclarationState(entry.value) : undefined;
        const inKv = state?.decisions.length ?? 0;
        // Position 0: recorded but never confirmed on the stream.
        const unconfirmed = state?.decisions.filter((d) => d.position === 0).length ?? 0;
        const right = (count: number): boolean => count === expected || count === alsoRight;
        if (!right(onStream.length) || inKv !== onStream.length || unconfirmed > 0)
          out.push(
            `${n}: ${onStream.length} on stream, ${inKv} in KV (${unconfirmed} unconfirmed), ${expected} expected`,
          );
      }
      return out;
    });
    expect(wrong).toEqual([]);
    const deadLetters = await read('the dead-letter stream', () => jsm.streams.info(STREAM_DEADLETTERS));
    expect(deadLetters.state.messages).toBe(0);

    // Ctrl-C: everything stops in order and exits cleanly; then ClickHouse is read from its folder.
    c.proc.kill('SIGINT');
    expect(await c.exited).toBe(0);
    expect(c.output()).toContain('"msg":"stopped"');
    const ch = createClickHouse({
      CLICKHOUSE_USER: 'default',
      CLICKHOUSE_DATABASE: 'portstream',
      CLICKHOUSE_REQUEST_TIMEOUT_MS: 30_000,
      PORTSTREAM_DATA_DIR: path.join(dir, 'cluster'),
    });
    try {
      const [ev] = await ch.query<{ n: string; u: string }>(
        'SELECT count() AS n, uniqExact(event_id) AS u FROM portstream.events',
      );
      expect({ n: Number(ev?.n), u: Number(ev?.u) }).toEqual({ n: acked.size, u: acked.size });
      const [dec] = await ch.query<{ n: string; u: string }>(
        'SELECT count() AS n, uniqExact(declaration_number, revision, status) AS u FROM portstream.decisions',
      );
      expect({ n: Number(dec?.n), u: Number(dec?.u) }).toEqual({ n: decisions.length, u: decisions.length });
    } finally {
      await ch.close();
    }
    console.log(
      `cluster-local: ${acked.size} events acked (${ledger.duplicate.size} DUPLICATE), ${String(acceptedAtKill)} ` +
        `before ${leader} was killed; ${result.batchRetries} batches re-sent; ${ledger.submitted.size} declarations, ` +
        `${ledger.inspected.size} inspections, ${decisions.length} decisions; ${idsByContainer.size} containers; ` +
        `ClickHouse ${acked.size} events, ${decisions.length} decisions`,
    );
  }, 300_000);
});
