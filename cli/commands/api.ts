// `portstream api`: the tracking API (gRPC, HTTP/JSON, dashboard) alone, against a shared NATS and ClickHouse.
import { Registry } from 'prom-client';
import { startApi } from '../../api/main.js';
import { createClickHouse } from '../../core/clickhouse/index.js';
import type { Env } from '../../core/config.js';
import { authForService } from '../auth.js';
import { connectFromConfig } from '../nats.js';
import { boot, onShutdown } from '../runtime.js';

export async function runApiCommand(overrides: Env): Promise<void> {
  const rt = boot(overrides);
  const auth = await authForService(rt);
  const nc = await connectFromConfig(rt, rt.config.NATS_URL, 'portstream-api');
  const ch = createClickHouse(rt.config, rt.log.child({ component: 'clickhouse' }));
  const api = await startApi({
    config: rt.config,
    log: rt.log,
    nc,
    ch,
    registry: new Registry(),
    auth,
    tls: rt.tls.server,
  });
  rt.log.info({ grpc: api.grpcAddress, http: api.httpUrl }, 'api ready');
  await onShutdown(rt, () => [
    ['api', () => api.stop()],
    ['nats', () => nc.drain()],
    ['clickhouse', () => ch.close()],
  ]);
}
