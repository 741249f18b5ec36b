// `portstream notify`: the notify service (webhooks: WebhookService over gRPC and HTTP/JSON, fan-out and
// delivery) alone, against a shared NATS, with its ops endpoint (/healthz, /readyz, /metrics).
import { Registry } from 'prom-client';
import type { Env } from '../../core/config.js';
import { natsCheck } from '../../core/ops/checks.js';
import { startNotify } from '../../notify/main.js';
import { authForService } from '../auth.js';
import { connectFromConfig } from '../nats.js';
import { startOpsEndpoint } from '../ops.js';
import { boot, onShutdown } from '../runtime.js';

export async function runNotifyCommand(overrides: Env): Promise<void> {
  const rt = boot(overrides);
  const auth = await authForService(rt);
  const nc = await connectFromConfig(rt, rt.config.NATS_URL, 'portstream-notify');
  const registry = new Registry();
  const ops = await startOpsEndpoint(rt, registry, { nats: natsCheck(nc) });
  const notify = await startNotify({
    config: rt.config,
    log: rt.log,
    nc,
    registry,
    auth,
    directory: auth,
    tls: rt.tls.server,
  });
  ops.started();
  rt.log.info({ grpc: notify.grpcAddress, http: notify.httpUrl, ops: ops.server.url }, 'notify ready');
  await onShutdown(rt, () => [
    ['notify', () => notify.stop()],
    ['nats', () => nc.drain()],
    ['ops endpoint', () => ops.server.close()],
  ]);
}
