// Composition of the tracking API: the KV state and ClickHouse read helpers behind TrackingReads, served over
// gRPC (TrackingService, with health and reflection) and HTTP/JSON (routes, OpenAPI, /metrics, dashboard).
// Every call needs a bearer token on every address, so binding beyond loopback never opens data to anyone.
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Registry } from 'prom-client';
import type { TokenAuthenticator } from '../core/auth/tokens.js';
import {
  clearanceMetrics,
  containerHistory,
  customsActivity,
  holdQueue,
  holdQueueTotals,
  throughput,
  yardDwell,
  type ClickHouse,
} from '../core/clickhouse/index.js';
import type { Config } from '../core/config.js';
import { startGrpcServer } from '../core/grpc/server.js';
import { clickhouseCheck, natsCheck } from '../core/ops/checks.js';
import { runChecks } from '../core/ops/server.js';
import type { Logger } from '../core/logger.js';
import { RateLimiter, rateLimited } from '../core/rate-limit.js';
import type { ServerTls } from '../core/tls/files.js';
import { buildHttpServer } from './http/server.js';
import { withDeclarationCache } from './tracking/declaration-cache.js';
import { natsLag } from './tracking/lag.js';
import { TrackingReads, type AnalyticsPort } from './tracking/reads.js';
import { createTrackingService } from './tracking/service.js';
import { KvTrackingStore, type TrackingStore } from './tracking/store.js';

export type ApiConfig = Pick<
  Config,
  | 'API_GRPC_HOST'
  | 'API_GRPC_PORT'
  | 'API_HTTP_HOST'
  | 'API_HTTP_PORT'
  | 'API_MAX_BODY_BYTES'
  | 'RATE_LIMIT_API_PER_SECOND'
  | 'RATE_LIMIT_API_BURST'
  | 'JS_REPLICAS'
  | 'SHUTDOWN_TIMEOUT_MS'
>;

export interface ApiDeps {
  config: ApiConfig;
  log: Logger;
  nc: NatsConnection;
  ch: ClickHouse;
  registry: Registry;
  auth: TokenAuthenticator;
  /** TLS (or mutual TLS) for both the gRPC and the HTTP server; unset: plaintext. */
  tls?: ServerTls | undefined;
  /** Replaces the KV adapter (tests of access rules, benches); default: the processor's buckets. */
  store?: TrackingStore;
}

export interface ApiHandle {
  /** host:port of the gRPC server. */
  grpcAddress: string;
  /** http://host:port of the HTTP server. */
  httpUrl: string;
  /** Stops accepting, finishes in-flight calls (up to SHUTDOWN_TIMEOUT_MS), then closes both servers. */
  stop(): Promise<void>;
}

/** Largest gRPC request the API takes: requests are a container number or a time range, 1 MiB is plenty. */
export const API_GRPC_MAX_MESSAGE_BYTES = 1024 * 1024;

export function analyticsOf(ch: ClickHouse): AnalyticsPort {
  return {
    containerHistory: (n, opts) => containerHistory(ch, n, opts),
    throughput: (r, by) => throughput(ch, r, by),
    clearanceMetrics: (r) => clearanceMetrics(ch, r),
    holdQueue: (o) => holdQueue(ch, o),
    holdQueueTotals: (since) => holdQueueTotals(ch, since),
    customsActivity: (r) => customsActivity(ch, r),
    yardDwell: (r) => yardDwell(ch, r),
  };
}

export async function startApi(deps: ApiDeps): Promise<ApiHandle> {
  const { config, log } = deps;
  // For consumer lag (info requests only); made before the store, so a failure here leaves nothing open.
  const jsm = await jetstreamManager(deps.nc);
  const base = deps.store ?? (await KvTrackingStore.open(deps.nc, config.JS_REPLICAS));
  // The store this API opened is closed with it (its reply subscription); one passed in is the caller's.
  const closeStore = (): void => {
    if (base !== deps.store && base instanceof KvTrackingStore) base.close();
  };
  const store = withDeclarationCache(base);
  const reads = new TrackingReads(store, analyticsOf(deps.ch), natsLag(jsm));
  // One allowance per caller for gRPC and HTTP together: switching protocol does not double it.
  const auth = rateLimited(
    deps.auth,
    new RateLimiter('tracking API requests', {
      perSecond: config.RATE_LIMIT_API_PER_SECOND,
      burst: config.RATE_LIMIT_API_BURST,
    }),
  );
  const tracking = createTrackingService({
    auth,
    reads,
    store,
    log: log.child({ component: 'tracking-grpc' }),
  });
  const grpc = await startGrpcServer(
    {
      host: config.API_GRPC_HOST,
      port: config.API_GRPC_PORT,
      maxReceiveMessageBytes: API_GRPC_MAX_MESSAGE_BYTES,
      tls: deps.tls,
    },
    [tracking.registration],
    log,
  );
  const http = await buildHttpServer({
    reads,
    store,
    auth,
    registry: deps.registry,
    tls: deps.tls,
    log: log.child({ component: 'tracking-http' }),
    bodyLimitBytes: config.API_MAX_BODY_BYTES,
    // Ready when NATS answers a ping (a connection that is reconnecting does not) and ClickHouse a query.
    ready: async () =>
      (await runChecks({ nats: natsCheck(deps.nc), clickhouse: clickhouseCheck(deps.ch) }, 2000)).ready,
  });
  try {
    await http.listen({ host: config.API_HTTP_HOST, port: config.API_HTTP_PORT });
  } catch (err) {
    await grpc.shutdown(0);
    closeStore();
    throw err;
  }
  const addr = http.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.API_HTTP_PORT;
  const host = config.API_HTTP_HOST.includes(':') ? `[${config.API_HTTP_HOST}]` : config.API_HTTP_HOST;
  const httpUrl = `${deps.tls ? 'https' : 'http'}://${host}:${port}`;
  log.info({ httpUrl, grpc: grpc.address }, 'tracking API listening');
  return {
    grpcAddress: grpc.address,
    httpUrl,
    stop: async () => {
      log.info('tracking API stopping');
      tracking.endWatches();
      await Promise.all([grpc.shutdown(config.SHUTDOWN_TIMEOUT_MS), http.close()]);
      closeStore();
      log.info('tracking API stopped');
    },
  };
}
