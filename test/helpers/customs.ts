// The customs gateway as the tests build it: the decider (rules, selection secret, the ledger on PS_CUSTOMS) and
// the CustomsService over given buckets, and the processor's projector of the ledger, started and stopped apart.
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { TokenAuthenticator } from '../../core/auth/tokens.js';
import type { ServiceRegistration } from '../../core/grpc/server.js';
import { silentLogger } from '../../core/logger.js';
import { ensureManifestBuckets, type Buckets } from '../../core/nats/buckets.js';
import type { RuleSet } from '../../core/customs/rules/schema.js';
import type { SelectionKey } from '../../core/customs/rules/selection.js';
import { RateLimiter } from '../../core/rate-limit.js';
import { Decider } from '../../ingest/customs/decide.js';
import { createCustomsService } from '../../ingest/customs/service.js';
import { ManifestStore } from '../../ingest/manifest/store.js';
import { startCustomsProjector, type ProjectorHandle } from '../../processor/customs/projector.js';
import { testAuth } from './auth.js';
import { TEST_RULES } from './declarations.js';

export interface CustomsOptions {
  auth?: TokenAuthenticator;
  rules?: () => RuleSet;
  selection?: (version: string | undefined) => SelectionKey;
  maxWaitMs?: number;
  signal?: AbortSignal;
}

export function decider(
  js: JetStreamClient,
  jsm: JetStreamManager,
  buckets: Buckets,
  o: CustomsOptions = {},
) {
  return new Decider({
    js,
    jsm,
    declarants: buckets.declarants,
    enterprises: buckets.enterprises,
    rules: o.rules ?? (() => TEST_RULES),
    selection: o.selection,
  });
}

export async function customsService(
  js: JetStreamClient,
  jsm: JetStreamManager,
  buckets: Buckets,
  o: CustomsOptions = {},
): Promise<ServiceRegistration> {
  return createCustomsService({
    js,
    jsm,
    declarations: buckets.declarations,
    decider: decider(js, jsm, buckets, o),
    auth: o.auth ?? testAuth,
    log: silentLogger(),
    maxWaitMs: o.maxWaitMs ?? 5000,
    limiter: new RateLimiter('customs calls', { perSecond: 0, burst: 1 }),
    ...(o.signal === undefined ? {} : { signal: o.signal }),
    manifests: new ManifestStore({
      ...(await ensureManifestBuckets(js, 1)),
      containers: buckets.containers,
      visits: buckets.vesselVisits,
    }),
  });
}

export function startProjector(
  js: JetStreamClient,
  jsm: JetStreamManager,
  buckets: Buckets,
): Promise<ProjectorHandle> {
  return startCustomsProjector({ js, jsm, buckets, logger: silentLogger(), concurrency: 16 });
}
