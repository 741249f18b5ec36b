// The operations endpoint every runnable serves on OPS_HTTP_HOST:OPS_HTTP_PORT: `/healthz` (the process is up and
// its event loop answers), `/readyz` (every dependency it needs answers: NATS, and ClickHouse where it uses it)
// and Prometheus `/metrics` for the process. Plain node:http(s), no framework: it must keep answering when the
// service itself is busy or degraded. With TLS material it serves HTTPS, never mutual TLS: kubelet probes and
// most scrapers cannot present a client certificate, and nothing here is more than counters and status.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import type { ServerTls } from '../tls/files.js';

/** A readiness check: resolves when the dependency answers, rejects (or times out) when it does not. */
export type ReadyCheck = () => Promise<unknown>;

export interface OpsServerOptions {
  host: string;
  /** 0: any free port (the address is logged and returned). */
  port: number;
  registry: Registry;
  /** Named checks /readyz runs together, e.g. { nats, clickhouse }. */
  checks: Readonly<Record<string, ReadyCheck>>;
  log: Logger;
  /** Served over HTTPS with this certificate and key when set (the client CA, if any, is not used). */
  tls?: ServerTls | undefined;
  /** How long one check may take before it counts as not answering (default 2 s). */
  checkTimeoutMs?: number;
}

export interface OpsServer {
  /** http(s)://host:port */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

function withTimeout(check: ReadyCheck, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    check().then(() => undefined),
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new Error(`no answer within ${ms} ms`));
      }, ms);
    }),
  ]).finally(() => {
    clearTimeout(timer);
  });
}

/** Runs every check at once: name -> 'ok' or 'not answering'. */
export async function runChecks(
  checks: Readonly<Record<string, ReadyCheck>>,
  timeoutMs: number,
  log?: Logger,
): Promise<{ ready: boolean; checks: Record<string, 'ok' | 'not answering'> }> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => {
      try {
        await withTimeout(check, timeoutMs);
        return [name, 'ok'] as const;
      } catch (err) {
        log?.debug({ check: name, err: errorMessage(err) }, 'readiness check failed');
        return [name, 'not answering'] as const;
      }
    }),
  );
  return { ready: entries.every(([, s]) => s === 'ok'), checks: Object.fromEntries(entries) };
}

export async function startOpsServer(opts: OpsServerOptions): Promise<OpsServer> {
  const timeoutMs = opts.checkTimeoutMs ?? 2000;
  const json = (res: ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      json(res, 405, { error: 'only GET' });
      return;
    }
    switch (path) {
      case '/healthz':
        json(res, 200, { status: 'ok' });
        return;
      case '/readyz': {
        const r = await runChecks(opts.checks, timeoutMs, opts.log);
        json(res, r.ready ? 200 : 503, { status: r.ready ? 'ready' : 'not ready', checks: r.checks });
        return;
      }
      case '/metrics': {
        const text = await opts.registry.metrics();
        res.writeHead(200, { 'content-type': opts.registry.contentType }).end(text);
        return;
      }
      default:
        json(res, 404, { error: `no route ${path ?? ''}; try /healthz, /readyz or /metrics` });
    }
  };
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((err: unknown) => {
      opts.log.warn({ err: errorMessage(err) }, 'ops endpoint failed');
      if (!res.headersSent) json(res, 500, { error: 'internal' });
      else res.destroy();
    });
  };
  const server =
    opts.tls === undefined
      ? createHttpServer(listener)
      : createHttpsServer({ cert: opts.tls.cert, key: opts.tls.key }, listener);
  // Probes open a connection per request; idle keep-alive sockets must not hold shutdown.
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const url = `${opts.tls === undefined ? 'http' : 'https'}://${host}:${port}`;
  opts.log.info({ url }, 'ops endpoint listening (/healthz, /readyz, /metrics)');
  return {
    url,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
