// Load generator of the memory soak, run as its own process (soak.ts spawns it): events on one StreamEvents
// call, declarations over SubmitDeclaration and container-status reads over gRPC, each at a fixed rate (open
// model) for the whole run. Prints one JSON line (SoakLoadResult) at the end.
//   node soak-load.js '<SoakLoadPlan as JSON>'
import { setTimeout as delay } from 'node:timers/promises';
import { Latency } from '../../core/latency.js';
import { clearanceLoad, declarations } from './clearance.js';
import { benchContainer } from './events.js';
import { ingestBackground } from './ingest-load.js';
import { openLoop } from './schedule.js';
import { caller } from './status-callers.js';

export interface SoakLoadPlan {
  ingestAddress: string;
  apiAddress: string;
  operatorToken: string;
  customsToken: string;
  statusToken: string;
  runId: string;
  eventsPerSec: number;
  declarationsPerSec: number;
  statusPerSec: number;
  durationMs: number;
}

export interface SoakLoadResult {
  events_acked: number;
  events_error?: string;
  declarations_error?: string;
  declarations_submitted: number;
  declarations_decided: number;
  declarations_pending: number;
  declarations_failed: number;
  clearance_p50_ms: number;
  clearance_p99_ms: number;
  status_ok: number;
  status_errors: number;
  status_p50_ms: number;
  status_p99_ms: number;
  status_first_error?: string;
}

/** Containers the first events create; status reads start after they had time to reach the processor. */
const STATUS_CONTAINERS = 500;
const STATUS_START_DELAY_MS = 3000;

const plan = JSON.parse(process.argv[2] ?? '{}') as SoakLoadPlan;

async function statusReads(): Promise<{ ok: number; errors: number; latency: Latency; first?: string }> {
  const latency = new Latency();
  let ok = 0;
  let errors = 0;
  let first: string | undefined;
  if (plan.statusPerSec <= 0 || plan.durationMs <= STATUS_START_DELAY_MS) return { ok, errors, latency };
  await delay(STATUS_START_DELAY_MS);
  const call = await caller('grpc', plan.apiAddress, plan.statusToken);
  let inflight = 0;
  await openLoop(plan.statusPerSec, plan.durationMs - STATUS_START_DELAY_MS, (i, at) => {
    inflight++;
    call(benchContainer(i % STATUS_CONTAINERS), (good, why) => {
      inflight--;
      if (good) {
        ok++;
        latency.record(performance.now() - at);
      } else {
        errors++;
        first ??= why;
      }
    });
  });
  const deadline = Date.now() + 6000;
  while (inflight > 0 && Date.now() < deadline) await delay(10);
  return { ok, errors: errors + inflight, latency, ...(first === undefined ? {} : { first }) };
}

// A part that never settles (a stream the server never closes) is reported rather than left to hang: the
// interval keeps the process alive until the deadline below decides.
let clearanceError: string | undefined;
const keepAlive = setInterval(() => undefined, 1000);
const settleMs = plan.durationMs + 60_000;
function bounded<T>(p: Promise<T>, what: string): Promise<T> {
  return Promise.race([
    p,
    delay(settleMs).then(() => {
      throw new Error(`${what} had not finished ${settleMs / 1000} s after the start`);
    }),
  ]);
}

const [events, clearance, status] = await Promise.all([
  plan.eventsPerSec > 0
    ? bounded(
        ingestBackground({
          address: plan.ingestAddress,
          token: plan.operatorToken,
          runId: plan.runId,
          eventsPerSec: plan.eventsPerSec,
          durationMs: plan.durationMs,
          batchSize: 500,
        }),
        'the event stream',
      ).catch((e: unknown) => ({ acked: 0, error: String(e) }))
    : Promise.resolve<{ acked: number; error?: string }>({ acked: 0 }),
  plan.declarationsPerSec > 0
    ? bounded(
        clearanceLoad({
          address: plan.ingestAddress,
          token: plan.customsToken,
          ratePerSec: plan.declarationsPerSec,
          durationMs: plan.durationMs,
          decls: declarations(
            Math.ceil((plan.declarationsPerSec * plan.durationMs) / 1000),
            Date.now() % 1_000_000,
          ),
        }),
        'the declarations',
      ).catch((e: unknown) => {
        clearanceError = String(e);
        return undefined;
      })
    : undefined,
  bounded(statusReads(), 'the status reads'),
]);
clearInterval(keepAlive);
const result: SoakLoadResult = {
  events_acked: events.acked,
  ...(events.error === undefined ? {} : { events_error: events.error }),
  ...(clearanceError === undefined ? {} : { declarations_error: clearanceError }),
  declarations_submitted: clearance?.submitted ?? 0,
  declarations_decided: clearance?.decided ?? 0,
  declarations_pending: clearance?.pending ?? 0,
  declarations_failed: clearance?.failed ?? 0,
  clearance_p50_ms: clearance?.latency.ms(50) ?? 0,
  clearance_p99_ms: clearance?.latency.ms(99) ?? 0,
  status_ok: status.ok,
  status_errors: status.errors,
  status_p50_ms: status.latency.ms(50),
  status_p99_ms: status.latency.ms(99),
  ...(status.first === undefined ? {} : { status_first_error: status.first }),
};
process.stdout.write(JSON.stringify(result) + '\n');
// Open gRPC channels would keep this process alive; it has nothing left to do.
process.exit(0);
