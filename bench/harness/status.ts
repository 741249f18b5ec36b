// The status scenario: container-status latency of the real tracking API (`portstream api`) at a fixed request
// rate, over gRPC and HTTP, beside a bare grpc-js unary call measured the same way in the same run. Container
// records are written to KV with the processor's own encoders (core/state). The API, the bare server
// (unary-server.ts) and the load generator (status-load.ts) each run in a process of their own, so none shares
// an event loop, a heap or CPU time slices with another or with the bench.
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { mainThreadCpuSeconds, settle } from './cpu.js';
import { ensureBuckets } from '../../core/nats/buckets.js';
import { connectNats } from '../../core/nats/connect.js';
import { encodeContainerRecord } from '../../core/state/container.js';
import { encodeDeclarationState } from '../../core/state/declaration.js';
import { Declaration } from '../../proto/gen/portstream/v1/customs.js';
import { ContainerBookkeeping } from '../../proto/gen/portstream/v1/records.js';
import { ContainerLocation, ContainerStatus, CustomsStatus } from '../../proto/gen/portstream/v1/tracking.js';
import { runHarnessScript } from './child.js';
import { benchContainer } from './events.js';
import { LoadAccount } from './load-account.js';
import { gcBetween, round } from './measure.js';
import { progress } from './progress.js';
import type { NatsGcTrace } from './nats-gc.js';
import type { StatusLoadPlan, StatusPhaseResult } from './status-load.js';
import { freePort, ServiceProcess, writeTokens } from './services.js';

export type StatusPrincipal = 'firm' | 'operator';

export interface StatusOptions {
  natsUrl: string;
  /** Scratch folder: the API's data folder (its embedded ClickHouse, which container status never reads) and log. */
  dataDir: string;
  ratePerSec: number;
  warmupMs: number;
  durationMs: number;
  containers: number;
  principal: StatusPrincipal;
  /** Process table of the run's RSS sampler: the load generator is added while it runs. */
  pids: Map<string, number>;
  /** nats-server's collections, placed against each measured phase (`status.nats_gc.<phase>`). */
  gc?: NatsGcTrace;
  /** The built CLI to start `portstream api` from, when this process is not the CLI (ServiceOptions.cli). */
  cli?: string;
}

export interface StatusOutcome {
  /** What each phase offered and what was answered. */
  accounts: LoadAccount[];
  baselines: Record<string, number>;
  status: Record<string, unknown>;
}

const FIRM_TAX = '0100109106';
const FIRM_TOKEN = 'bench-firm-token-0123456789';
const OPERATOR_TOKEN = 'bench-status-operator-token-0123456789';
const CONTAINERS_PER_DECLARATION = 30;
const TERMINALS = ['HICT', 'TVCT', 'DVCT', 'NDVT'];

function containerStatus(i: number, declarationNumber: string): ContainerStatus {
  return ContainerStatus.fromPartial({
    containerNumber: benchContainer(i),
    isoSizeType: i % 3 === 0 ? '22G1' : '45G1',
    location: ContainerLocation.IN_YARD,
    facility: { unLocode: 'VNHPH', terminalCode: TERMINALS[i % TERMINALS.length] ?? 'HICT' },
    yardPosition: { block: `B${i % 20}`, bay: i % 60, row: i % 8, tier: 1 + (i % 5) },
    customsStatus: CustomsStatus.PENDING,
    declarationNumbers: [declarationNumber],
    lastEventTime: new Date(Date.now() - (i % 3600) * 1000),
  });
}

/** Writes `count` containers and their declarations (the firm is declarant on all) as the processor would. */
async function seed(natsUrl: string, count: number): Promise<Uint8Array> {
  const nc = await connectNats({ url: natsUrl, name: 'bench-status-seed' });
  try {
    const { containers, declarations } = await ensureBuckets(jetstream(nc), 1);
    const declNo = (d: number): string => `30${String(d).padStart(10, '0')}`;
    const writes: (() => Promise<unknown>)[] = [];
    for (let d = 0; d * CONTAINERS_PER_DECLARATION < count; d++) {
      const members = Array.from(
        { length: Math.min(CONTAINERS_PER_DECLARATION, count - d * CONTAINERS_PER_DECLARATION) },
        (_, j) => d * CONTAINERS_PER_DECLARATION + j,
      );
      const declaration = Declaration.fromPartial({
        declarationNumber: declNo(d),
        declarantTaxCode: FIRM_TAX,
        containerNumbers: members.map(benchContainer),
      });
      writes.push(() =>
        declarations.put(
          declNo(d),
          encodeDeclarationState({ declaration, revision: 1, appliedCommands: [], decisions: [] }),
        ),
      );
      for (const i of members) {
        writes.push(() =>
          containers.put(
            benchContainer(i),
            encodeContainerRecord({
              status: containerStatus(i, declNo(d)),
              bookkeeping: ContainerBookkeeping.fromPartial({ recentEventIds: [`bench-${i}`] }),
            }),
          ),
        );
      }
    }
    // A window of puts in flight: one at a time would take seconds, all at once would be unbounded.
    for (let k = 0; k < writes.length; k += 256) {
      await Promise.all(writes.slice(k, k + 256).map((w) => w()));
    }
    return ContainerStatus.encode(containerStatus(0, declNo(0))).finish();
  } finally {
    await nc.close();
  }
}

/**
 * nats-server's collections whose marking overlapped each measured phase: every read waits on nats-server, so a
 * phase with a collection in it has the longer tail, whichever protocol it measured.
 */
function natsGcByPhase(
  gc: NatsGcTrace,
  windows: Map<string, { from: number; to: number }>,
): Record<string, { cycles: number; mark_s: number; marking_s: string[] }> {
  return Object.fromEntries(
    [...windows].map(([name, w]) => {
      const { cycles, mark_s, marking_s } = gc.during(w.from, w.to);
      return [name, { cycles, mark_s, marking_s }];
    }),
  );
}

/** The bare baseline server (unary-server.ts) in a process of its own; stop() closes its stdin and waits. */
async function startUnaryProcess(
  answer: Uint8Array,
): Promise<{ address: string; pid: number; stop(): Promise<void> }> {
  let listening: (address: string) => void = () => undefined;
  const address = new Promise<string>((resolve) => {
    listening = resolve;
  });
  const child = runHarnessScript('unary-server', [Buffer.from(answer).toString('base64')], {
    stdinPipe: true,
    onLine: (line) => {
      listening((JSON.parse(line) as { address: string }).address);
    },
  });
  const pid = child.process.pid;
  if (pid === undefined) throw new Error('the status baseline server did not start');
  return {
    address: await Promise.race([
      address,
      child.done.then(() => Promise.reject(new Error('baseline server exited'))),
    ]),
    pid,
    stop: async () => {
      child.process.stdin?.end();
      await child.done;
    },
  };
}

export async function statusScenario(o: StatusOptions): Promise<StatusOutcome> {
  // What the earlier scenarios left running (ClickHouse merging the parts the sink wrote, nats-server
  // compacting) is not this scenario's load: wait for the machine to go quiet, within a bound, and say how long.
  const settled = await settle(0.3, o.warmupMs > 1000 ? 120_000 : 5000);
  // On a shared machine the other tenants' load explains much of a bad run; say what it was.
  const loadAverage = os.loadavg()[0] ?? 0;
  const answer = await seed(o.natsUrl, o.containers);
  // The API as it is deployed, `portstream api` in a process of its own, and the bare server in another: in the
  // bench process they would share its heap, whose collector's limits the earlier scenarios' bookkeeping set.
  const apiDir = path.join(o.dataDir, 'status');
  await mkdir(apiDir, { recursive: true });
  const tokensFile = path.join(apiDir, 'tokens.json');
  await writeTokens(tokensFile, [
    { name: 'bench-firm', role: 'firm', token: FIRM_TOKEN, tax_codes: [FIRM_TAX] },
    { name: 'bench-operator', role: 'operator', token: OPERATOR_TOKEN, terminals: ['VNHPH:*'] },
  ]);
  const [grpcPort, httpPort, opsPort] = [await freePort(), await freePort(), await freePort()];
  const api = await ServiceProcess.start({
    ...(o.cli === undefined ? {} : { cli: o.cli }),
    command: 'api',
    name: 'api',
    dir: apiDir,
    env: {
      NATS_URL: o.natsUrl,
      AUTH_TOKENS_FILE: tokensFile,
      PORTSTREAM_DATA_DIR: apiDir,
      API_GRPC_PORT: String(grpcPort),
      API_HTTP_PORT: String(httpPort),
      OPS_HTTP_PORT: String(opsPort),
      // The bench measures capacity: no per-caller limit.
      RATE_LIMIT_API_PER_SECOND: '0',
    },
    readyMessage: 'api ready',
  });
  const unary = await startUnaryProcess(answer);
  const serving = { api: api.pid ?? 0, baseline: unary.pid };
  if (api.pid !== undefined) o.pids.set('api', api.pid);
  o.pids.set('status baseline server', unary.pid);
  const token = o.principal === 'firm' ? FIRM_TOKEN : OPERATOR_TOKEN;
  const plan: StatusLoadPlan = {
    rate: o.ratePerSec,
    warmupMs: o.warmupMs,
    durationMs: o.durationMs,
    containers: o.containers,
    phases: [
      { name: 'baseline', mode: 'grpc-unary-baseline', target: unary.address, token: '' },
      { name: 'grpc', mode: 'grpc', target: `127.0.0.1:${grpcPort}`, token },
      { name: 'http', mode: 'http', target: `http://127.0.0.1:${httpPort}`, token },
    ],
  };
  const phases = new Map<string, StatusPhaseResult>();
  // CPU of the serving process's main thread (the bare server's in the baseline phase, the API's in the others)
  // over each measured phase: steadier than latency on a shared machine, and what the gRPC path costs beyond
  // the bare server.
  const cpuUsPerRead = new Map<string, number>();
  let cpuAtStart = 0;
  let measuring = '';
  const servingPid = (phase: string): number => (phase === 'baseline' ? serving.baseline : serving.api);
  // The API's /metrics page at the start and end of each of its phases, for its garbage collection there.
  const metricsAt = new Map<string, Promise<string>>();
  const apiMetrics = (): Promise<string> =>
    fetch(`http://127.0.0.1:${opsPort}/metrics`).then((r) => r.text());
  // Each measured phase's window (performance.now()), to place nats-server's collections in.
  const windows = new Map<string, { from: number; to: number }>();
  let measuringSince = 0;
  const apiGc: Record<string, ReturnType<typeof gcBetween>> = {};
  const bar = progress('status', plan.phases.length);
  try {
    const child = runHarnessScript('status-load', [JSON.stringify(plan)], {
      onLine: (line) => {
        const m = JSON.parse(line) as StatusPhaseResult | { name: string; measuring: true };
        if ('measuring' in m) {
          measuring = m.name;
          if (measuring !== 'baseline') metricsAt.set(`${measuring}:start`, apiMetrics());
          cpuAtStart = mainThreadCpuSeconds(servingPid(measuring));
          measuringSince = performance.now();
          return;
        }
        const r = m;
        windows.set(r.name, { from: measuringSince, to: performance.now() });
        if (r.name !== 'baseline') metricsAt.set(`${r.name}:end`, apiMetrics());
        const cpuS = mainThreadCpuSeconds(servingPid(r.name)) - cpuAtStart;
        cpuUsPerRead.set(r.name, round((cpuS * 1e6) / Math.max(1, r.ok + r.errors), 1));
        phases.set(r.name, r);
        bar.update(phases.size, `${r.name} p99 ${round(r.p99_ms)} ms`);
      },
    });
    if (child.process.pid !== undefined) o.pids.set('status load generator', child.process.pid);
    await child.done;
    for (const phase of ['grpc', 'http']) {
      const [before, after] = [metricsAt.get(`${phase}:start`), metricsAt.get(`${phase}:end`)];
      if (before && after) apiGc[phase] = gcBetween(await before, await after);
    }
  } finally {
    bar.stop();
    await unary.stop();
    await api.stop();
  }
  const base = phases.get('baseline');
  const grpc = phases.get('grpc');
  const http = phases.get('http');
  if (!base || !grpc || !http) throw new Error('status load generator gave no result for a phase');
  const ratio = (ms: number): number => (base.p99_ms > 0 ? round(ms / base.p99_ms) : 0);
  const fields = (prefix: string, r: StatusPhaseResult): Record<string, number> => ({
    [`${prefix}_p50_ms`]: round(r.p50_ms, 3),
    [`${prefix}_p90_ms`]: round(r.p90_ms, 3),
    [`${prefix}_p99_ms`]: round(r.p99_ms, 3),
    [`${prefix}_max_ms`]: round(r.max_ms, 3),
    [`${prefix}_sent_per_s`]: r.sent_per_s,
    [`${prefix}_answered_per_s`]: r.answered_per_s,
    [`${prefix}_ok`]: r.ok,
    [`${prefix}_errors`]: r.errors,
    [`${prefix}_cpu_us_per_read`]: cpuUsPerRead.get(r.name) ?? 0,
  });
  // Every read asks for a container the scenario wrote: any failed read fails the run.
  const accounts = [base, grpc, http].map((r) => {
    const a = new LoadAccount(`status.${r.name}`, 'reads');
    a.offered = r.sent;
    a.accepted = r.ok;
    if (r.errors > 0) a.error(r.first_error ?? `${r.errors} reads failed`, r.errors);
    return a;
  });
  const firstErrors = Object.fromEntries(
    [base, grpc, http].flatMap((r) => (r.first_error === undefined ? [] : [[r.name, r.first_error]])),
  );
  return {
    accounts,
    baselines: {
      grpc_unary_p50_ms: round(base.p50_ms, 3),
      grpc_unary_p99_ms: round(base.p99_ms, 3),
      grpc_unary_errors: base.errors,
      grpc_unary_cpu_us_per_read: cpuUsPerRead.get(base.name) ?? 0,
    },
    status: {
      stage: 'GetContainerStatus / GET /v1/containers/{n} -> API -> KV (load from a child process)',
      principal: o.principal,
      machine_load_1m: round(loadAverage, 1),
      settle_s: round(settled.waitedS, 1),
      machine_busy_cores_at_start: round(settled.busyCores, 2),
      containers: o.containers,
      rate_per_s: o.ratePerSec,
      duration_s: o.durationMs / 1000,
      ...fields('grpc', grpc),
      ...fields('http', http),
      grpc_p99_ratio_to_grpc_unary_p99: ratio(grpc.p99_ms),
      http_p99_ratio_to_grpc_unary_p99: ratio(http.p99_ms),
      ...(Object.keys(firstErrors).length > 0 ? { first_error: firstErrors } : {}),
      max_ms_by_second: {
        baseline: base.max_ms_by_second,
        grpc: grpc.max_ms_by_second,
        http: http.max_ms_by_second,
      },
      api_gc: apiGc,
      ...(o.gc === undefined ? {} : { nats_gc: natsGcByPhase(o.gc, windows) }),
    },
  };
}
