// The notify service's JetStream layout: the webhooks bucket and two streams of its own, created by the admin
// step (cli/topology.ts) like every other stream and bucket.
//   ps_webhooks         key: webhook id      value: the webhook record (JSON, notify/store.ts), with its secrets
//   PS_WEBHOOK_OUTBOX   ps.webhooks.outbox.<webhook id>   what is to be delivered to one webhook, in order
//   PS_WEBHOOK_LOG      ps.webhooks.log.<webhook id>      every delivery attempt (the delivery log owners read)
import {
  DiscardPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  RetentionPolicy,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type StreamConfig,
} from '@nats-io/jetstream';
import type { KV } from '@nats-io/kv';
import { nanos } from '@nats-io/nats-core';
import { ensureBucket } from './buckets.js';
import { whilePlacing } from './placement.js';

export const BUCKET_WEBHOOKS = 'ps_webhooks';
export const STREAM_WEBHOOK_OUTBOX = 'PS_WEBHOOK_OUTBOX';
export const STREAM_WEBHOOK_LOG = 'PS_WEBHOOK_LOG';

export const notifySubjects = {
  outbox: (webhookId: string): string => `ps.webhooks.outbox.${webhookId}`,
  allOutbox: 'ps.webhooks.outbox.>',
  log: (webhookId: string): string => `ps.webhooks.log.${webhookId}`,
  allLog: 'ps.webhooks.log.>',
} as const;

/** Delivery attempts kept per webhook in the log (older ones are dropped first). */
export const DELIVERY_LOG_PER_WEBHOOK = 1000;
const DAY_NS = 24 * 3600 * 1e9;

export interface NotifyTopologyOptions {
  replicas: number;
  outboxMaxAgeHours: number;
  duplicateWindowSeconds: number;
}

export function notifyStreamConfigs(o: NotifyTopologyOptions): (Partial<StreamConfig> & { name: string })[] {
  const common = {
    storage: StorageType.File,
    retention: RetentionPolicy.Limits,
    num_replicas: o.replicas,
    duplicate_window: nanos(o.duplicateWindowSeconds * 1000),
    max_msg_size: 1024 * 1024,
  };
  return [
    {
      // A delivery waits here until its endpoint takes it; past max_age (an endpoint down for a week) it is
      // dropped, oldest first, rather than refusing deliveries to every other webhook.
      ...common,
      name: STREAM_WEBHOOK_OUTBOX,
      description: 'Webhook deliveries waiting for their endpoint, one subject per webhook',
      subjects: [notifySubjects.allOutbox],
      discard: DiscardPolicy.Old,
      max_age: o.outboxMaxAgeHours * 3600 * 1e9,
    },
    {
      ...common,
      name: STREAM_WEBHOOK_LOG,
      description: 'Webhook delivery attempts, the newest per webhook',
      subjects: [notifySubjects.allLog],
      discard: DiscardPolicy.Old,
      max_msgs_per_subject: DELIVERY_LOG_PER_WEBHOOK,
      max_age: 30 * DAY_NS,
    },
  ];
}

/**
 * Creates the notify streams, or (update: true, the admin step) brings them to these settings; the notify
 * service itself only creates what is missing.
 */
export async function ensureNotifyStreams(
  jsm: JetStreamManager,
  o: NotifyTopologyOptions,
  opts: { update?: boolean } = {},
): Promise<void> {
  for (const cfg of notifyStreamConfigs(o)) {
    try {
      await jsm.streams.info(cfg.name);
      if (opts.update !== true) continue;
      const { storage: _s, retention: _r, ...updatable } = cfg;
      await jsm.streams.update(cfg.name, updatable);
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound)) throw err;
      await whilePlacing(() => jsm.streams.add(cfg));
    }
  }
}

/** The webhooks bucket (one value per webhook, no history: secrets of the past are not kept). */
export function ensureWebhooksBucket(js: JetStreamClient, replicas: number, prefix = ''): Promise<KV> {
  return ensureBucket(js, `${prefix}${BUCKET_WEBHOOKS}`, replicas);
}
