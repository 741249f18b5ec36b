// The system the bench measures, started as it is deployed: gateway, processor and ClickHouse sink, each its own
// process (the sink on embedded ClickHouse in the run folder), against the bench's nats-server. Also counts a
// run's rows in that ClickHouse once the sink has stopped (embedded ClickHouse binds its folder to one process).
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { JetStreamManager } from '@nats-io/jetstream';
import { createClickHouse } from '../../core/clickhouse/index.js';
import { loadConfig } from '../../core/config.js';
import { ensureStreams, topologyOptions } from '../../core/nats/topology.js';
import { freePort, ServiceProcess, writeTokens } from './services.js';

export const OPERATOR_TOKEN = 'bench-operator-token-0123456789';
export const CUSTOMS_TOKEN = 'bench-customs-token-0123456789';
export const FIRM_TOKEN = 'bench-admin-token-0123456789';

export interface System {
  /** gRPC address of the events gateway (IngestService, ManifestService). */
  address: string;
  /** The events gateway's operations endpoint (/metrics). */
  gatewayOps: string;
  /** gRPC address of the customs gateway (CustomsService, EnterpriseService). */
  customsAddress: string;
  /** The customs gateway's operations endpoint (/metrics). */
  customsOps: string;
  all: ServiceProcess[];
  /** Graceful stop of every service (SIGTERM), sink last so it writes what the others left. */
  stop(): Promise<void>;
}

/** `cli`: the built CLI to run the services from (ServiceOptions.cli); by default the one this process runs. */
export async function startSystem(
  dir: string,
  natsUrl: string,
  jsm: JetStreamManager,
  cli?: string,
): Promise<System> {
  // Streams are the deployment's to create (a least-privilege reader may not), as `up` does.
  await ensureStreams(jsm, topologyOptions(loadConfig({})));
  const tokensFile = path.join(dir, 'tokens.json');
  await writeTokens(tokensFile, [
    { name: 'bench', role: 'operator', token: OPERATOR_TOKEN, terminals: ['VNHPH:*'] },
    { name: 'bench-customs', role: 'customs', token: CUSTOMS_TOKEN },
    { name: 'bench-admin', role: 'admin', token: FIRM_TOKEN },
  ]);
  const sinkDir = path.join(dir, 'sink');
  await mkdir(sinkDir, { recursive: true });
  const from = cli === undefined ? {} : { cli };
  const common = {
    NATS_URL: natsUrl,
    AUTH_TOKENS_FILE: tokensFile,
    PORTSTREAM_DATA_DIR: dir,
    // The bench measures capacity: no per-caller limits.
    RATE_LIMIT_EVENTS_PER_SECOND: '0',
    RATE_LIMIT_CUSTOMS_PER_SECOND: '0',
    RATE_LIMIT_API_PER_SECOND: '0',
  };
  const [port, opsPort, customsPort, customsOpsPort] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  const started: ServiceProcess[] = [];
  const stopAll = async (): Promise<void> => {
    for (const s of [...started].reverse()) await s.stop();
  };
  try {
    // The sink first: its migrations create the tables; then the processor; the gateway last, so nothing is
    // accepted before its readers exist. What may lag and catch up (the sink, the ledger projection, container
    // state) runs best-effort (Linux's idle scheduling class): when it and what answers callers (the gateways,
    // nats-server) want more CPU than there is, the others get it first, and at once. On several machines
    // ClickHouse has its own; on one, this is the deployment's choice (deploy/README.md).
    started.push(
      await ServiceProcess.start({
        ...from,
        command: 'sink',
        name: 'sink',
        dir,
        env: { ...common, PORTSTREAM_DATA_DIR: sinkDir },
        readyMessage: 'clickhouse sink started',
        bestEffort: true,
        readyTimeoutMs: 60_000,
      }),
    );
    // The ledger projection and the state consumer in processes of their own, as deployed: both catch up
    // behind what the gateways answer (the customs gateway decides).
    for (const role of ['state', 'customs'] as const) {
      started.push(
        await ServiceProcess.start({
          ...from,
          command: 'processor',
          name: role === 'customs' ? 'processor (customs)' : 'processor (state)',
          dir,
          env: { ...common, PROCESSOR_ROLES: role },
          bestEffort: true,
          readyMessage: 'processor started',
        }),
      );
    }
    // Two gateways, as a port runs them under event load: terminals' events (and carriers' manifests) on one,
    // customs declarations on the other, so a declaration never waits behind an event batch on one event loop.
    started.push(
      await ServiceProcess.start({
        ...from,
        command: 'ingest',
        name: 'gateway',
        dir,
        env: {
          ...common,
          INGEST_SERVICES: 'events,manifests',
          INGEST_PORT: String(port),
          OPS_HTTP_PORT: String(opsPort),
          INGEST_DEDUPE_CACHE_SIZE: '200000',
        },
        readyMessage: 'ingest gateway ready',
      }),
      await ServiceProcess.start({
        ...from,
        command: 'ingest',
        name: 'customs gateway',
        dir,
        env: {
          ...common,
          INGEST_SERVICES: 'customs',
          INGEST_PORT: String(customsPort),
          OPS_HTTP_PORT: String(customsOpsPort),
        },
        readyMessage: 'ingest gateway ready',
      }),
    );
  } catch (err) {
    await stopAll();
    throw err;
  }
  return {
    address: `127.0.0.1:${port}`,
    gatewayOps: `http://127.0.0.1:${opsPort}`,
    customsAddress: `127.0.0.1:${customsPort}`,
    customsOps: `http://127.0.0.1:${customsOpsPort}`,
    all: started,
    // Gateway, processor, then sink: each stops after what feeds it.
    stop: stopAll,
  };
}

/** Acked events of a run missing from ClickHouse, and copies beyond the first (raw rows, before merges). */
export async function countRows(
  dir: string,
  runId: string,
  acked: Uint8Array,
): Promise<{ lost: number; duplicated: number; rows: number }> {
  const ch = createClickHouse({
    CLICKHOUSE_USER: 'default',
    CLICKHOUSE_DATABASE: 'portstream',
    CLICKHOUSE_REQUEST_TIMEOUT_MS: 60_000,
    PORTSTREAM_DATA_DIR: path.join(dir, 'sink'),
  });
  try {
    const copies = new Uint16Array(acked.length);
    const prefix = `${runId}-`;
    // In slices by a hash of the id, so no answer holds millions of rows at once (the bench process would
    // otherwise hold gigabytes of decoded JSON).
    const slices = Math.max(1, Math.ceil(acked.length / 500_000));
    let total = 0;
    for (let slice = 0; slice < slices; slice++) {
      const rows = await ch.query<{ seq: number; n: number }>(
        `SELECT toUInt64(substring(event_id, {from:UInt32})) AS seq, count() AS n
         FROM ${ch.database}.events
         WHERE startsWith(event_id, {prefix:String}) AND cityHash64(event_id) % {slices:UInt32} = {slice:UInt32}
         GROUP BY seq`,
        { prefix, from: prefix.length + 1, slices, slice },
      );
      for (const r of rows) {
        if (r.seq < copies.length) copies[r.seq] = r.n;
        total += r.n;
      }
    }
    let lost = 0;
    let duplicated = 0;
    for (let i = 0; i < acked.length; i++) {
      const c = copies[i] ?? 0;
      if (acked[i] === 1 && c === 0) lost++;
      if (c > 1) duplicated += c - 1;
    }
    return { lost, duplicated, rows: total };
  } finally {
    await ch.close();
  }
}
