// `portstream ingest`: the ingest gateway alone, against a shared NATS, with its ops endpoint.
import { Registry } from 'prom-client';
import { natsCheck } from '../../core/ops/checks.js';
import { startIngest } from '../../ingest/main.js';
import { authForService } from '../auth.js';
import { connectFromConfig } from '../nats.js';
import { startOpsEndpoint } from '../ops.js';
import { boot, onShutdown } from '../runtime.js';
import type { Env } from '../../core/config.js';

export async function runIngest(overrides: Env): Promise<void> {
  const rt = boot(overrides);
  const nc = await connectFromConfig(rt, rt.config.NATS_URL, 'portstream-ingest');
  const auth = await authForService(rt);
  const registry = new Registry();
  const ops = await startOpsEndpoint(rt, registry, { nats: natsCheck(nc) });
  const ingest = await startIngest({
    config: rt.config,
    log: rt.log,
    nc,
    registry,
    auth,
    tls: rt.tls.server,
  });
  ops.started();
  rt.log.info({ grpc: ingest.address, ops: ops.server.url }, 'ingest gateway ready');
  await onShutdown(rt, () => [
    ['ingest', () => ingest.stop()],
    ['nats', () => nc.drain()],
    ['ops endpoint', () => ops.server.close()],
  ]);
}
