// `portstream simulate`: plays a day at Hai Phong against running gRPC endpoints, as carriers, terminals and customs
// would.
import { setMaxListeners } from 'node:events';
import { runSimulation } from '../../simulator/driver.js';
import { createStats, latencyQuantile } from '../../simulator/stats.js';
import type { Env } from '../../core/config.js';
import { clientCredentials } from '../../core/grpc/credentials.js';
import { boot } from '../runtime.js';

export interface SimulateOptions {
  endpoint: string;
  customsEndpoint?: string;
  token?: string;
  customsToken?: string;
  carrierToken?: string;
  seed: string;
  duration: string;
  timeScale: string;
  rate?: string;
  tlsCa?: string;
  tlsCert?: string;
  tlsKey?: string;
}

function num(name: string, v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0)
    throw new Error(`--${name} must be a positive number, got ${JSON.stringify(v)}`);
  return n;
}

function ms(v: number | undefined): string {
  return v === undefined ? '-' : `${v.toFixed(1)} ms`;
}

export async function runSimulateCommand(o: SimulateOptions, overrides: Env): Promise<void> {
  const rt = boot(overrides);
  const stats = createStats();
  const abort = new AbortController();
  // Every inspection waiting for its simulated delay listens on it: hundreds at a time are expected.
  setMaxListeners(0, abort.signal);
  process.once('SIGINT', () => {
    abort.abort();
  });
  process.once('SIGTERM', () => {
    abort.abort();
  });
  const result = await runSimulation(
    {
      endpoint: o.endpoint,
      ...(o.customsEndpoint === undefined ? {} : { customsEndpoint: o.customsEndpoint }),
      ...(o.token === undefined ? {} : { token: o.token }),
      ...(o.customsToken === undefined ? {} : { customsToken: o.customsToken }),
      ...(o.carrierToken === undefined ? {} : { carrierToken: o.carrierToken }),
      seed: num('seed', o.seed),
      durationMs: num('duration', o.duration) * 1000,
      timeScale: num('time-scale', o.timeScale),
      ...(o.rate === undefined ? {} : { rate: num('rate', o.rate) }),
      credentials: clientCredentials({ caFile: o.tlsCa, certFile: o.tlsCert, keyFile: o.tlsKey }),
      signal: abort.signal,
      stats,
    },
    rt.log.child({ component: 'simulator' }),
  );
  const d = result.decisions;
  console.log(
    [
      `manifests filed ${result.manifestsFiled} (${result.billsFiled} bills of lading; failed ${result.manifestsFailed})`,
      `events sent ${result.eventsSent}: accepted ${result.accepted}, duplicate ${result.duplicate}, rejected ${result.rejected}`,
      `declarations ${result.declarationsSubmitted} (failed ${result.declarationsFailed}): green ${d.green}, yellow ${d.yellow}, red ${d.red}, pending/other ${d.other}`,
      `inspections recorded ${result.inspectionsRecorded}; submit->decision p50 ${ms(latencyQuantile(result, 0.5))}, p99 ${ms(latencyQuantile(result, 0.99))}`,
    ].join('\n'),
  );
}
