// `portstream api`: the tracking API (gRPC, HTTP/JSON, dashboard) alone, against a shared NATS and ClickHouse,
// with its ops endpoint (the API's own HTTP port serves /healthz, /readyz and /metrics too).
import { Registry } from 'prom-client';
import { startApi } from '../../api/main.js';
import { createClickHouse } from '../../core/clickhouse/index.js';
import type { Env } from '../../core/config.js';
import { clickhouseCheck, natsCheck } from '../../core/ops/checks.js';
import { authForService } from '../auth.js';
import { connectFromConfig } from '../nats.js';
import { startOpsEndpoint } from '../ops.js';
import { boot, onShutdown } from '../runtime.js';

export async function runApiCommand(overrides: Env): Promise<void> {
  const rt = boot(overrides);
  const auth = await authForService(rt);
  const nc = await connectFromConfig(rt, rt.config.NATS_URL, 'portstream-api');
  const ch = createClickHouse(rt.config, rt.log.child({ component: 'clickhouse' }));
  const registry = new Registry();
  const ops = await startOpsEndpoint(rt, registry, {
    nats: natsCheck(nc),
    clickhouse: clickhouseCheck(ch),
  });
  const api = await startApi({
    config: rt.config,
    log: rt.log,
    nc,
    ch,
    registry,
    auth,
    tls: rt.tls.server,
  });
  ops.started();
  rt.log.info({ grpc: api.grpcAddress, http: api.httpUrl, ops: ops.server.url }, 'api ready');
  await onShutdown(rt, () => [
    ['api', () => api.stop()],
    ['nats', () => nc.drain()],
    ['clickhouse', () => ch.close()],
    ['ops endpoint', () => ops.server.close()],
  ]);
}
