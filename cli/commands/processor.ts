// `portstream processor`: the processor alone (customs ledger projection and state), against a shared NATS, with its ops
// endpoint.
import { Registry } from 'prom-client';
import type { Env } from '../../core/config.js';
import { natsCheck } from '../../core/ops/checks.js';
import { startProcessor } from '../../processor/main.js';
import { connectFromConfig } from '../nats.js';
import { startOpsEndpoint } from '../ops.js';
import { boot, onShutdown } from '../runtime.js';

export async function runProcessorCommand(overrides: Env): Promise<void> {
  const rt = boot(overrides);
  // Named after its roles, so nats-server's connection list tells a ledger projector from a state processor.
  const name = `portstream-processor-${[...rt.config.PROCESSOR_ROLES].sort().join('-')}`;
  const nc = await connectFromConfig(rt, rt.config.NATS_URL, name);
  const registry = new Registry();
  const ops = await startOpsEndpoint(rt, registry, { nats: natsCheck(nc) });
  const processor = await startProcessor({ config: rt.config, log: rt.log, nc, registry });
  ops.started();
  await onShutdown(rt, () => [
    ['processor', () => processor.stop()],
    ['nats', () => nc.drain()],
    ['ops endpoint', () => ops.server.close()],
  ]);
}
