// Clearance latency under an open model: declarations submitted over gRPC at a fixed rate whether or not earlier
// ones were answered; latency runs from each submission's scheduled time to the decision in its answer.
import { credentials, Metadata } from '@grpc/grpc-js';
import { buildDeclaration } from '../../simulator/model/customs.js';
import { declarationNumber, taxCode } from '../../simulator/model/ids.js';
import { createRng } from '../../simulator/model/prng.js';
import { Latency } from '../../core/latency.js';
import {
  ClearanceStatus,
  CustomsServiceClient,
  type Declaration,
} from '../../proto/gen/portstream/v1/customs.js';
import { LoadAccount } from './load-account.js';
import { openLoop } from './schedule.js';

export interface ClearanceResult {
  latency: Latency;
  /**
   * How late the load generator started each call after its scheduled time: its own share of `latency` (a
   * generator starved of CPU on a saturated machine sends late, and the open model counts that as latency).
   */
  sendLag: Latency;
  submitted: number;
  decided: number;
  pending: number;
  failed: number;
  /** Decided and pending declarations count as accepted; errors and unknown statuses fail the run. */
  account: LoadAccount;
}

const DECIDED: ReadonlySet<ClearanceStatus> = new Set([
  ClearanceStatus.CLEARED,
  ClearanceStatus.DOCUMENT_CHECK,
  ClearanceStatus.PHYSICAL_INSPECTION,
  ClearanceStatus.REFUSED,
]);

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
}): Promise<ClearanceResult> {
  const client = new CustomsServiceClient(o.address, credentials.createInsecure());
  const md = new Metadata();
  md.set('authorization', `Bearer ${o.token}`);
  const account = new LoadAccount(o.scenario ?? 'clearance', 'declarations');
  const r: ClearanceResult = {
    latency: new Latency(),
    sendLag: new Latency(),
    submitted: 0,
    decided: 0,
    pending: 0,
    failed: 0,
    account,
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
    r.sendLag.record(performance.now() - scheduledAt);
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
            r.latency.record(performance.now() - scheduledAt);
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
