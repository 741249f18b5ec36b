// Opens NATS connections from config: servers, credentials, TLS, reconnect policy. Secrets are never logged.
import { readFile } from 'node:fs/promises';
import { connect } from '@nats-io/transport-node';
import { credsAuthenticator, type NatsConnection } from '@nats-io/nats-core';
import type { Logger } from '../logger.js';
import type { NatsTls } from '../tls/files.js';

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';

export interface NatsConnectOptions {
  url?: string | undefined;
  user?: string | undefined;
  password?: string | undefined;
  token?: string | undefined;
  credsFile?: string | undefined;
  /** Set: TLS only (server verified against `ca`, or the system roots), with a client certificate if given. */
  tls?: NatsTls | undefined;
  /** Shown in the server's connection list (`nats server report connections`). */
  name: string;
  /** Give up the first connection after this long; later disconnects reconnect forever. */
  timeoutMs?: number;
}

export async function connectNats(opts: NatsConnectOptions, log?: Logger): Promise<NatsConnection> {
  const servers = (opts.url ?? DEFAULT_NATS_URL).split(',').map((s) => s.trim());
  const nc = await connect({
    servers,
    name: opts.name,
    ...(opts.user === undefined ? {} : { user: opts.user }),
    ...(opts.password === undefined ? {} : { pass: opts.password }),
    ...(opts.token === undefined ? {} : { token: opts.token }),
    ...(opts.credsFile === undefined
      ? {}
      : { authenticator: credsAuthenticator(new Uint8Array(await readFile(opts.credsFile))) }),
    ...(opts.tls === undefined ? {} : { tls: { ...opts.tls } }),
    timeout: opts.timeoutMs ?? 5000,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    pingInterval: 10_000,
    maxPingOut: 3,
    // Capturing a stack trace for every request (each JetStream publish is one) cost ~30% of the gateway's CPU
    // in profiles; our own errors carry the context instead.
    noAsyncTraces: true,
  });
  if (log) {
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === 'disconnect' || s.type === 'reconnect' || s.type === 'error') {
          log.warn({ nats: s.type, server: 'server' in s ? s.server : undefined }, 'nats connection status');
        }
      }
    })();
  }
  return nc;
}

/** Whether a NATS server answers at url within timeoutMs (over TLS when tls is given). */
export async function natsAnswers(url: string, timeoutMs = 1000, tls?: NatsTls): Promise<boolean> {
  try {
    const nc = await connect({
      servers: url.split(','),
      timeout: timeoutMs,
      reconnect: false,
      ...(tls === undefined ? {} : { tls: { ...tls } }),
    });
    await nc.close();
    return true;
  } catch {
    return false;
  }
}
