// `portstream processor`: the processor alone (customs decider and state), against a shared NATS.
import type { Env } from '../../core/config.js';
import { startProcessor } from '../../processor/main.js';
import { connectFromConfig } from '../nats.js';
import { boot, onShutdown } from '../runtime.js';

export async function runProcessorCommand(overrides: Env): Promise<void> {
  const rt = boot(overrides);
  const nc = await connectFromConfig(rt, rt.config.NATS_URL, 'portstream-processor');
  const processor = await startProcessor({ config: rt.config, log: rt.log, nc });
  await onShutdown(rt, () => [
    ['processor', () => processor.stop()],
    ['nats', () => nc.drain()],
  ]);
}
