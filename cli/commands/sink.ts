// `portstream sink`: the JetStream -> ClickHouse sink alone, with its ops endpoint.
import { Registry } from 'prom-client';
import { createClickHouse } from '../../core/clickhouse/index.js';
import type { Env } from '../../core/config.js';
import { clickhouseCheck, natsCheck } from '../../core/ops/checks.js';
import { createSinkMetrics, startSink } from '../../sink/index.js';
import { connectFromConfig } from '../nats.js';
import { startOpsEndpoint } from '../ops.js';
import { boot, onShutdown } from '../runtime.js';

export async function runSinkCommand(overrides: Env): Promise<void> {
  const rt = boot(overrides);
  const nc = await connectFromConfig(rt, rt.config.NATS_URL, 'portstream-sink');
  const ch = createClickHouse(rt.config, rt.log.child({ component: 'clickhouse' }));
  const leaseNc = await connectFromConfig(rt, rt.config.NATS_URL, 'portstream-sink-lease');
  const registry = new Registry();
  const ops = await startOpsEndpoint(rt, registry, {
    nats: natsCheck(nc),
    'nats (lease)': natsCheck(leaseNc),
    clickhouse: clickhouseCheck(ch),
  });
  const sink = await startSink({
    nc,
    leaseNc,
    ch,
    config: rt.config,
    log: rt.log,
    metrics: createSinkMetrics(registry),
  });
  ops.started();
  await onShutdown(rt, () => [
    ['sink', () => sink.stop(rt.config.SHUTDOWN_TIMEOUT_MS)],
    ['nats', () => nc.drain()],
    ['nats (lease)', () => leaseNc.drain()],
    ['clickhouse', () => ch.close()],
    ['ops endpoint', () => ops.server.close()],
  ]);
}
