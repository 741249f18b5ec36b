// k6: the status scenario. GetContainerStatus over gRPC and GET /v1/containers/{number} over HTTP, each at a
// constant arrival rate (open model), round-robin over the data file's containers, one scenario after the
// other so they do not compete. The containers must exist: run the ingest script first (its events create
// them), or pass your own with CONTAINERS=n1,n2,... An admin token sees every container; a firm or operator
// token sees only its own (others answer NOT_FOUND and fail the check).
//   k6 run -e STATUS_TOKEN=<token> -e RATE=2000 bench/k6/status.ts
import { check } from 'k6';
import exec from 'k6/execution';
import http from 'k6/http';
import grpc from 'k6/net/grpc';
import type { ConstantArrivalRateScenario, Options } from 'k6/options';
import {
  API_GRPC_ADDR,
  API_HTTP_URL,
  bearer,
  DURATION,
  env,
  envNumber,
  loadData,
  token,
} from './lib/config.ts';

const RATE = envNumber('RATE', 2000);
const TOKEN = token('STATUS_TOKEN');
const LIST = env('CONTAINERS', '');
const CONTAINERS = LIST === '' ? loadData().containers : LIST.split(',');
const VUS = envNumber('VUS', 50);
const MAX_VUS = envNumber('MAX_VUS', 500);
const SECONDS = parseDuration(DURATION);

function parseDuration(d: string): number {
  const m = /^(\d+)(s|m)$/.exec(d);
  if (!m) throw new Error(`DURATION must look like 60s or 2m, got ${d}`);
  return Number(m[1]) * (m[2] === 'm' ? 60 : 1);
}

const grpc_status: ConstantArrivalRateScenario = {
  executor: 'constant-arrival-rate',
  exec: 'grpcStatus',
  rate: RATE,
  timeUnit: '1s',
  duration: DURATION,
  preAllocatedVUs: VUS,
  maxVUs: MAX_VUS,
};

const http_status: ConstantArrivalRateScenario = {
  ...grpc_status,
  exec: 'httpStatus',
  // After the gRPC scenario and its graceful stop (30 s by default), so the two do not compete.
  startTime: `${SECONDS + 30}s`,
};

export const options: Options = {
  scenarios: { grpc_status, http_status },
  thresholds: {
    // The target: p99 at most 5 ms at 2,000 requests/s over gRPC.
    'grpc_req_duration{scenario:grpc_status}': ['p(99)<5'],
    'http_req_duration{scenario:http_status}': ['p(99)<5'],
    'checks{scenario:grpc_status}': ['rate==1'],
    'checks{scenario:http_status}': ['rate==1'],
  },
};

const client = new grpc.Client();
let connected = false;

function container(): string {
  return CONTAINERS[exec.scenario.iterationInTest % CONTAINERS.length] ?? '';
}

export function grpcStatus(): void {
  if (!connected) {
    client.connect(API_GRPC_ADDR, { plaintext: true, reflect: true, timeout: '10s' });
    connected = true;
  }
  const res = client.invoke(
    'portstream.v1.TrackingService/GetContainerStatus',
    { containerNumber: container() },
    { metadata: bearer(TOKEN), timeout: '5s' },
  );
  check(res, { 'status OK': (r) => r.status === grpc.StatusOK });
}

export function httpStatus(): void {
  const res = http.get(`${API_HTTP_URL}/v1/containers/${container()}`, {
    headers: bearer(TOKEN),
    timeout: '5s',
    tags: { name: 'GET /v1/containers/{number}' },
  });
  check(res, { 'status 200': (r) => r.status === 200 });
}
