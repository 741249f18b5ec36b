// The NATS topology an admin creates before the services start (`portstream migrate`, a Job in Kubernetes;
// `up` and `cluster` do it on one machine): the streams, created or brought to this release's settings, and the
// KV buckets (state, declarants, the enterprise register, manifests and bills, sink leases, webhooks), the
// notify service's outbox and delivery log streams, and every service's durable consumer
// (core/consumer/durable.ts). The services' NATS users may create what is missing but never change or delete a
// stream or bucket (deploy/nats/accounts.conf); each may create and update only its own durables.
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Config } from '../core/config.js';
import {
  BUCKET_BILLS,
  BUCKET_CONTAINERS,
  BUCKET_DECLARANTS,
  BUCKET_DECLARATIONS,
  BUCKET_ENTERPRISES,
  BUCKET_LIST_INDEX,
  BUCKET_MANIFESTS,
  BUCKET_VESSEL_VISITS,
  ensureBuckets,
  ensureManifestBuckets,
} from '../core/nats/buckets.js';
import { durableSpecs, ensureDurable } from '../core/consumer/index.js';
import {
  BUCKET_WEBHOOKS,
  ensureNotifyStreams,
  ensureWebhooksBucket,
  notifyStreamConfigs,
} from '../core/nats/notify.js';
import { ensureStreams, streamConfigs, topologyOptions } from '../core/nats/topology.js';
import { BUCKET_SINK_LEASES, openLeaseBucket } from '../sink/lease.js';

export function notifyOptions(config: Config): {
  replicas: number;
  outboxMaxAgeHours: number;
  duplicateWindowSeconds: number;
} {
  return {
    replicas: config.JS_REPLICAS,
    outboxMaxAgeHours: config.NOTIFY_OUTBOX_MAX_AGE_HOURS,
    duplicateWindowSeconds: config.JS_DUPLICATE_WINDOW_SECONDS,
  };
}

/** Creates or updates every stream and durable and creates every bucket; returns their names. */
export async function createNatsTopology(nc: NatsConnection, config: Config): Promise<string[]> {
  const options = topologyOptions(config);
  const jsm = await jetstreamManager(nc);
  await ensureStreams(jsm, options, { update: true });
  const js = jetstream(nc);
  await ensureBuckets(js, config.JS_REPLICAS);
  await ensureManifestBuckets(js, config.JS_REPLICAS);
  await openLeaseBucket(js, config.SINK_LEASE_TTL_MS, config.JS_REPLICAS);
  const notify = notifyOptions(config);
  await ensureNotifyStreams(await jetstreamManager(nc), notify, { update: true });
  await ensureWebhooksBucket(js, config.JS_REPLICAS);
  // After the buckets: the list index's durables read the buckets' streams.
  const durables = durableSpecs(config);
  for (const spec of durables) await ensureDurable(jsm, spec);
  return [
    ...streamConfigs(options).map((s) => s.name),
    ...notifyStreamConfigs(notify).map((s) => s.name),
    ...[
      BUCKET_DECLARATIONS,
      BUCKET_DECLARANTS,
      BUCKET_CONTAINERS,
      BUCKET_VESSEL_VISITS,
      BUCKET_ENTERPRISES,
      BUCKET_MANIFESTS,
      BUCKET_BILLS,
      BUCKET_SINK_LEASES,
      BUCKET_WEBHOOKS,
      BUCKET_LIST_INDEX,
    ].map((b) => `KV ${b}`),
    ...durables.map((d) => `consumer ${d.stream}/${d.durable}`),
  ];
}
