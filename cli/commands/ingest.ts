// `portstream ingest`: the ingest gateway alone, against a shared NATS.
import { Registry } from 'prom-client';
import { startIngest } from '../../ingest/main.js';
import { authForService } from '../auth.js';
import { connectFromConfig } from '../nats.js';
import { boot, onShutdown } from '../runtime.js';
import type { Env } from '../../core/config.js';

export async function runIngest(overrides: Env): Promise<void> {
  const rt = boot(overrides);
  const nc = await connectFromConfig(rt, rt.config.NATS_URL, 'portstream-ingest');
  const auth = await authForService(rt);
  const ingest = await startIngest({
    config: rt.config,
    log: rt.log,
    nc,
    registry: new Registry(),
    auth,
    tls: rt.tls.server,
  });
  rt.log.info({ grpc: ingest.address }, 'ingest gateway ready');
  await onShutdown(rt, () => [
    ['ingest', () => ingest.stop()],
    ['nats', () => nc.drain()],
  ]);
}
