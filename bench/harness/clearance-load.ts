// Load generator of the clearance scenario, run as its own process (startClearanceLoadProcess in clearance.ts
// spawns it): a warm-up at the rate, then {"warmed": LoadSummary}; on a line on stdin, the measured load,
// declarations at a fixed rate over gRPC (open model), with {"done": n} lines as answers come (at most ten a
// second), then one {"result": ClearanceChildResult} line.
//   node clearance-load.js '<ClearanceChildPlan as JSON>'
import { createInterface } from 'node:readline';
import {
  clearanceLoad,
  declarations,
  type ClearanceChildPlan,
  type ClearanceChildResult,
} from './clearance.js';

const plan = JSON.parse(process.argv[2] ?? '{}') as ClearanceChildPlan;
const load = (durationMs: number, count: number, serial: number, scenario: string, progress: boolean) => {
  const decls = declarations(count, serial);
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

const warm = await load(plan.warmupMs, plan.warmupCount, plan.warmupSerial, `${plan.scenario}.warmup`, false);
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
const r = await load(plan.durationMs, plan.count, plan.serial, plan.scenario, true);
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
