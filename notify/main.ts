// Composition of the notify service: the webhooks store (KV ps_webhooks, followed by a watch), the fan-out from
// the event and decision streams into the outbox, one delivery worker per active webhook, and the
// WebhookService over gRPC and HTTP/JSON. Needs the notify streams and bucket (the admin step creates them;
// created here when missing, never changed).
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { Counter, type Registry } from 'prom-client';
import type { Authenticator } from '../core/auth/tokens.js';
import type { Config } from '../core/config.js';
import { consumerMetrics } from '../core/consumer/index.js';
import { startGrpcServer } from '../core/grpc/server.js';
import type { Logger } from '../core/logger.js';
import { ensureNotifyStreams, ensureWebhooksBucket } from '../core/nats/notify.js';
import { STREAM_DECISIONS, STREAM_EVENTS, waitForStreams } from '../core/nats/topology.js';
import { RateLimiter, rateLimited } from '../core/rate-limit.js';
import type { ServerTls } from '../core/tls/files.js';
import { Deliveries } from './deliver.js';
import { DeliveryLog } from './delivery-log.js';
import { Fanout, type PrincipalDirectory } from './fanout.js';
import { buildNotifyHttp } from './http.js';
import { createWebhookService } from './service.js';
import { StateReader } from './state.js';
import { WebhookStore } from './store.js';
import { Webhooks } from './webhooks.js';

export type NotifyConfig = Pick<
  Config,
  | 'NOTIFY_GRPC_HOST'
  | 'NOTIFY_GRPC_PORT'
  | 'NOTIFY_HTTP_HOST'
  | 'NOTIFY_HTTP_PORT'
  | 'NOTIFY_ALLOW_PRIVATE_TARGETS'
  | 'NOTIFY_ALLOW_HTTP'
  | 'NOTIFY_REQUEST_TIMEOUT_MS'
  | 'NOTIFY_RETRY_MIN_MS'
  | 'NOTIFY_RETRY_MAX_MS'
  | 'NOTIFY_DISABLE_AFTER_MS'
  | 'NOTIFY_SECRET_OVERLAP_MS'
  | 'NOTIFY_MAX_WEBHOOKS_PER_CALLER'
  | 'NOTIFY_OUTBOX_MAX_AGE_HOURS'
  | 'RATE_LIMIT_API_PER_SECOND'
  | 'RATE_LIMIT_API_BURST'
  | 'JS_REPLICAS'
  | 'JS_DUPLICATE_WINDOW_SECONDS'
  | 'SHUTDOWN_TIMEOUT_MS'
>;

export interface NotifyDeps {
  config: NotifyConfig;
  log: Logger;
  nc: NatsConnection;
  registry: Registry;
  /** Authenticates callers of the API. */
  auth: Authenticator;
  /** The owners of webhooks by token name, with their rights now (the same tokens file). */
  directory: PrincipalDirectory;
  tls?: ServerTls | undefined;
}

export interface NotifyHandle {
  grpcAddress: string;
  httpUrl: string;
  stop(): Promise<void>;
}

/** Largest gRPC request or HTTP body: a webhook registration with its filter. */
const MAX_REQUEST_BYTES = 256 * 1024;

export async function startNotify(deps: NotifyDeps): Promise<NotifyHandle> {
  const { config, nc } = deps;
  const log = deps.log.child({ component: 'notify' });
  const jsm = await jetstreamManager(nc);
  const js = jetstream(nc);
  await waitForStreams(jsm, [STREAM_EVENTS, STREAM_DECISIONS], (missing) => {
    log.info({ missing }, 'waiting for streams');
  });
  await ensureNotifyStreams(jsm, {
    replicas: config.JS_REPLICAS,
    outboxMaxAgeHours: config.NOTIFY_OUTBOX_MAX_AGE_HOURS,
    duplicateWindowSeconds: config.JS_DUPLICATE_WINDOW_SECONDS,
  });
  const store = new WebhookStore(await ensureWebhooksBucket(js, config.JS_REPLICAS), log);
  await store.start();
  const state = new StateReader(nc);
  const deliveryLog = new DeliveryLog(js, jsm);
  const policy = {
    allowPrivate: config.NOTIFY_ALLOW_PRIVATE_TARGETS,
    allowHttp: config.NOTIFY_ALLOW_HTTP,
  };
  const registers = [deps.registry];
  // The fan-out's and every webhook's durable run on the consumer runtime: portstream_consumer_* per durable.
  const consumers = consumerMetrics(deps.registry);
  const deliveries = new Deliveries({
    js,
    jsm,
    store,
    state,
    directory: deps.directory,
    log: deliveryLog,
    logger: log,
    settings: {
      policy,
      requestTimeoutMs: config.NOTIFY_REQUEST_TIMEOUT_MS,
      retryMinMs: config.NOTIFY_RETRY_MIN_MS,
      retryMaxMs: config.NOTIFY_RETRY_MAX_MS,
      disableAfterMs: config.NOTIFY_DISABLE_AFTER_MS,
    },
    metrics: {
      attempts: new Counter({
        name: 'portstream_notify_delivery_attempts_total',
        help: 'Webhook delivery attempts by outcome (delivered, failed, refused)',
        labelNames: ['outcome'] as const,
        registers,
      }),
      withheld: new Counter({
        name: 'portstream_notify_withheld_total',
        help: 'Outbox messages not delivered because the owner may not see them at delivery time',
        registers,
      }),
    },
    consumerMetrics: consumers,
  });
  const fanout = new Fanout({
    js,
    jsm,
    store,
    state,
    directory: deps.directory,
    log,
    metrics: consumers,
    fannedOut: new Counter({
      name: 'portstream_notify_fanned_out_total',
      help: 'Outbox messages written (one per matching webhook), by kind',
      labelNames: ['kind'] as const,
      registers,
    }),
  });
  const hooks = new Webhooks(store, deliveryLog, deliveries, {
    policy,
    maxPerCaller: config.NOTIFY_MAX_WEBHOOKS_PER_CALLER,
    secretOverlapMs: config.NOTIFY_SECRET_OVERLAP_MS,
  });
  const auth = rateLimited(
    deps.auth,
    new RateLimiter('webhook API requests', {
      perSecond: config.RATE_LIMIT_API_PER_SECOND,
      burst: config.RATE_LIMIT_API_BURST,
    }),
  );
  deliveries.start();
  await fanout.start();
  const grpc = await startGrpcServer(
    {
      host: config.NOTIFY_GRPC_HOST,
      port: config.NOTIFY_GRPC_PORT,
      maxReceiveMessageBytes: MAX_REQUEST_BYTES,
      tls: deps.tls,
    },
    [createWebhookService(auth, hooks, log.child({ component: 'webhook-grpc' }))],
    log,
  );
  const http = buildNotifyHttp({
    hooks,
    auth,
    log: log.child({ component: 'webhook-http' }),
    bodyLimitBytes: MAX_REQUEST_BYTES,
    tls: deps.tls,
  });
  await http.listen({ host: config.NOTIFY_HTTP_HOST, port: config.NOTIFY_HTTP_PORT });
  const addr = http.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : config.NOTIFY_HTTP_PORT;
  const host = config.NOTIFY_HTTP_HOST.includes(':')
    ? `[${config.NOTIFY_HTTP_HOST}]`
    : config.NOTIFY_HTTP_HOST;
  const httpUrl = `${deps.tls ? 'https' : 'http'}://${host}:${port}`;
  log.info(
    { grpc: grpc.address, http: httpUrl, allowPrivateTargets: policy.allowPrivate },
    'notify service started',
  );
  return {
    grpcAddress: grpc.address,
    httpUrl,
    stop: async () => {
      log.info('notify service stopping');
      await Promise.all([grpc.shutdown(config.SHUTDOWN_TIMEOUT_MS), http.close()]);
      await fanout.stop();
      await deliveries.stop();
      store.stop();
      state.close();
      log.info('notify service stopped');
    },
  };
}
