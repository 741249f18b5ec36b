// Composition of the ingest gateway: JetStream topology, and on one gRPC server the services it is set to serve
// (INGEST_SERVICES: terminal events, carriers' manifests, customs declarations and the register), and its
// shutdown sequence.
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { Counter, type Registry } from 'prom-client';
import type { TokenAuthenticator } from '../core/auth/tokens.js';
import type { Config } from '../core/config.js';
import { startGrpcServer, type ServiceRegistration } from '../core/grpc/server.js';
import type { Logger } from '../core/logger.js';
import { ensureStreams, topologyOptions } from '../core/nats/topology.js';
import {
  BUCKET_CONTAINERS,
  BUCKET_DECLARANTS,
  BUCKET_DECLARATIONS,
  BUCKET_ENTERPRISES,
  BUCKET_VESSEL_VISITS,
  ensureBucket,
  ensureEnterpriseBucket,
  ensureManifestBuckets,
} from '../core/nats/buckets.js';
import { KvMirror } from '../core/nats/kv-mirror.js';
import { CasBucket, PipelinedRequests } from '../core/nats/pipelined.js';
import { RateLimiter } from '../core/rate-limit.js';
import type { ServerTls } from '../core/tls/files.js';
import { SelectionSecrets } from '../core/customs/rules/selection.js';
import { RuleStore } from '../core/customs/rules/store.js';
import { pipelinedLedger } from '../core/customs/ledger.js';
import { Decider } from './customs/decide.js';
import { createEnterpriseService, inForceWith, seedRegister } from './customs/enterprises.js';
import { createCustomsService, customsCommandSeconds } from './customs/service.js';
import { createManifestService } from './manifest/service.js';
import { ManifestStore } from './manifest/store.js';
import { EventPublisher } from './gateway/publisher.js';
import { RecentIds } from './gateway/recent-ids.js';
import { createIngestService } from './gateway/service.js';
import { kvContainerLookup } from './gateway/terminal-check.js';

export interface IngestDeps {
  config: Config;
  log: Logger;
  nc: NatsConnection;
  registry: Registry;
  auth: TokenAuthenticator;
  /** More services to serve on the same port (e.g. customs). */
  extraServices?: readonly ServiceRegistration[];
  /** TLS (or mutual TLS) for the gRPC server; unset: plaintext. */
  tls?: ServerTls | undefined;
}

export interface IngestHandle {
  address: string;
  port: number;
  /** Stops reading streams, answers what was read, ends calls, waits for in-flight publishes. */
  stop(): Promise<void>;
}

/** Room left in a NATS message for headers (message id and the like). */
const HEADER_ROOM = 4096;

export async function startIngest(deps: IngestDeps): Promise<IngestHandle> {
  const { config, log, nc } = deps;
  const jsm = await jetstreamManager(nc);
  // Creates what is missing (a system started without its admin step); never changes an existing stream.
  await ensureStreams(jsm, topologyOptions(config), { update: false });
  const js = jetstream(nc);
  const serves = new Set(config.INGEST_SERVICES);
  // Reads and writes of state over pipelined requests: several in one socket write, no per-request Error.
  const requests = new PipelinedRequests(nc, config.INGEST_PUBLISH_TIMEOUT_MS);
  const parts: GatewayPart[] = [];
  if (serves.has('events')) parts.push(await eventsPart(deps, js, requests));
  if (serves.has('manifests') || serves.has('customs')) {
    parts.push(await clearancePart(deps, js, jsm, requests, serves));
  }
  const grpc = await startGrpcServer(
    {
      host: config.INGEST_HOST,
      port: config.INGEST_PORT,
      maxReceiveMessageBytes: config.INGEST_MAX_MESSAGE_BYTES,
      tls: deps.tls,
    },
    [...parts.flatMap((p) => p.services), ...(deps.extraServices ?? [])],
    log,
  );
  log.info({ services: [...serves] }, 'gateway services');
  return {
    address: grpc.address,
    port: grpc.port,
    stop: async () => {
      log.info('ingest gateway stopping');
      const budget = config.SHUTDOWN_TIMEOUT_MS;
      for (const p of parts) p.closing();
      await Promise.race([
        Promise.all(parts.map((p) => p.drain())),
        new Promise((r) => setTimeout(r, budget).unref()),
      ]);
      await grpc.shutdown(budget);
      for (const p of parts) await p.close();
      requests.close();
      log.info('ingest gateway stopped');
    },
  };
}

/** What one group of gateway services adds to the server, and how it stops. */
interface GatewayPart {
  services: ServiceRegistration[];
  /** Told first on stop: stop taking new work (calls in progress are answered). */
  closing(): void;
  /** Resolves when the streams it reads are answered (bounded by the shutdown budget). */
  drain(): Promise<void>;
  /** After the gRPC server stopped: what it writes is flushed, what it watches is closed. */
  close(): Promise<void>;
}

/** IngestService: terminal operators' events, validated, de-duplicated and persisted before they are acked. */
async function eventsPart(
  deps: IngestDeps,
  js: ReturnType<typeof jetstream>,
  requests: PipelinedRequests,
): Promise<GatewayPart> {
  const { config, log, nc } = deps;
  const publisher = new EventPublisher(js, {
    maxInflight: config.INGEST_MAX_INFLIGHT_PUBLISHES,
    maxPayloadBytes: nc.info ? nc.info.max_payload - HEADER_ROOM : 1024 * 1024 - HEADER_ROOM,
    publishTimeoutMs: config.INGEST_PUBLISH_TIMEOUT_MS,
  });
  const eventsTotal = new Counter({
    name: 'portstream_ingest_events_total',
    help: 'Events answered by the ingest gateway, by status',
    labelNames: ['status'] as const,
    registers: [deps.registry],
  });
  // Container state: an operator's event for a container at another terminal is refused (read on the hot path
  // as pipelined direct gets).
  await ensureBucket(js, BUCKET_CONTAINERS, config.JS_REPLICAS);
  const containerReads = new CasBucket(requests, BUCKET_CONTAINERS);
  const { registration, sessions } = createIngestService({
    auth: deps.auth,
    publisher,
    recent: new RecentIds(config.INGEST_DEDUPE_CACHE_SIZE),
    containers: kvContainerLookup(containerReads),
    limits: {
      maxFutureSkewMs: config.INGEST_MAX_FUTURE_SKEW_SECONDS * 1000,
      maxPlanAheadMs: config.INGEST_MAX_PLAN_AHEAD_DAYS * 86_400_000,
      maxAgeMs: config.INGEST_MAX_AGE_DAYS * 86_400_000,
    },
    maxBatchEvents: config.INGEST_MAX_BATCH_EVENTS,
    eventsTotal,
    windowPerStream: config.INGEST_MAX_INFLIGHT_BATCHES_PER_STREAM,
    limiter: new RateLimiter('events', {
      perSecond: config.RATE_LIMIT_EVENTS_PER_SECOND,
      burst: config.RATE_LIMIT_EVENTS_BURST,
    }),
    log: log.child({ component: 'ingest' }),
  });
  return {
    services: [registration],
    closing: () => undefined,
    drain: () => sessions.drain(),
    close: () => publisher.idle(),
  };
}

/**
 * ManifestService (carriers' manifests: whose bills cover which containers) and CustomsService with
 * EnterpriseService: declarations decided here, against the rules in force (reloaded when their file changes),
 * the selection secret, the declaration's ledger on PS_CUSTOMS, the bills and the register customs keeps.
 */
async function clearancePart(
  deps: IngestDeps,
  js: ReturnType<typeof jetstream>,
  jsm: Awaited<ReturnType<typeof jetstreamManager>>,
  requests: PipelinedRequests,
  serves: ReadonlySet<string>,
): Promise<GatewayPart> {
  const { config, log } = deps;
  const [declarations, , register, containers, visits, manifestBuckets] = await Promise.all([
    ensureBucket(js, BUCKET_DECLARATIONS, config.JS_REPLICAS),
    ensureBucket(js, BUCKET_DECLARANTS, config.JS_REPLICAS),
    ensureEnterpriseBucket(js, config.JS_REPLICAS),
    ensureBucket(js, BUCKET_CONTAINERS, config.JS_REPLICAS),
    ensureBucket(js, BUCKET_VESSEL_VISITS, config.JS_REPLICAS),
    ensureManifestBuckets(js, config.JS_REPLICAS),
  ]);
  const manifestStore = new ManifestStore({ ...manifestBuckets, containers, visits });
  const customsLimiter = new RateLimiter('customs calls', {
    perSecond: config.RATE_LIMIT_CUSTOMS_PER_SECOND,
    burst: config.RATE_LIMIT_CUSTOMS_BURST,
  });
  const services: ServiceRegistration[] = [];
  if (serves.has('manifests')) {
    services.push(
      createManifestService({
        store: manifestStore,
        auth: deps.auth,
        log: log.child({ component: 'manifests' }),
        limiter: customsLimiter,
      }),
    );
  }
  if (!serves.has('customs')) {
    return {
      services,
      closing: () => undefined,
      drain: () => Promise.resolve(),
      close: () => Promise.resolve(),
    };
  }
  const rules = new RuleStore(config.CUSTOMS_RULES_FILE, log.child({ component: 'rules' }));
  const secrets = new SelectionSecrets(
    config.CUSTOMS_SELECTION_SECRET_FILE,
    log.child({ component: 'rules' }),
  );
  rules.watch();
  secrets.watch();
  // The enterprise register customs keeps (priority/AEO, watch lists, licences): served here, read by the decider.
  if (config.CUSTOMS_ENTERPRISES_FILE !== undefined) {
    await seedRegister(register, config.CUSTOMS_ENTERPRISES_FILE, log.child({ component: 'enterprises' }));
  }
  // The decider reads the register from memory, kept current by a watch (reads go to the bucket until it has
  // caught up, or while it is down); a change made here is in force here when PutEnterprise returns.
  const registerMirror = new KvMirror(register, BUCKET_ENTERPRISES, log.child({ component: 'enterprises' }));
  registerMirror.start();
  const enterprises = createEnterpriseService({
    auth: deps.auth,
    register,
    log: log.child({ component: 'enterprises' }),
    limiter: customsLimiter,
    inForce: inForceWith(registerMirror, log.child({ component: 'enterprises' })),
  });
  const customsShutdown = new AbortController();
  // The decision's reads and its append over pipelined requests: several in one write, no per-request Error.
  const decider = new Decider({
    ledger: pipelinedLedger(requests),
    declarants: new CasBucket(requests, BUCKET_DECLARANTS),
    enterprises: registerMirror,
    rules: () => rules.current(),
    selection: (version) => secrets.keyFor(version),
  });
  const customs = createCustomsService({
    js,
    jsm,
    declarations,
    decider,
    auth: deps.auth,
    log: log.child({ component: 'customs' }),
    maxWaitMs: config.CUSTOMS_MAX_WAIT_MS,
    limiter: customsLimiter,
    signal: customsShutdown.signal,
    manifests: manifestStore,
    commandSeconds: customsCommandSeconds(deps.registry),
  });
  services.push(customs, enterprises);
  return {
    services,
    closing: () => {
      customsShutdown.abort();
    },
    drain: () => Promise.resolve(),
    close: () => {
      registerMirror.stop();
      rules.close();
      secrets.close();
      return Promise.resolve();
    },
  };
}
