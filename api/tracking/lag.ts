// How far the services' durable consumers are behind their streams, for the operator dashboard: consumer info
// only (the API's NATS user may read it and nothing more of those consumers). The durable names are the
// services' own (processor/, sink/); services never import each other, so they are repeated here and a unit test
// holds them equal.
import { JetStreamApiCodes, JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream';
import { STREAM_CUSTOMS, STREAM_DECISIONS, STREAM_EVENTS } from '../../core/nats/topology.js';
import type { ConsumerLag } from '../../proto/gen/portstream/v1/tracking.js';

export const WATCHED_CONSUMERS: readonly { stream: string; consumer: string }[] = [
  { stream: STREAM_EVENTS, consumer: 'processor-events' },
  { stream: STREAM_EVENTS, consumer: 'clickhouse-sink' },
  { stream: STREAM_CUSTOMS, consumer: 'processor-customs' },
  { stream: STREAM_CUSTOMS, consumer: 'clickhouse-sink' },
  { stream: STREAM_DECISIONS, consumer: 'clickhouse-sink' },
];

export interface LagSource {
  consumerLag(): Promise<ConsumerLag[]>;
}

function missing(err: unknown): boolean {
  return (
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.ConsumerNotFound || err.code === JetStreamApiCodes.StreamNotFound)
  );
}

export function natsLag(jsm: JetStreamManager): LagSource {
  return {
    consumerLag: () =>
      // Five info requests, one round trip each, in flight together.
      Promise.all(
        WATCHED_CONSUMERS.map(async ({ stream, consumer }) => {
          try {
            const i = await jsm.consumers.info(stream, consumer);
            return { stream, consumer, pending: i.num_pending, ackPending: i.num_ack_pending, present: true };
          } catch (err) {
            if (!missing(err)) throw err;
            return { stream, consumer, pending: 0, ackPending: 0, present: false };
          }
        }),
      ),
  };
}
