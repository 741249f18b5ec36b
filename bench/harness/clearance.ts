// Clearance latency under an open model: declarations submitted over gRPC at a fixed rate whether or not earlier
// ones were answered; latency runs from each submission's scheduled time to the decision in its answer.
import { credentials, Metadata } from '@grpc/grpc-js';
import { buildDeclaration } from '../../simulator/model/customs.js';
import { declarationNumber, taxCode } from '../../simulator/model/ids.js';
import { createRng } from '../../simulator/model/prng.js';
import { fromSnapshot, Latency, type LatencySnapshot, type LatencyView } from '../../core/latency.js';
import {
  ClearanceStatus,
  CustomsServiceClient,
  type Declaration,
} from '../../proto/gen/portstream/v1/customs.js';
import { runHarnessScript } from './child.js';
import { LoadAccount, type LoadSummary } from './load-account.js';
import { openLoop } from './schedule.js';

export interface ClearanceResult {
  latency: LatencyView;
  /**
   * How late the load generator started each call after its scheduled time: its own share of `latency` (a
   * generator starved of CPU on a saturated machine sends late, and the open model counts that as latency).
   */
  sendLag: LatencyView;
  submitted: number;
  decided: number;
  pending: number;
  failed: number;
  /** Decided and pending declarations count as accepted; errors and unknown statuses fail the run. */
  account: LoadAccount;
  /**
   * The slowest decision of each second of the load, by the second its declaration was scheduled in (0 for a
   * second with none decided): where in the run the tail fell, to set beside what else ran then.
   */
  maxBySecondMs: number[];
}

const DECIDED: ReadonlySet<ClearanceStatus> = new Set([
  ClearanceStatus.CLEARED,
  ClearanceStatus.DOCUMENT_CHECK,
  ClearanceStatus.PHYSICAL_INSPECTION,
  ClearanceStatus.REFUSED,
]);

/**
 * Seconds of declarations at the rate before a clearance load is measured. The customs gateway and the generator
 * use about twice the CPU per declaration over their first seconds at the rate while V8 is still optimizing
 * their paths (a full run's `clearance.cores_by_second`): with 1 s of warm-up, the measured load started while
 * they were (bench/README, tenth round).
 */
export const CLEARANCE_WARMUP_S = 6;

/** Declarations a run will submit, built before the clock starts so generation does not count as latency. */
export function declarations(count: number, runSerial: number): Declaration[] {
  const rng = createRng(runSerial);
  const traders = Array.from({ length: 50 }, () => taxCode(rng));
  return Array.from(
    { length: count },
    (_, i) =>
      buildDeclaration(rng, {
        direction: i % 3 === 0 ? 'export' : 'import',
        number: declarationNumber(
          i % 3 === 0 ? 'export' : 'import',
          ((runSerial % 10_000) * 100_000 + i) % 1_000_000_000,
        ),
        containers: [],
        vessel: { imoNumber: '9811000', name: 'BENCH', voyage: '001N' },
        at: Date.now() - 3600_000,
        knownTraders: traders,
        brokerTaxCode: traders[0] ?? '',
      }).declaration,
  );
}

export async function clearanceLoad(o: {
  address: string;
  token: string;
  ratePerSec: number;
  durationMs: number;
  decls: Declaration[];
  onProgress?: (done: number) => void;
  /** Names the load in its account (default "clearance"). */
  scenario?: string;
}): Promise<ClearanceResult & { latency: Latency; sendLag: Latency }> {
  const client = new CustomsServiceClient(o.address, credentials.createInsecure());
  const md = new Metadata();
  md.set('authorization', `Bearer ${o.token}`);
  const account = new LoadAccount(o.scenario ?? 'clearance', 'declarations');
  const latency = new Latency();
  const sendLag = new Latency();
  const r: ClearanceResult & { latency: Latency; sendLag: Latency } = {
    latency,
    sendLag,
    submitted: 0,
    decided: 0,
    pending: 0,
    failed: 0,
    account,
    maxBySecondMs: Array.from({ length: Math.ceil(o.durationMs / 1000) }, () => 0),
  };
  const calls: Promise<void>[] = [];
  await openLoop(o.ratePerSec, o.durationMs, (i, scheduledAt) => {
    // A declaration submitted twice is answered with its first decision: that would be no clearance at all.
    const declaration = o.decls[i];
    if (declaration === undefined) {
      account.problem(`declaration ${i} was scheduled but only ${o.decls.length} were built`);
      return;
    }
    r.submitted++;
    account.offered++;
    sendLag.record(performance.now() - scheduledAt);
    calls.push(
      new Promise<void>((resolve) => {
        client.submitDeclaration({ declaration }, md, { deadline: Date.now() + 5000 }, (err, res) => {
          if (err) {
            r.failed++;
            account.error(`declaration ${declaration.declarationNumber} failed: ${err.message}`);
          } else if (res.status === ClearanceStatus.PENDING && !res.decision) {
            r.pending++;
            account.accepted++;
          } else if (res.decision && DECIDED.has(res.status)) {
            r.decided++;
            account.accepted++;
            const ms = performance.now() - scheduledAt;
            latency.record(ms);
            const second = Math.floor(i / o.ratePerSec);
            if (ms > (r.maxBySecondMs[second] ?? Infinity)) r.maxBySecondMs[second] = ms;
          } else {
            r.failed++;
            account.error(
              `declaration ${declaration.declarationNumber} was answered with status ${ClearanceStatus[res.status]}`,
            );
          }
          o.onProgress?.(r.decided + r.pending + r.failed);
          resolve();
        });
      }),
    );
  });
  await Promise.all(calls);
  client.close();
  return r;
}

/** What the clearance load generator process prints when it is done (one JSON line). */
export interface ClearanceChildResult {
  submitted: number;
  decided: number;
  pending: number;
  failed: number;
  latency: LatencySnapshot;
  send_lag: LatencySnapshot;
  account: LoadSummary;
  max_by_second_ms: number[];
}

/** What the clearance load generator process is asked to do (its one argument, as JSON). */
export interface ClearanceChildPlan {
  address: string;
  token: string;
  ratePerSec: number;
  /** Declarations built in the child with declarations(count, serial), sent at the rate for durationMs. */
  durationMs: number;
  count: number;
  serial: number;
  scenario: string;
  /** First, not measured: declarations(warmupCount, warmupSerial) at the rate for warmupMs (JIT, connection). */
  warmupMs: number;
  warmupCount: number;
  warmupSerial: number;
}

/** A clearance load generator process, warmed up and waiting to be told to start. */
export interface ClearanceLoadProcess {
  pid: number | undefined;
  /** Account of the warm-up (fails the run like the load's when anything was not answered as valid). */
  warmup: LoadAccount;
  /** Starts the measured load; resolves with its result (the process stays until close, for CPU meters). */
  run(onProgress?: (done: number) => void): Promise<ClearanceResult>;
  /** Tells the process to exit and waits for it. */
  close(): Promise<void>;
  /** Ends the process whatever it is doing (a run that failed must not leave it waiting). */
  kill(): void;
}

/**
 * clearanceLoad in a process of its own (bench/harness/clearance-load.ts), so that the generator measuring the
 * latency neither shares an event loop with the event load generator nor waits behind it: a reply that has
 * arrived is timed when this process's loop gets to it. Resolves once the child has warmed up; `run` starts the
 * measured load, so the caller can start other load at the same moment.
 */
export async function startClearanceLoadProcess(plan: ClearanceChildPlan): Promise<ClearanceLoadProcess> {
  let progress: ((done: number) => void) | undefined;
  let done: (r: ClearanceChildResult) => void = () => undefined;
  const finished = new Promise<ClearanceChildResult>((resolve) => {
    done = resolve;
  });
  let ready: (warmup: LoadSummary) => void = () => undefined;
  const warmedUp = new Promise<LoadSummary>((resolve) => {
    ready = resolve;
  });
  const child = runHarnessScript('clearance-load', [JSON.stringify(plan)], {
    stdinPipe: true,
    onLine: (line) => {
      const m = JSON.parse(line) as
        { done: number } | { warmed: LoadSummary } | { result: ClearanceChildResult };
      if ('result' in m) done(m.result);
      else if ('warmed' in m) ready(m.warmed);
      else progress?.(m.done);
    },
  });
  const warmup = await Promise.race([warmedUp, child.done.then(() => undefined)]);
  if (warmup === undefined) throw new Error('the clearance load generator exited before its warm-up ended');
  return {
    pid: child.process.pid,
    warmup: LoadAccount.fromSummary(`${plan.scenario}.warmup`, 'declarations', warmup),
    run: async (onProgress) => {
      progress = onProgress;
      child.process.stdin?.write('go\n');
      const result = await Promise.race([finished, child.done.then(() => undefined)]);
      if (result === undefined) throw new Error('the clearance load generator gave no result');
      return {
        submitted: result.submitted,
        decided: result.decided,
        pending: result.pending,
        failed: result.failed,
        latency: fromSnapshot(result.latency),
        sendLag: fromSnapshot(result.send_lag),
        account: LoadAccount.fromSummary(plan.scenario, 'declarations', result.account),
        maxBySecondMs: result.max_by_second_ms,
      };
    },
    close: async () => {
      child.process.stdin?.end();
      await child.done;
    },
    kill: () => {
      child.process.stdin?.end();
      if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill();
    },
  };
}
