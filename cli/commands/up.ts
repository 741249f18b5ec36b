// `portstream up`: the whole system on one machine. Uses the NATS at NATS_URL if one answers, otherwise
// starts a local nats-server with its store under the data folder; then every service in this one process
// (embedded ClickHouse binds its data folder to one process, so the sink and the API's queries share it).
// The terminal shows the banner and then only the live line; every service logs to a file under the data
// folder, whose path the banner prints.
import path from 'node:path';
import { Registry } from 'prom-client';
import { createClickHouse } from '../../core/clickhouse/index.js';
import type { Env } from '../../core/config.js';
import { startApi } from '../../api/main.js';
import { startIngest } from '../../ingest/main.js';
import { startNotify } from '../../notify/main.js';
import { startProcessor } from '../../processor/main.js';
import { createSinkMetrics, startSink } from '../../sink/index.js';
import { authForUp } from '../auth.js';
import { startLiveView } from '../live-view.js';
import { selectionSecretFor } from '../selection-secret.js';
import { startSimulator } from '../simulator.js';
import { connectFromConfig, natsForUp } from '../nats.js';
import { createNatsTopology } from '../topology.js';
import { boot, onShutdown, type ShutdownStep } from '../runtime.js';

export async function runUp(overrides: Env): Promise<void> {
  const rt = boot(overrides, { logFileName: 'up.log' });
  const { config, log } = rt;
  const logFile = rt.logFile ?? '';
  const steps: ShutdownStep[] = [];
  const banner: string[] = ['', 'portstream is up'];
  try {
    const nats = await natsForUp(rt);
    const local = nats.local;
    if (local) steps.unshift(['local nats-server', () => local.stop()]);
    const nc = await connectFromConfig(rt, nats.url, 'portstream-up');
    steps.unshift(['nats connection', () => nc.drain()]);
    // The admin step first (streams and buckets): in a least-privilege deployment the services may not.
    await createNatsTopology(nc, config);
    const registry = new Registry();
    const { auth, printable, file: tokensFile } = await authForUp(rt);

    const ch = createClickHouse(config, log.child({ component: 'clickhouse' }));
    steps.unshift(['clickhouse', () => ch.close()]);
    const leaseNc = await connectFromConfig(rt, nats.url, 'portstream-up-sink-lease');
    steps.unshift(['nats connection (sink lease)', () => leaseNc.drain()]);
    const sink = await startSink({ nc, leaseNc, ch, config, log, metrics: createSinkMetrics(registry) });
    steps.unshift(['clickhouse sink', () => sink.stop(config.SHUTDOWN_TIMEOUT_MS)]);

    const processor = await startProcessor({
      config,
      log,
      nc,
      registry,
    });
    steps.unshift(['processor', () => processor.stop()]);

    const api = await startApi({ config, log, nc, ch, registry, auth, tls: rt.tls.server });
    steps.unshift(['api', () => api.stop()]);

    const notify = await startNotify({
      config,
      log,
      nc,
      registry,
      auth,
      directory: auth,
      tls: rt.tls.server,
    });
    steps.unshift(['notify', () => notify.stop()]);

    const ingest = await startIngest({
      // The whole system in one process: its one gateway serves everything (INGEST_SERVICES is for `ingest`).
      config: {
        ...config,
        CUSTOMS_SELECTION_SECRET_FILE: selectionSecretFor(rt),
        INGEST_SERVICES: ['events', 'manifests', 'customs'],
      },
      log: log.child({ component: 'ingest' }),
      nc,
      registry,
      auth,
      tls: rt.tls.server,
    });
    steps.unshift(['ingest', () => ingest.stop()]);

    banner.push(
      `  dashboard     ${api.httpUrl}/   (HTTP/JSON API under ${api.httpUrl}/v1, OpenAPI at /openapi.json, metrics at /metrics)`,
      `                customs: ${api.httpUrl}/dashboard/customs.html   firm: ${api.httpUrl}/dashboard/firm.html`,
      `  gRPC ingest   ${ingest.address}   (IngestService, CustomsService, ManifestService, EnterpriseService; health and reflection on)`,
      `  gRPC tracking ${api.grpcAddress}   (TrackingService)`,
      `  webhooks      ${notify.httpUrl}/v1/webhooks   (gRPC WebhookService on ${notify.grpcAddress})`,
      `  NATS          ${nats.url}${local ? `   (local nats-server, store in ${path.join(config.PORTSTREAM_DATA_DIR, 'nats')})` : ''}`,
      `  ClickHouse    ${config.CLICKHOUSE_URL ?? `embedded (chDB) in ${ch.embedded ? path.join(config.PORTSTREAM_DATA_DIR, 'clickhouse') : '?'}`}`,
      `  logs          ${logFile}   (JSON lines, LOG_LEVEL=${config.LOG_LEVEL}; \`npx pino-pretty < ${logFile}\` reads them)`,
      `  tokens        ${tokensFile}${printable.length ? '' : ' (AUTH_TOKENS_FILE)'}`,
      ...printable.map((t) => `    ${t.role.padEnd(9)} ${t.name.padEnd(20)} Bearer ${t.token}`),
      '  Ctrl-C stops everything cleanly; the next run resumes from the kept data.',
      '',
    );
    process.stdout.write(banner.join('\n') + '\n');
    /** Something the user should read now: in the terminal under the banner, and in the log. */
    const notice = (msg: string): void => {
      log.warn(msg);
      process.stdout.write(`  ${msg}\n`);
    };
    if (config.UP_SIMULATE) {
      const operator = printable.find((t) => t.role === 'operator');
      const customs = printable.find((t) => t.role === 'customs');
      const carrier = printable.find((t) => t.role === 'carrier');
      if (rt.tls.server !== undefined) {
        // The in-process simulator has no client certificate or CA of its own to use.
        notice(
          'not simulating: the servers use TLS; run `portstream simulate --tls-ca ...` against them instead',
        );
      } else if (operator && customs && carrier) {
        const sim = startSimulator(
          ingest.address,
          { operator: operator.token, customs: customs.token, carrier: carrier.token },
          log,
        );
        steps.unshift(['simulator', () => sim.stop()]);
      } else {
        notice('not simulating: tokens come from AUTH_TOKENS_FILE, so the simulator has none to use');
      }
    }
    const live = await startLiveView(nc, registry);
    steps.unshift([
      'live view',
      () => {
        live.stop();
        process.stdout.write('stopping (Ctrl-C again exits at once)\n');
        return Promise.resolve();
      },
    ]);
  } catch (err) {
    log.error({ err }, 'start-up failed; stopping what was started');
    process.stderr.write(
      `portstream up: start-up failed: ${err instanceof Error ? err.message : String(err)} (details in ${logFile})\n`,
    );
    for (const [name, run] of steps) {
      await run().catch((e: unknown) => {
        log.error({ err: e, step: name }, 'stop failed');
      });
    }
    process.exitCode = 1;
    return;
  }
  await onShutdown(rt, () => steps);
  process.stdout.write(process.exitCode ? `stopped with errors (see ${logFile})\n` : 'stopped\n');
}
