// The customs gateway as the tests build it: the decider (rules, selection secret, the ledger on PS_CUSTOMS) and
// the CustomsService over given buckets, and the processor's projector of the ledger, started and stopped apart.
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { pipelinedLedger } from '../../core/customs/ledger.js';
import { PipelinedRequests } from '../../core/nats/pipelined.js';
import { KvMirror } from '../../core/nats/kv-mirror.js';
import type { EntryReader } from '../../core/state/enterprise.js';
import type { TokenAuthenticator } from '../../core/auth/tokens.js';
import type { ServiceRegistration } from '../../core/grpc/server.js';
import { silentLogger } from '../../core/logger.js';
import { ensureManifestBuckets, type Buckets } from '../../core/nats/buckets.js';
import type { RuleSet } from '../../core/customs/rules/schema.js';
import type { SelectionKey } from '../../core/customs/rules/selection.js';
import { RateLimiter } from '../../core/rate-limit.js';
import { Decider } from '../../ingest/customs/decide.js';
import { createCustomsService } from '../../ingest/customs/service.js';
import type { Histogram } from 'prom-client';
import { ManifestStore } from '../../ingest/manifest/store.js';
import { startCustomsProjector, type ProjectorHandle } from '../../processor/customs/projector.js';
import { testAuth } from '../../test-kit/auth.js';
import { TEST_RULES } from './declarations.js';

export interface CustomsOptions {
  auth?: TokenAuthenticator;
  /** Where the decider reads the register: a copy in memory as the gateway has (registerCopy), or the bucket. */
  register?: EntryReader;
  rules?: () => RuleSet;
  selection?: (version: string | undefined) => SelectionKey;
  maxWaitMs?: number;
  signal?: AbortSignal;
  commandSeconds?: Histogram<'command' | 'outcome'>;
}

/** The decider over its own pipelined requests on nc (the gateway's hot path). */
export function decider(nc: NatsConnection, buckets: Buckets, o: CustomsOptions = {}): Decider {
  return new Decider({
    ledger: pipelinedLedger(new PipelinedRequests(nc)),
    declarants: buckets.declarants,
    enterprises: o.register ?? buckets.enterprises,
    rules: o.rules ?? (() => TEST_RULES),
    selection: o.selection,
  });
}

export async function customsService(
  nc: NatsConnection,
  buckets: Buckets,
  o: CustomsOptions = {},
): Promise<ServiceRegistration> {
  const js = jetstream(nc);
  return createCustomsService({
    js,
    jsm: await jetstreamManager(nc),
    declarations: buckets.declarations,
    decider: decider(nc, buckets, o),
    auth: o.auth ?? testAuth,
    log: silentLogger(),
    maxWaitMs: o.maxWaitMs ?? 5000,
    limiter: new RateLimiter('customs calls', { perSecond: 0, burst: 1 }),
    ...(o.signal === undefined ? {} : { signal: o.signal }),
    ...(o.commandSeconds === undefined ? {} : { commandSeconds: o.commandSeconds }),
    manifests: new ManifestStore({
      ...(await ensureManifestBuckets(js, 1)),
      containers: buckets.containers,
      visits: buckets.vesselVisits,
    }),
  });
}

/** The gateway's copy of the register in memory (core/nats/kv-mirror.ts), started and caught up. */
export async function registerCopy(buckets: Buckets): Promise<KvMirror> {
  const copy = new KvMirror(buckets.enterprises, 'ps_enterprises', silentLogger());
  copy.start();
  await copy.caughtUp(10_000);
  return copy;
}

export async function startProjector(nc: NatsConnection, buckets: Buckets): Promise<ProjectorHandle> {
  return startCustomsProjector({
    nc,
    js: jetstream(nc),
    jsm: await jetstreamManager(nc),
    buckets,
    logger: silentLogger(),
  });
}
