// The sink's floor per stream: a sequence up to which every message of the stream is in ClickHouse, kept in
// <db>.sink_floors (migration 0006). It is the sink consumer's ack floor as the server reports it (the sink
// acks a message only once its rows are written, or once it is dead-lettered), recorded when the sink takes the
// stream's lease, every FLOOR_INTERVAL_MS while it writes, and when it stops. A delivered message at or below
// the floor is acked without a write: that is what keeps a re-created consumer, replaying a stream from the
// start, from inserting anything older than the 30 days sink_keys remembers.
import { DeliverPolicy, type JetStreamManager } from '@nats-io/jetstream';
import type { ClickHouse } from '../core/clickhouse/client.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

/** How often the floor is recorded while the sink writes. */
export const FLOOR_INTERVAL_MS = 5000;

export class StreamFloor {
  private floor = 0;
  private recorded = 0;
  private recordedAt = 0;
  private created: string | undefined;
  private recording: Promise<void> | undefined;

  constructor(
    private readonly o: {
      ch: ClickHouse;
      jsm: JetStreamManager;
      stream: string;
      consumer: string;
      log: Logger;
    },
  ) {}

  /** Whether every message up to seq is known to be written. */
  covers(seq: number): boolean {
    return seq <= this.floor;
  }

  get value(): number {
    return this.floor;
  }

  /** Reads the recorded floor of this stream (this incarnation of it), then records the consumer's if higher. */
  async load(): Promise<void> {
    const { ch, jsm, stream } = this.o;
    this.created = (await jsm.streams.info(stream)).created;
    const [row] = await ch.query<{ floor: string | number }>(
      `SELECT max(floor) AS floor FROM ${ch.database}.sink_floors
       WHERE stream = {stream:String} AND stream_created = {created:String}`,
      { stream, created: this.created },
    );
    this.floor = Math.max(this.floor, Number(row?.floor ?? 0));
    this.recorded = this.floor;
    await this.record();
  }

  /** Records the consumer's ack floor if FLOOR_INTERVAL_MS passed since the last time; never throws. */
  maybeRecord(): Promise<void> {
    if (Date.now() - this.recordedAt < FLOOR_INTERVAL_MS) return Promise.resolve();
    return this.record();
  }

  /** Records the consumer's ack floor now (one at a time); never throws. */
  record(): Promise<void> {
    this.recording ??= this.recordOnce().finally(() => (this.recording = undefined));
    return this.recording;
  }

  private async recordOnce(): Promise<void> {
    const { ch, jsm, stream, consumer, log } = this.o;
    this.recordedAt = Date.now();
    try {
      if (this.created === undefined) return;
      const c = await jsm.consumers.info(stream, consumer);
      // Only a consumer that reads from the start says that nothing below its ack floor is missing; one created
      // to start later (an operator's choice) acks nothing below its start.
      if (c.config.deliver_policy !== DeliverPolicy.All) return;
      const acked = c.ack_floor.stream_seq;
      this.floor = Math.max(this.floor, acked);
      if (acked <= this.recorded) return;
      await ch.insert(
        'sink_floors',
        [{ stream, stream_created: this.created, floor: acked }],
        `floor:${stream}:${this.created}:${acked}`,
      );
      this.recorded = acked;
    } catch (err) {
      log.warn({ stream, err: errorMessage(err) }, 'sink floor not recorded; next time');
    }
  }
}
