// NATS for a runnable: connect to NATS_URL; for `up`, start a local nats-server under the data folder when
// no NATS answers there (or none is configured).
import path from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import { connectNats, natsAnswers } from '../core/nats/connect.js';
import { LocalNatsServer } from '../core/nats/local-server.js';
import { natsProcs } from '../core/config.js';
import type { Runtime } from './runtime.js';

export function connectFromConfig(
  rt: Runtime,
  url: string | undefined,
  name: string,
): Promise<NatsConnection> {
  const c = rt.config;
  return connectNats(
    {
      url,
      user: c.NATS_USER,
      password: c.NATS_PASSWORD,
      token: c.NATS_TOKEN,
      credsFile: c.NATS_CREDS_FILE,
      tls: rt.tls.nats,
      name,
    },
    rt.log.child({ component: 'nats' }),
  );
}

export interface NatsForUp {
  url: string;
  /** Set when `up` started its own server (stopped on exit). */
  local?: LocalNatsServer;
}

export async function natsForUp(rt: Runtime): Promise<NatsForUp> {
  const configured = rt.config.NATS_URL;
  if (configured !== undefined) {
    if (await natsAnswers(configured, 1000, rt.tls.nats)) {
      rt.log.info({ url: configured }, 'using NATS at NATS_URL');
      return { url: configured };
    }
    rt.log.warn({ url: configured }, 'no NATS answers at NATS_URL; starting a local nats-server');
  }
  const storeDir = path.resolve(rt.config.PORTSTREAM_DATA_DIR, 'nats');
  const local = await LocalNatsServer.start({
    storeDir,
    port: rt.config.UP_NATS_PORT,
    bin: rt.config.NATS_SERVER_BIN,
    serverName: 'portstream-local',
    procs: natsProcs(rt.config.UP_NATS_PROCS),
  });
  rt.log.info({ url: local.url, storeDir, procs: local.procs }, 'started local nats-server with JetStream');
  return { url: local.url, local };
}
