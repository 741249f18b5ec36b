// The ops endpoint of a runnable started alone (`portstream ingest|processor|sink|api`): /healthz, /readyz and
// /metrics on OPS_HTTP_HOST:OPS_HTTP_PORT. It starts before the service does, so liveness holds while the
// service waits for its streams; /readyz says "not ready" until the service has started and whenever a
// dependency stops answering.
import { collectDefaultMetrics, type Registry } from 'prom-client';
import { startOpsServer, type OpsServer, type ReadyCheck } from '../core/ops/server.js';
import type { Runtime } from './runtime.js';

export interface OpsEndpoint {
  server: OpsServer;
  /** The service is started: /readyz now depends on the checks alone. */
  started(): void;
}

export async function startOpsEndpoint(
  rt: Runtime,
  registry: Registry,
  checks: Readonly<Record<string, ReadyCheck>>,
): Promise<OpsEndpoint> {
  // Process memory, CPU, event-loop lag, handles: the first things to read when a service misbehaves.
  collectDefaultMetrics({ register: registry });
  let started = false;
  const server = await startOpsServer({
    host: rt.config.OPS_HTTP_HOST,
    port: rt.config.OPS_HTTP_PORT,
    registry,
    tls: rt.tls.server,
    log: rt.log.child({ component: 'ops' }),
    checks: {
      started: () => (started ? Promise.resolve() : Promise.reject(new Error('starting'))),
      ...checks,
    },
  });
  return {
    server,
    started: () => {
      started = true;
    },
  };
}
