// Load generator of the clearance scenario, run as its own process (startClearanceLoadProcess in clearance.ts
// spawns it): the measured load's declarations built, a warm-up at the rate, then {"warmed": LoadSummary}; on a
// line on stdin, the measured load, declarations at a fixed rate over gRPC (open model), with {"done": n} lines
// as answers come (at most ten a second), then one {"result": ClearanceChildResult} line.
//   node clearance-load.js '<ClearanceChildPlan as JSON>'
import { createInterface } from 'node:readline';
import {
  clearanceLoad,
  declarations,
  type ClearanceChildPlan,
  type ClearanceChildResult,
} from './clearance.js';

const plan = JSON.parse(process.argv[2] ?? '{}') as ClearanceChildPlan;
const load = (
  durationMs: number,
  decls: ReturnType<typeof declarations>,
  scenario: string,
  progress: boolean,
) => {
  let last = 0;
  return clearanceLoad({
    address: plan.address,
    token: plan.token,
    ratePerSec: plan.ratePerSec,
    durationMs,
    decls,
    scenario,
    onProgress: (done) => {
      const now = performance.now();
      if (!progress || (now - last < 100 && done < decls.length)) return;
      last = now;
      process.stdout.write(JSON.stringify({ done }) + '\n');
    },
  });
};

// The measured load's declarations are built first, before the warm-up: building thousands takes the generator
// most of a core for a while, which must not fall in the measured load's first second.
const measured = declarations(plan.count, plan.serial);
const warm = await load(
  plan.warmupMs,
  declarations(plan.warmupCount, plan.warmupSerial),
  `${plan.scenario}.warmup`,
  false,
);
process.stdout.write(JSON.stringify({ warmed: warm.account.summary() }) + '\n');
// Waits for the parent's go (a line, or stdin closed), and after the result for stdin to close (the parent has
// read this process's CPU by then).
const rl = createInterface({ input: process.stdin });
const closed = new Promise<void>((resolve) => {
  rl.once('close', () => {
    resolve();
  });
});
await Promise.race([
  new Promise<void>((resolve) => {
    rl.once('line', () => {
      resolve();
    });
  }),
  closed,
]);
const r = await load(plan.durationMs, measured, plan.scenario, true);
const result: ClearanceChildResult = {
  submitted: r.submitted,
  decided: r.decided,
  pending: r.pending,
  failed: r.failed,
  latency: r.latency.snapshot(),
  send_lag: r.sendLag.snapshot(),
  account: r.account.summary(),
  max_by_second_ms: r.maxBySecondMs,
};
process.stdout.write(JSON.stringify({ result }) + '\n');
await closed;
