// Load generator of the memory soak, run as its own process (soak.ts spawns it): events on one StreamEvents
// call, declarations over SubmitDeclaration and container-status reads over gRPC, each at a fixed rate (open
// model) for the whole run. Prints one JSON line (SoakLoadResult) at the end, with what each part offered and
// what was answered (`loads`): the soak fails on any refusal or error in them.
//   node soak-load.js '<SoakLoadPlan as JSON>'
import { setTimeout as delay } from 'node:timers/promises';
import { Latency } from '../../core/latency.js';
import { clearanceLoad, declarations } from './clearance.js';
import { benchContainer } from './events.js';
import { ingestBackground } from './ingest-load.js';
import { LoadAccount, type LoadSummary } from './load-account.js';
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
  loads: Record<string, LoadSummary>;
}

/** Containers the first events create; status reads start after they had time to reach the processor. */
const STATUS_CONTAINERS = 500;
const STATUS_START_DELAY_MS = 3000;

const plan = JSON.parse(process.argv[2] ?? '{}') as SoakLoadPlan;

async function statusReads(): Promise<{
  ok: number;
  errors: number;
  latency: Latency;
  first?: string;
  sent: number;
}> {
  const latency = new Latency();
  let ok = 0;
  let errors = 0;
  let first: string | undefined;
  if (plan.statusPerSec <= 0 || plan.durationMs <= STATUS_START_DELAY_MS)
    return { ok, errors, latency, sent: 0 };
  await delay(STATUS_START_DELAY_MS);
  const call = await caller('grpc', plan.apiAddress, plan.statusToken);
  let inflight = 0;
  const sent = await openLoop(plan.statusPerSec, plan.durationMs - STATUS_START_DELAY_MS, (i, at) => {
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
  if (inflight > 0) first ??= `${inflight} reads unanswered 6 s after the last was sent`;
  return { ok, errors: errors + inflight, latency, sent, ...(first === undefined ? {} : { first }) };
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
          slot: 0,
          scenario: 'soak.events',
          eventsPerSec: plan.eventsPerSec,
          durationMs: plan.durationMs,
          batchSize: 500,
        }),
        'the event stream',
      ).catch((e: unknown) => {
        const account = new LoadAccount('soak.events', 'events');
        account.error(String(e));
        return { acked: 0, error: String(e), account };
      })
    : Promise.resolve(undefined),
  plan.declarationsPerSec > 0
    ? bounded(
        clearanceLoad({
          address: plan.ingestAddress,
          token: plan.customsToken,
          ratePerSec: plan.declarationsPerSec,
          durationMs: plan.durationMs,
          scenario: 'soak.declarations',
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
const statusAccount = new LoadAccount('soak.status', 'reads');
statusAccount.offered = status.sent;
statusAccount.accepted = status.ok;
if (status.errors > 0) statusAccount.error(status.first ?? `${status.errors} reads failed`, status.errors);
const accounts = [events?.account, clearance?.account, statusAccount].filter(
  (a): a is LoadAccount => a !== undefined,
);
if (clearanceError !== undefined) {
  const a = new LoadAccount('soak.declarations', 'declarations');
  a.error(clearanceError);
  accounts.push(a);
}
const result: SoakLoadResult = {
  events_acked: events?.acked ?? 0,
  ...(events?.error === undefined ? {} : { events_error: events.error }),
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
  loads: Object.fromEntries(accounts.map((a) => [a.scenario, a.summary()])),
};
for (const a of accounts) process.stderr.write(`${a.line()}\n`);
process.stdout.write(JSON.stringify(result) + '\n');
// Open gRPC channels would keep this process alive; it has nothing left to do.
process.exit(0);
