// Reads back a run's events from the events stream and counts copies per sequence number, to prove that
// nothing acked was lost and nothing was stored twice.
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { STREAM_EVENTS } from '../../core/nats/topology.js';
import { EventGroup } from '../../proto/gen/portstream/v1/records.js';

export interface StoredCount {
  /** Acked sequence numbers with no stored copy. */
  lost: number;
  /** Stored copies beyond the first, over all events. */
  duplicated: number;
}

export async function countStored(
  nc: NatsConnection,
  runId: string,
  sent: number,
  acked: Uint8Array,
): Promise<StoredCount> {
  const copies = new Uint16Array(sent);
  const prefix = `${runId}-`;
  const info = await (await jetstreamManager(nc)).streams.info(STREAM_EVENTS);
  const consumer = await jetstream(nc).consumers.get(STREAM_EVENTS);
  const messages = await consumer.consume({ max_messages: 1000 });
  let seen = 0;
  if (info.state.messages > 0) {
    for await (const m of messages) {
      for (const e of EventGroup.decode(m.data).events) {
        if (!e.eventId.startsWith(prefix)) continue;
        const seq = Number(e.eventId.slice(prefix.length));
        if (seq < sent) copies[seq] = (copies[seq] ?? 0) + 1;
      }
      if (++seen >= info.state.messages) break;
    }
  }
  await consumer.delete().catch(() => undefined);
  let lost = 0;
  let duplicated = 0;
  for (let i = 0; i < sent; i++) {
    const c = copies[i] ?? 0;
    if (acked[i] === 1 && c === 0) lost++;
    if (c > 1) duplicated += c - 1;
  }
  return { lost, duplicated };
}
