// Load generator for bench/api-status.ts, run in its own process so the client's CPU does not slow the server
// it measures. Open model: GetContainerStatus at a fixed rate over gRPC or HTTP, latency from the scheduled
// send time; prints one JSON line with the percentiles.
//   node --import tsx bench/api-status-load.ts <grpc|http> <address|url> <token> <rate> <seconds> <n,...>
import { Agent, request } from 'node:http';
import { credentials, Metadata } from '@grpc/grpc-js';
import { Latency } from '../core/latency.js';
import { TrackingServiceClient } from '../proto/gen/portstream/v1/tracking.js';
import { openLoop } from './harness/schedule.js';

const [mode, target = '', token = '', rateArg = '2000', secondsArg = '10', list = ''] = process.argv.slice(2);
const rate = Number(rateArg);
const containers = list.split(',');
const lat = new Latency();
let errors = 0;
let inflight = 0;

function grpcCaller(): (n: string, done: (ok: boolean) => void) => void {
  const client = new TrackingServiceClient(target, credentials.createInsecure());
  const md = new Metadata();
  md.set('authorization', `Bearer ${token}`);
  return (n, done) => {
    client.getContainerStatus({ containerNumber: n }, md, { deadline: Date.now() + 5000 }, (err) => {
      done(err === null);
    });
  };
}

function httpCaller(): (n: string, done: (ok: boolean) => void) => void {
  const url = new URL(target);
  const agent = new Agent({ keepAlive: true, maxSockets: 128 });
  return (n, done) => {
    const req = request(
      {
        agent,
        host: url.hostname,
        port: url.port,
        path: `/v1/containers/${n}`,
        headers: { authorization: `Bearer ${token}` },
        timeout: 5000,
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          done(res.statusCode === 200);
        });
      },
    );
    req.on('error', () => {
      done(false);
    });
    req.end();
  };
}

const call = mode === 'grpc' ? grpcCaller() : httpCaller();
// Warm-up: connections and JIT, outside the measurement.
await openLoop(rate, 2000, (i) => {
  call(containers[i % containers.length] ?? '', () => undefined);
});
const sent = await openLoop(rate, Number(secondsArg) * 1000, (i, at) => {
  inflight++;
  call(containers[i % containers.length] ?? '', (ok) => {
    inflight--;
    if (ok) lat.record(performance.now() - at);
    else errors++;
  });
});
const deadline = Date.now() + 10_000;
while (inflight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
console.log(
  JSON.stringify({
    mode,
    rate,
    sent,
    ok: lat.count,
    errors,
    p50_ms: lat.ms(50),
    p90_ms: lat.ms(90),
    p99_ms: lat.ms(99),
    max_ms: lat.maxMs,
  }),
);
process.exit(0);
