// `portstream up`: the whole system on one machine. Uses the NATS at NATS_URL if one answers, otherwise
// starts a local nats-server with its store under the data folder; then the services in one process.
import { Registry } from 'prom-client';
import type { Env } from '../../core/config.js';
import { startIngest } from '../../ingest/main.js';
import { authForUp } from '../auth.js';
import { startLiveView } from '../live-view.js';
import { connectFromConfig, natsForUp } from '../nats.js';
import { boot, onShutdown, type ShutdownStep } from '../runtime.js';

export async function runUp(overrides: Env): Promise<void> {
  const rt = boot(overrides);
  const nats = await natsForUp(rt);
  const nc = await connectFromConfig(rt, nats.url, 'portstream-up');
  const registry = new Registry();
  const { auth, printable, file: tokensFile } = await authForUp(rt);
  const ingest = await startIngest({
    config: rt.config,
    log: rt.log.child({ component: 'ingest' }),
    nc,
    registry,
    auth,
  });
  const lines = [
    '',
    'portstream is up',
    `  gRPC ingest   ${ingest.address}   (portstream.v1.IngestService; health and reflection on)`,
    `  NATS          ${nats.url}${nats.local ? '   (local nats-server, store in ' + rt.config.PORTSTREAM_DATA_DIR + '/nats)' : ''}`,
    `  tokens        ${tokensFile}${printable.length ? '' : ' (AUTH_TOKENS_FILE)'}`,
    ...printable.map((t) => `    ${t.role.padEnd(9)} ${t.name.padEnd(20)} Bearer ${t.token}`),
    '  Ctrl-C stops everything cleanly; the next run resumes from the kept data.',
    '',
  ];
  process.stdout.write(lines.join('\n') + '\n');
  const live = await startLiveView(nc, registry);
  const steps = (): ShutdownStep[] => {
    const s: ShutdownStep[] = [
      [
        'live view',
        () => {
          live.stop();
          return Promise.resolve();
        },
      ],
      ['ingest', () => ingest.stop()],
      ['nats connection', () => nc.drain()],
    ];
    if (nats.local) {
      const local = nats.local;
      s.push(['local nats-server', () => local.stop()]);
    }
    return s;
  };
  await onShutdown(rt, steps);
}
