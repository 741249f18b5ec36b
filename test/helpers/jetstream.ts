// Reading back what the gateway persisted, straight from the stream.
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { STREAM_EVENTS } from '../../core/nats/topology.js';
import { EventGroup } from '../../proto/gen/portstream/v1/records.js';

/** Every event id in the events stream, with how many times each is stored. */
export async function storedEventIds(nc: NatsConnection): Promise<Map<string, number>> {
  const jsm = await jetstreamManager(nc);
  const info = await jsm.streams.info(STREAM_EVENTS);
  const counts = new Map<string, number>();
  const total = info.state.messages;
  if (total === 0) return counts;
  const consumer = await jetstream(nc).consumers.get(STREAM_EVENTS);
  const messages = await consumer.consume();
  let seen = 0;
  for await (const m of messages) {
    for (const e of EventGroup.decode(m.data).events) counts.set(e.eventId, (counts.get(e.eventId) ?? 0) + 1);
    if (++seen >= total) break;
  }
  await consumer.delete().catch(() => undefined);
  return counts;
}

/** Every message of a stream, decoded, oldest first (an ordered consumer, deleted afterwards). */
export async function storedMessages<T>(
  nc: NatsConnection,
  stream: string,
  decode: (data: Uint8Array) => T,
): Promise<T[]> {
  const jsm = await jetstreamManager(nc);
  const total = (await jsm.streams.info(stream)).state.messages;
  const out: T[] = [];
  if (total === 0) return out;
  const consumer = await jetstream(nc).consumers.get(stream);
  const messages = await consumer.consume();
  for await (const m of messages) {
    out.push(decode(m.data));
    if (out.length >= total) break;
  }
  await consumer.delete().catch(() => undefined);
  return out;
}
