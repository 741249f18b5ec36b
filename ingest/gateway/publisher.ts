// Persists validated events in JetStream: the events of a batch are grouped by subject (port, terminal, kind)
// into EventGroup messages, so one JetStream round trip carries hundreds of events. Each message's id is a
// hash of its subject, its source and its event ids: an exact re-send by the same caller within the duplicate
// window is answered by JetStream as a duplicate, and another caller using the same ids is not. Publishes in flight are bounded for the whole process.
import { createHash } from 'node:crypto';
import type { JetStreamClient, PubAck } from '@nats-io/jetstream';
import { JetStreamApiError } from '@nats-io/jetstream';
import PQueue from 'p-queue';
import { ErrorCode, PortstreamError } from '../../core/errors.js';
import { subjects, type EventKind } from '../../core/nats/topology.js';
import { EventGroup } from '../../proto/gen/portstream/v1/records.js';
import type { Event } from '../../proto/gen/portstream/v1/events.js';
import { encodeWith } from '../../core/proto/writer.js';

export type PersistOutcome = 'accepted' | 'duplicate';

export interface PublisherOptions {
  maxInflight: number;
  /** Largest message the server takes (the connection's max_payload), minus room for headers. */
  maxPayloadBytes: number;
  /** How long to wait for a PubAck before answering UNAVAILABLE. */
  publishTimeoutMs: number;
}

interface Indexed {
  index: number;
  event: Event;
}

export class EventPublisher {
  private readonly queue: PQueue;

  constructor(
    private readonly js: JetStreamClient,
    private readonly opts: PublisherOptions,
  ) {
    this.queue = new PQueue({ concurrency: opts.maxInflight });
  }

  /** Publishes in flight and waiting, for metrics and tests. */
  get pending(): number {
    return this.queue.pending + this.queue.size;
  }

  /**
   * Persists the events and returns one outcome per event (same order). Throws a retryable PortstreamError
   * if any group could not be persisted: the caller must not answer ACCEPTED for any event of the batch then.
   */
  async persist(events: readonly Event[], receivedTime: Date, source: string): Promise<PersistOutcome[]> {
    const outcomes = new Array<PersistOutcome>(events.length).fill('accepted');
    const groups = new Map<string, Indexed[]>();
    events.forEach((event, index) => {
      const subject = subjectOf(event);
      let g = groups.get(subject);
      if (!g) groups.set(subject, (g = []));
      g.push({ index, event });
    });
    const publishes: Promise<void>[] = [];
    for (const [subject, members] of groups) {
      for (const chunk of this.chunks(members, receivedTime, source)) {
        publishes.push(
          this.publish(subject, source, chunk.items, chunk.data).then((ack) => {
            if (ack.duplicate) for (const m of chunk.items) outcomes[m.index] = 'duplicate';
          }),
        );
      }
    }
    const results = await Promise.allSettled(publishes);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw toPersistError(failed.reason);
    return outcomes;
  }

  /** Splits a subject's events into messages that fit max_payload. */
  private *chunks(
    members: Indexed[],
    receivedTime: Date,
    source: string,
  ): Generator<{ items: Indexed[]; data: Uint8Array }> {
    const data = encodeWith((w) =>
      EventGroup.encode({ receivedTime, source, events: members.map((m) => m.event) }, w),
    );
    if (data.length <= this.opts.maxPayloadBytes || members.length === 1) {
      yield { items: members, data };
      return;
    }
    const mid = Math.ceil(members.length / 2);
    yield* this.chunks(members.slice(0, mid), receivedTime, source);
    yield* this.chunks(members.slice(mid), receivedTime, source);
  }

  private async publish(
    subject: string,
    source: string,
    items: Indexed[],
    data: Uint8Array,
  ): Promise<PubAck> {
    const hash = createHash('sha256').update(subject).update('\n').update(source);
    for (const m of items) hash.update('\n').update(m.event.eventId);
    const msgID = hash.digest('base64url');
    return this.queue.add(() =>
      this.js.publish(subject, data, { msgID, timeout: this.opts.publishTimeoutMs }),
    );
  }

  /** Resolves when nothing is in flight (for shutdown). */
  async idle(): Promise<void> {
    await this.queue.onIdle();
  }
}

export function subjectOf(event: Event): string {
  const kind: EventKind = event.payload?.$case === 'transport' ? 'transport' : 'equipment';
  return subjects.events(event.facility?.unLocode ?? '', event.facility?.terminalCode ?? '', kind);
}

function toPersistError(err: unknown): PortstreamError {
  if (err instanceof JetStreamApiError && /exceeded|insufficient resources/i.test(err.message)) {
    return new PortstreamError(ErrorCode.ResourceExhausted, 'event store is full; retry later', {
      cause: err,
    });
  }
  return new PortstreamError(
    ErrorCode.Unavailable,
    'event store unavailable; retry with the same event ids',
    {
      cause: err,
    },
  );
}
