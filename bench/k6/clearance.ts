// k6: the clearance scenario. SubmitDeclaration at a constant arrival rate (open model: k6 starts iterations
// on schedule whether or not earlier ones returned, adding VUs up to MAX_VUS), each a declaration from the
// data file that was never submitted before; latency is the call's duration, which ends with the decision
// (or PENDING at the server's deadline). Run the ingest script beside it for background event load.
//   k6 run -e CUSTOMS_TOKEN=<customs token> -e RATE=500 bench/k6/clearance.ts
import { check } from 'k6';
import exec from 'k6/execution';
import { Counter, Trend } from 'k6/metrics';
import grpc from 'k6/net/grpc';
import type { ConstantArrivalRateScenario, Options } from 'k6/options';
import { bearer, DURATION, envNumber, INGEST_ADDR, loadData, token } from './lib/config.ts';

const RATE = envNumber('RATE', 500);
const TOKEN = token('CUSTOMS_TOKEN');
const DECLARATIONS = loadData().declarations;

const clearance: ConstantArrivalRateScenario = {
  executor: 'constant-arrival-rate',
  rate: RATE,
  timeUnit: '1s',
  duration: DURATION,
  preAllocatedVUs: envNumber('VUS', 100),
  maxVUs: envNumber('MAX_VUS', 1000),
};

export const options: Options = {
  scenarios: { clearance },
  thresholds: {
    // The target on a 2-core machine with 10,000 events/s behind.
    'grpc_req_duration{scenario:clearance}': ['p(99)<25'],
    declarations_pending: ['count==0'],
    checks: ['rate==1'],
  },
};

const decided = new Counter('declarations_decided');
const pending = new Counter('declarations_pending');
const decisionLatency = new Trend('decision_latency_us');

const client = new grpc.Client();
let connected = false;

export default function (): void {
  if (!connected) {
    client.connect(INGEST_ADDR, { plaintext: true, reflect: true, timeout: '10s' });
    connected = true;
  }
  // A number is decided once; submitting it again returns the earlier decision at once.
  const i = exec.scenario.iterationInTest;
  if (i >= DECLARATIONS.length) {
    exec.test.abort(`data file has ${DECLARATIONS.length} declarations; write more with bench/k6-data.ts`);
  }
  const res = client.invoke(
    'portstream.v1.CustomsService/SubmitDeclaration',
    { declaration: DECLARATIONS[i] },
    { metadata: bearer(TOKEN), timeout: '10s' },
  );
  const body = res.message as { status?: string; decision?: { decisionLatencyUs?: number | string } } | null;
  check(res, { 'submit OK': (r) => r.status === grpc.StatusOK });
  if (res.status !== grpc.StatusOK || body === null) return;
  if (body.status === 'CLEARANCE_STATUS_PENDING' || body.decision === undefined) pending.add(1);
  else {
    decided.add(1, { status: body.status ?? '' });
    decisionLatency.add(Number(body.decision.decisionLatencyUs ?? 0));
  }
}
