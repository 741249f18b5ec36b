// Load generator of the status scenario, run as its own process (bench/harness/status.ts spawns it) so its CPU
// and event loop are not the API's. For each phase: a warm-up (connections, JIT) outside the measurement, then
// an open model: requests at a fixed rate whether or not earlier ones returned, latency from each request's
// scheduled time. Prints one JSON line when a phase's measurement starts ({"name", "measuring": true}, so the
// parent can read the API's CPU from there) and one when it ends (StatusPhaseResult).
//   node status-load.js '<StatusLoadPlan as JSON>'
import { Latency } from '../../core/latency.js';
import { benchContainer } from './events.js';
import { openLoop } from './schedule.js';
import { caller, type StatusMode } from './status-callers.js';

export interface StatusLoadPlan {
  rate: number;
  warmupMs: number;
  durationMs: number;
  /** Containers 0..containers-1 of benchContainer(), requested round-robin. */
  containers: number;
  phases: { name: string; mode: StatusMode; target: string; token: string }[];
}

export interface StatusPhaseResult {
  name: string;
  rate: number;
  sent: number;
  ok: number;
  errors: number;
  /** Why the first failed request failed (gRPC status, HTTP status or socket error). */
  first_error?: string;
  /** Requests started per second of the send window: below `rate` means the generator fell behind. */
  sent_per_s: number;
  /** Answers per second from the first scheduled send to the last answer. */
  answered_per_s: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
  /** The slowest answer of each second of the measurement, by the second its request was scheduled in. */
  max_ms_by_second: number[];
}

const plan = JSON.parse(process.argv[2] ?? '{}') as StatusLoadPlan;
const numbers = Array.from({ length: plan.containers }, (_, i) => benchContainer(i));
const pick = (i: number): string => numbers[i % numbers.length] ?? '';

for (const phase of plan.phases) {
  const call = await caller(phase.mode, phase.target, phase.token);
  let warm = 0;
  await openLoop(plan.rate, plan.warmupMs, (i) => {
    warm++;
    call(pick(i), () => {
      warm--;
    });
  });
  process.stdout.write(JSON.stringify({ name: phase.name, measuring: true }) + '\n');
  const lat = new Latency();
  let errors = 0;
  let firstError: string | undefined;
  let inflight = 0;
  let lastAnswer = 0;
  const bySecond = new Array<number>(Math.ceil(plan.durationMs / 1000)).fill(0);
  const start = performance.now();
  const sent = await openLoop(plan.rate, plan.durationMs, (i, at) => {
    inflight++;
    call(pick(i), (ok, why) => {
      inflight--;
      lastAnswer = performance.now();
      if (ok) {
        const ms = lastAnswer - at;
        lat.record(ms);
        const second = Math.min(bySecond.length - 1, Math.max(0, Math.floor((at - start) / 1000)));
        bySecond[second] = Math.max(bySecond[second] ?? 0, ms);
      } else {
        errors++;
        firstError ??= why;
      }
    });
  });
  const sendWindowMs = performance.now() - start;
  // Bounded wait for stragglers; anything still unanswered after the call deadline counts as an error.
  const deadline = Date.now() + 6000;
  while ((inflight > 0 || warm > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  errors += inflight;
  if (inflight > 0) firstError ??= `${inflight} requests unanswered 6 s after the last was sent`;
  const result: StatusPhaseResult = {
    name: phase.name,
    rate: plan.rate,
    sent,
    ok: lat.count,
    errors,
    ...(firstError === undefined ? {} : { first_error: firstError }),
    sent_per_s: Math.round(sent / (sendWindowMs / 1000)),
    answered_per_s: Math.round(lat.count / (Math.max(lastAnswer - start, 1) / 1000)),
    p50_ms: lat.ms(50),
    p90_ms: lat.ms(90),
    p99_ms: lat.ms(99),
    max_ms: lat.maxMs,
    max_ms_by_second: bySecond.map((ms) => Math.round(ms * 10) / 10),
  };
  process.stdout.write(JSON.stringify(result) + '\n');
}
// The gRPC channels and HTTP agents would keep this process alive; it has nothing left to do.
process.exit(0);
