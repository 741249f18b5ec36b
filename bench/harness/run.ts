// `portstream bench`: baselines and scenarios in one process tree and one run, printed as a table and written as
// JSON with stable names so runs can be compared over time.
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connectNats } from '../../core/nats/connect.js';
import { LocalNatsServer } from '../../core/nats/local-server.js';
import { oneMachineNatsProcs } from '../../core/config.js';
import { GC_TRACE_ENV, NatsGcTrace } from './nats-gc.js';
import { STREAM_CUSTOMS, STREAM_DECISIONS, STREAM_EVENTS } from '../../core/nats/topology.js';
import { CUSTOMS_CONSUMER, INDEX_CONSUMER } from '../../core/consumer/index.js';
import { BUCKET_CONTAINERS, BUCKET_DECLARATIONS } from '../../core/nats/buckets.js';
import { Event } from '../../proto/gen/portstream/v1/events.js';
import { grpcEchoRate, jetstreamPublishRate, natsRequestLatency } from './baselines.js';
import { benchBatch, benchLoad } from './events.js';
import type { LoadAccount, LoadSummary } from './load-account.js';
import { CLEARANCE_WARMUP_S, startClearanceLoadProcess, type ClearanceLoadProcess } from './clearance.js';
import { ingestBackground, ingestLoad } from './ingest-load.js';
import { round, RssSampler } from './measure.js';
import { progress } from './progress.js';
import { statusScenario, type StatusPrincipal } from './status.js';
import { countStored } from './stored.js';
import { CpuMeter, CpuTimeline } from './cpu.js';
import { countRows, CUSTOMS_TOKEN, OPERATOR_TOKEN as TOKEN, startSystem } from './system.js';
import { totalLag, waitCaughtUp } from './lag.js';
import { STATE_CONSUMER } from '../../processor/state/consumer.js';
import { SINK_CONSUMER } from '../../sink/index.js';

export interface BenchOptions {
  quick: boolean;
  jsonPath: string;
  /** Declarations per second in the clearance scenario (default 500). */
  clearanceRate?: number;
  /** Background events per second during the clearance scenario (default 10,000; 0: none). */
  backgroundEvents?: number;
  /** Events per second of the fixed-rate end-to-end ingest run (default 20,000; 0: skip it). */
  sustainRate?: number;
  /** Container-status requests per second (default 2,000) and the principal asking (default firm). */
  statusRate?: number;
  statusPrincipal?: StatusPrincipal;
  /** Keep the run folder (logs, stores) instead of removing it. */
  keep?: boolean;
  /** GOMAXPROCS of the run's nats-server, as `up` gives its own (UP_NATS_PROCS); default: `up`'s default. */
  natsProcs?: number | 'all';
}

const BATCH = 500;

export async function runBench(opts: BenchOptions): Promise<Record<string, unknown>> {
  const ingestProbes = [
    { stream: STREAM_EVENTS, consumer: STATE_CONSUMER },
    { stream: STREAM_EVENTS, consumer: SINK_CONSUMER },
  ];
  const indexProbes = [BUCKET_CONTAINERS, BUCKET_DECLARATIONS].map((b) => ({
    stream: `KV_${b}`,
    consumer: INDEX_CONSUMER,
  }));
  const CLEARANCE_RATE = opts.clearanceRate ?? 500;
  const BACKGROUND_EVENTS = opts.backgroundEvents ?? 10_000;
  const baselineMs = opts.quick ? 1000 : 10_000;
  const ingestMs = opts.quick ? 3000 : 60_000;
  const sustainMs = opts.quick ? 1000 : 60_000;
  const dir = await mkdtemp(path.join(os.tmpdir(), 'portstream-bench-'));
  // nats-server traces its garbage collections, to place them against the scenarios (nats-gc.ts).
  const gc = new NatsGcTrace();
  const nats = await LocalNatsServer.start({
    storeDir: path.join(dir, 'nats'),
    env: GC_TRACE_ENV,
    onStderrLine: gc.onLine,
    procs: opts.natsProcs ?? oneMachineNatsProcs(),
  });
  const pids = new Map<string, number>([['bench (load generators)', process.pid]]);
  if (nats.pid !== undefined) pids.set('nats-server', nats.pid);
  const rss = new RssSampler(() => pids);
  rss.start();
  // What the scenarios that finished measured: written with the reason when a later scenario fails, so a
  // failed run still says what it saw before (the run fails all the same).
  const partial: Record<string, unknown> = {
    date: new Date().toISOString(),
    machine: { ...machine(), nats_procs: nats.procs },
    quick: opts.quick,
  };
  // Stopped in `finally` too: a scenario that fails must not leave the services running.
  let sut: Awaited<ReturnType<typeof startSystem>> | undefined;
  let nc: Awaited<ReturnType<typeof connectNats>> | undefined;
  const generators: ClearanceLoadProcess[] = [];
  try {
    const sampleBatch = benchBatch(benchLoad('sample', 0), 0, BATCH);
    const eventBytes = Event.encode(sampleBatch[0] as Event).finish();

    let bar = progress('baseline: JetStream', 3);
    const jsRate = await jetstreamPublishRate(nats.url, eventBytes, baselineMs);
    bar.update(1, 'gRPC echo');
    const grpcRate = await grpcEchoRate({ batchId: 'b', events: sampleBatch }, baselineMs);
    bar.update(2, 'NATS request');
    const req = await natsRequestLatency(nats.url, 1000, baselineMs);
    bar.update(3);
    bar.stop();

    // What each scenario offered and what was answered: printed as it ends, in the JSON under `load.*`, and
    // the run stops at the first scenario whose load was not answered as valid load must be.
    const loads: Record<string, LoadSummary> = {};
    partial.load = loads;
    const baselines = {
      jetstream_publish_msgs_per_s: Math.round(jsRate),
      grpc_stream_msgs_per_s: Math.round(grpcRate),
      grpc_stream_events_per_s: Math.round(grpcRate * BATCH),
      nats_request_p50_ms: round(req.ms(50), 3),
      nats_request_p99_ms: round(req.ms(99), 3),
      event_bytes: eventBytes.length,
      batch_events: BATCH,
    };
    partial.baselines = baselines;
    const account = (a: LoadAccount): void => {
      process.stderr.write(`${a.line()}\n`);
      loads[a.scenario] = a.summary();
      a.check();
    };

    nc = await connectNats({ url: nats.url, name: 'bench' });
    const jsm = await jetstreamManager(nc);

    const sustainedIngest = async (address: string, runId: string, rate: number) => {
      const bar = progress(`ingest at ${rate} events/s`, sustainMs);
      const started = Date.now();
      const tick = setInterval(() => {
        bar.update(Math.min(sustainMs, Date.now() - started));
      }, 1000);
      const load = await ingestBackground({
        address,
        token: TOKEN,
        runId,
        slot: 1,
        scenario: 'ingest.sustained',
        eventsPerSec: rate,
        durationMs: sustainMs,
        batchSize: BATCH,
      }).finally(() => {
        clearInterval(tick);
        bar.stop();
      });
      account(load.account);
      const lagAtEnd = await totalLag(jsm, ingestProbes);
      const caught = await waitCaughtUp(jsm, ingestProbes, opts.quick ? 60_000 : 300_000);
      const s = (consumer: string): number | null => {
        const ms = caught.ms.get(consumer);
        return ms === undefined ? null : round(ms / 1000, 1);
      };
      const state = s(STATE_CONSUMER);
      const sink = s(SINK_CONSUMER);
      return {
        rate_per_s: rate,
        duration_s: round(sustainMs / 1000, 1),
        acked: load.acked,
        acked_per_s: Math.round(load.acked / (sustainMs / 1000)),
        ...(load.error === undefined ? {} : { error: load.error }),
        lag_at_end: lagAtEnd,
        state_caught_up_s: state,
        clickhouse_caught_up_s: sink,
        lag_zero_within_5s: state !== null && sink !== null && Math.max(state, sink) <= 5,
      };
    };
    sut = await startSystem(dir, nats.url, jsm);
    for (const s of sut.all) if (s.pid !== undefined) pids.set(s.name, s.pid);
    const address = sut.address;
    const customsAddress = sut.customsAddress;

    const ingestCpu = new CpuMeter(() => pids);
    await ingestCpu.start();
    bar = progress('ingest', ingestMs);
    const started = Date.now();
    const runId = `run${Date.now().toString(36)}`;
    const load = await ingestLoad({
      address,
      token: TOKEN,
      runId,
      slot: 0,
      durationMs: ingestMs,
      batchSize: BATCH,
      streams: 2,
      window: 8,
      onProgress: (acked) => {
        bar.update(Date.now() - started, `${acked} events acked`);
      },
    });
    bar.stop();
    account(load.account);
    // End to end: the processor and the sink must take in everything acked; lag at the end of the load, then
    // how long until both had applied / written all of it.
    const eventProbes = ingestProbes;
    const lagAtEnd = await totalLag(jsm, eventProbes);
    bar = progress('ingest: catching up', lagAtEnd);
    const caught = await waitCaughtUp(jsm, eventProbes, opts.quick ? 60_000 : 300_000, (lag) => {
      bar.update(lagAtEnd - lag, `lag ${lag}`);
    });
    bar.stop();
    // CPU of every process from the first event in to the last one written: per event, where the time goes.
    const ingestCpuS = await ingestCpu.stop();
    const stored = await countStored(nc, runId, load.sent, load.ackedMap);
    const stateMs = caught.ms.get(STATE_CONSUMER);
    const sinkMs = caught.ms.get(SINK_CONSUMER);

    // Sustained end to end: events at a fixed rate (open model) for the same duration, then the lag when the
    // load stops and how long the processor and the sink take to have all of it. Target: back to zero in 5 s.
    const sustainRate = opts.quick
      ? Math.min(opts.sustainRate ?? 20_000, 5000)
      : (opts.sustainRate ?? 20_000);
    const sustained = sustainRate > 0 ? await sustainedIngest(address, `${runId}fx`, sustainRate) : undefined;
    // The list index (the lists of containers and declarations, kept by the state processor) follows the
    // buckets' streams, not PS_EVENTS: after millions of new containers it is still indexing them when the state
    // has caught up, and that work (nats-server's part of it at normal priority) would land in the clearance
    // scenario. It is waited for here, and how far behind it was and how long it took are reported.
    const indexLag = await totalLag(jsm, indexProbes);
    bar = progress('list index', Math.max(1, indexLag));
    const indexCaught = await waitCaughtUp(jsm, indexProbes, opts.quick ? 60_000 : 600_000, (lag) => {
      bar.update(Math.max(0, indexLag - lag), `lag ${lag}`);
    });
    bar.stop();
    const indexWaitS =
      indexCaught.lagLeft === 0
        ? round(Math.max(...[...indexCaught.ms.values()].map((v) => v ?? 0)) / 1000, 1)
        : null;
    const eventsPerS = load.acked / (load.elapsedMs / 1000);
    // The ingest figures; ClickHouse's rows are counted once the sink has stopped (undefined before).
    const ingestSection = (rows: { lost: number; duplicated: number } | undefined) => ({
      stage: 'gRPC -> gateway -> JetStream -> processor (KV state) and sink (ClickHouse rows)',
      duration_s: round(load.elapsedMs / 1000, 1),
      events_per_s: Math.round(eventsPerS),
      acked: load.acked,
      rejected: load.rejected,
      lag_at_end: lagAtEnd,
      state_caught_up_s: stateMs === undefined ? null : round(stateMs / 1000, 1),
      clickhouse_caught_up_s: sinkMs === undefined ? null : round(sinkMs / 1000, 1),
      applied_events_per_s:
        stateMs === undefined ? null : Math.round(load.acked / ((load.elapsedMs + stateMs) / 1000)),
      clickhouse_events_per_s:
        sinkMs === undefined ? null : Math.round(load.acked / ((load.elapsedMs + sinkMs) / 1000)),
      // Rows still missing from ClickHouse only count as lost once the sink has caught up; before that
      // they are behind (still in the stream for the sink), reported apart.
      lost: stored.lost + (sinkMs === undefined || rows === undefined ? 0 : rows.lost),
      duplicated: stored.duplicated + (rows?.duplicated ?? 0),
      stream_lost: stored.lost,
      stream_duplicated: stored.duplicated,
      clickhouse_lost: sinkMs === undefined || rows === undefined ? null : rows.lost,
      clickhouse_behind: rows === undefined ? null : sinkMs === undefined ? rows.lost : 0,
      clickhouse_duplicated: rows === undefined ? null : rows.duplicated,
      ratio_to_jetstream_publish: round(eventsPerS / jsRate),
      ratio_to_grpc_stream_events: round(eventsPerS / (grpcRate * BATCH)),
      ...(sustained === undefined ? {} : { sustained }),
      // Changes the list index had yet to project when the fixed-rate run had caught up, and how long it then
      // took (null: not within the wait).
      index_lag_after_sustained: indexLag,
      index_caught_up_after_sustained_s: indexWaitS,
    });
    // CPU microseconds per acked event, per process, over the ingest scenario including catch-up.
    const ingestUsPerEvent = Object.fromEntries(
      [...ingestCpuS].map(([k, v]) => [k, round((v * 1e6) / Math.max(1, load.acked), 1)]),
    );
    partial.ingest = ingestSection(undefined);
    partial.cpu = { ingest_us_per_event: ingestUsPerEvent };

    // Clearance: declarations at a fixed rate through the gateway and processor, with event load behind (the
    // processor applies it to container state and the sink writes it, as in production).
    const clearanceMs = opts.quick ? 3000 : 30_000;
    // The generator in a process of its own (its event loop is not the event load's), first warmed up at the
    // rate, not measured: the customs gateway's path is optimized over its first seconds of calls, and so is the
    // generator's (CLEARANCE_WARMUP_S).
    const clearanceCount = Math.ceil((CLEARANCE_RATE * clearanceMs) / 1000);
    const warmupS = opts.quick ? 1 : CLEARANCE_WARMUP_S;
    const generatorPlan = (scenario: string, durationMs: number, count: number, serial: number) => ({
      address: customsAddress,
      token: CUSTOMS_TOKEN,
      ratePerSec: CLEARANCE_RATE,
      durationMs,
      count,
      serial,
      scenario,
      warmupMs: warmupS * 1000,
      warmupCount: CLEARANCE_RATE * warmupS,
      warmupSerial: serial + 1,
    });
    // Each set of declarations a run submits has its own serial (declarations() numbers them apart by serial
    // modulo 10,000): a number used twice would be refused as taken (ALREADY_EXISTS) and fail the run.
    const serialBase = (Date.now() % 2500) * 4;
    const generator = await startClearanceLoadProcess(
      generatorPlan('clearance', clearanceMs, clearanceCount, serialBase),
    );
    generators.push(generator);
    account(generator.warmup);
    if (generator.pid !== undefined) pids.set(CLEARANCE_GENERATOR, generator.pid);
    const clearanceCpu = new CpuMeter(() => pids);
    await clearanceCpu.start();
    const clearanceTimeline = new CpuTimeline(() => pids);
    clearanceTimeline.start();
    const clearanceStarted = performance.now();
    bar = progress('clearance', clearanceCount);
    const [clearance, background] = await Promise.all([
      generator.run((n) => {
        bar.update(n);
      }),
      BACKGROUND_EVENTS > 0
        ? ingestBackground({
            address,
            token: TOKEN,
            runId: `${runId}bg`,
            slot: 2,
            scenario: 'clearance.background',
            eventsPerSec: BACKGROUND_EVENTS,
            durationMs: clearanceMs,
            batchSize: BATCH,
          })
        : Promise.resolve(undefined),
    ]);
    bar.stop();
    const clearanceEnded = performance.now();
    const coresBySecond = clearanceTimeline.stop();
    const clearanceFigures = {
      stage: 'gRPC SubmitDeclaration -> customs gateway decision (one JetStream append) -> answer',
      rate_per_s: CLEARANCE_RATE,
      background_events_per_s: BACKGROUND_EVENTS,
      background_events_acked: background?.acked ?? 0,
      duration_s: clearanceMs / 1000,
      submitted: clearance.submitted,
      decided: clearance.decided,
      pending: clearance.pending,
      failed: clearance.failed,
      p50_ms: round(clearance.latency.ms(50)),
      p90_ms: round(clearance.latency.ms(90)),
      p99_ms: round(clearance.latency.ms(99)),
      max_ms: round(clearance.latency.maxMs),
      p99_ratio_to_nats_request_p99: round(clearance.latency.ms(99) / req.ms(99)),
      max_ms_by_second: clearance.maxBySecondMs.map((ms) => round(ms, 1)),
      // nats-server's collections whose marking overlapped the scenario, in seconds from its start.
      nats_gc: gc.during(clearanceStarted, clearanceEnded),
      // Cores each process kept busy in each second of the load: who had the CPU when the slowest were decided.
      cores_by_second: Object.fromEntries([...coresBySecond].map(([k, v]) => [k, v.map((c) => round(c, 2))])),
      // And the share of each second the machine's tasks stalled for a core or for the disk.
      stall_by_second: Object.fromEntries(
        [...clearanceTimeline.stalls].map(([k, v]) => [k, v.map((c) => round(c, 2))]),
      ),
    };
    partial.clearance = clearanceFigures;
    account(clearance.account);
    if (background) account(background.account);
    const clearanceWallS = (performance.now() - clearanceStarted) / 1000;
    // CPU per declaration counts what the load leaves behind too: the ledger projection, the state consumer and
    // the sink (which yield the CPU while the gateway is busy) catch up before the meter stops.
    const clearanceProbes = [
      ...ingestProbes,
      ...indexProbes,
      { stream: STREAM_CUSTOMS, consumer: CUSTOMS_CONSUMER },
      { stream: STREAM_CUSTOMS, consumer: SINK_CONSUMER },
      { stream: STREAM_DECISIONS, consumer: SINK_CONSUMER },
    ];
    const clearanceCaught = await waitCaughtUp(jsm, clearanceProbes, opts.quick ? 60_000 : 300_000);
    const clearanceCpuS = await clearanceCpu.stop();
    await generator.close();
    pids.delete(CLEARANCE_GENERATOR);
    const clearanceCatchUpS = (performance.now() - clearanceStarted) / 1000 - clearanceWallS;

    // CPU per declaration, on its own: the same rate without events behind, from the first submission until the
    // projection and the sink have all of it, every service process and nats-server (not the load generator).
    const aloneMs = opts.quick ? 2000 : 10_000;
    const aloneGenerator = await startClearanceLoadProcess(
      generatorPlan('clearance.alone', aloneMs, Math.ceil((CLEARANCE_RATE * aloneMs) / 1000), serialBase + 2),
    );
    generators.push(aloneGenerator);
    account(aloneGenerator.warmup);
    // What the processes use with nothing submitted, just before (work the earlier scenarios left: ClickHouse
    // merging their rows, nats-server holding their keys): reported apart, it is in the figure below too.
    await waitCaughtUp(jsm, clearanceProbes, opts.quick ? 60_000 : 300_000);
    const idleMs = opts.quick ? 1000 : 5000;
    const idleCpu = new CpuMeter(() => pids);
    await idleCpu.start();
    await new Promise((r) => setTimeout(r, idleMs));
    const idleCpuS = await idleCpu.stop();
    const aloneCpu = new CpuMeter(() => pids);
    await aloneCpu.start();
    const aloneStarted = performance.now();
    bar = progress('clearance alone', Math.ceil((CLEARANCE_RATE * aloneMs) / 1000));
    const alone = await aloneGenerator.run((n) => {
      bar.update(n);
    });
    bar.stop();
    account(alone.account);
    await waitCaughtUp(jsm, clearanceProbes, opts.quick ? 60_000 : 300_000);
    const aloneCpuS = await aloneCpu.stop();
    // nats-server's collections over the same window: the part of its CPU per declaration that marks the heap of
    // the keys the earlier scenarios left, not the declarations' own messages.
    const aloneNatsGc = gc.during(aloneStarted, performance.now());
    await aloneGenerator.close();
    await sut.stop();
    const rows = await countRows(dir, runId, load.ackedMap);
    await nc.close();

    const status = await statusScenario({
      natsUrl: nats.url,
      // A folder of the API's own: its embedded ClickHouse is not the sink's.
      dataDir: path.join(dir, 'status-api'),
      ratePerSec: opts.statusRate ?? 2000,
      warmupMs: opts.quick ? 300 : 2000,
      durationMs: opts.quick ? 700 : 15_000,
      containers: opts.quick ? 2000 : 5000,
      principal: opts.statusPrincipal ?? 'firm',
      pids,
      gc,
    });
    for (const a of status.accounts) account(a);
    rss.stop();

    const result = {
      date: partial.date,
      machine: partial.machine,
      quick: opts.quick,
      baselines: { ...baselines, ...status.baselines },
      ingest: ingestSection(rows),
      clearance: {
        ...clearanceFigures,
        // After the load, until the projection, the state consumer and the sink had all of it.
        caught_up_s: clearanceCaught.lagLeft === 0 ? round(clearanceCatchUpS, 1) : null,
      },
      status: status.status,
      load: loads,
      cpu: {
        ingest_us_per_event: ingestUsPerEvent,
        // CPU milliseconds per decided declaration across the services and nats-server (not the load
        // generator), measured with declarations alone at the clearance rate, until all was projected and written.
        clearance_ms_per_declaration: round((servicesCpuS(aloneCpuS) * 1000) / Math.max(1, alone.decided), 3),
        clearance_alone_us_per_declaration: Object.fromEntries(
          [...aloneCpuS].map(([k, v]) => [k, round((v * 1e6) / Math.max(1, alone.decided), 0)]),
        ),
        clearance_alone_nats_gc: {
          cycles: aloneNatsGc.cycles,
          cpu_s: aloneNatsGc.cpu_s,
          us_per_declaration: round((aloneNatsGc.cpu_s * 1e6) / Math.max(1, alone.decided), 0),
        },
        // Cores each process kept busy with nothing submitted, just before the measure above.
        clearance_alone_idle_cores: Object.fromEntries(
          [...idleCpuS].map(([k, v]) => [k, round(v / (idleMs / 1000), 3)]),
        ),
        // Cores each process kept busy during the clearance scenario and its catch-up (CPU seconds / wall seconds).
        clearance_cores: Object.fromEntries(
          [...clearanceCpuS].map(([k, v]) => [k, round(v / (clearanceWallS + clearanceCatchUpS), 2)]),
        ),
      },
      // nats-server's garbage collections over the whole run (GODEBUG=gctrace=1).
      nats_gc: gc.summary(),
      memory: {
        max_rss_mb: round(Math.max(...rss.peakMb.values()), 1),
        // The services alone (the target's "no process above 400 MB"), without the bench's load generators and
        // baseline server.
        max_service_rss_mb: round(
          Math.max(...[...rss.peakMb].filter(([k]) => !isLoadGenerator(k)).map(([, v]) => v)),
          1,
        ),
        per_process_mb: Object.fromEntries([...rss.peakMb].map(([k, v]) => [k, round(v, 1)])),
      },
    };
    await mkdir(path.dirname(path.resolve(opts.jsonPath)), { recursive: true });
    await writeFile(opts.jsonPath, JSON.stringify(result, null, 2) + '\n');
    return result;
  } catch (err) {
    await mkdir(path.dirname(path.resolve(opts.jsonPath)), { recursive: true });
    const memory = { per_process_mb: Object.fromEntries([...rss.peakMb].map(([k, v]) => [k, round(v, 1)])) };
    const failed = { failed: err instanceof Error ? err.message : String(err), ...partial, memory };
    await writeFile(opts.jsonPath, JSON.stringify(failed, null, 2) + '\n');
    process.stderr.write(`what was measured before it failed: ${opts.jsonPath}\n`);
    throw err;
  } finally {
    rss.stop();
    for (const g of generators) g.kill();
    await sut?.stop();
    if (nc && !nc.isClosed()) await nc.close();
    await nats.stop();
    if (opts.keep) process.stderr.write(`run folder kept: ${dir}\n`);
    else await rm(dir, { recursive: true, force: true });
  }
}

/** The bench's own processes: its load generators and the status scenario's bare baseline server. */
const isLoadGenerator = (name: string): boolean => /load generator|baseline server/.test(name);
/** The clearance scenario's generator process, among the processes measured while it runs. */
const CLEARANCE_GENERATOR = 'clearance load generator';

/** CPU seconds of the services and nats-server, without the bench's load generators. */
function servicesCpuS(m: ReadonlyMap<string, number>): number {
  return [...m].filter(([k]) => !isLoadGenerator(k)).reduce((a, [, v]) => a + v, 0);
}

function machine(): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpu_model: cpus[0]?.model ?? 'unknown',
    memory_gb: round(os.totalmem() / 1024 ** 3, 1),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
}
