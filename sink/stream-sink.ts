// One stream -> one table on the consumer runtime (core/consumer/runtime.ts): a batch closes on rows or age and
// the handler writes it, retrying with backoff until ClickHouse takes it. Messages are acked only after that;
// while ClickHouse is down they stay unacked and the runtime renews them with working(), and its bound on what
// it holds stops pulling, so nothing upstream waits for us: the sink is a separate consumer.
// With a lease (lease.ts), the sink consumes and writes only while it holds its stream's lease; several sinks
// may run, one writes per stream and the others stand by. Renewals stop with the lease, so a short ack_wait
// hands a dead holder's messages to the next one within seconds.
import type { JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { ClickHouse } from '../core/clickhouse/client.js';
import {
  ConsumerError,
  consumerMetrics,
  ensureDurable,
  sinkDurable,
  startConsumer,
  type BatchContext,
  type BatchOutcome,
  type ConsumerHandle,
  type DurableSpec,
  type Item,
} from '../core/consumer/index.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { MAX_MSG_SIZE } from '../core/nats/topology.js';
import { StreamFloor } from './floor.js';
import { StreamLease, type LeaseOptions } from './lease.js';
import type { SinkMetrics } from './metrics.js';
import type { KeyedRow, RecordMapping } from './rows.js';
import { writeBatch } from './writer.js';

export interface StreamSinkOptions {
  js: JetStreamClient;
  jsm: JetStreamManager;
  ch: ClickHouse;
  mapping: RecordMapping;
  consumerName: string;
  maxRows: number;
  flushIntervalMs: number;
  retryMaxMs: number;
  maxAckPending: number;
  /** Redelivery delay of an unacked message; pending batches are kept alive with working() meanwhile. */
  ackWaitMs: number;
  metrics: SinkMetrics;
  log: Logger;
  /** Consume only while holding this stream's lease (undefined: always, the single-sink mode). */
  lease?: Pick<LeaseOptions, 'kv' | 'holder' | 'ttlMs'>;
}

/**
 * Bytes one pull may bring: a few batches of event groups, far below the server's per-client max_pending; and
 * more than the largest message a stream takes plus its subject and headers, or such a message never fits a
 * pull and the sink stops at it (each pull ends with 409 Message Size Exceeds MaxBytes).
 */
export const SINK_PULL_MAX_BYTES = MAX_MSG_SIZE + 1024 * 1024;

export class StreamSink {
  private runtime: ConsumerHandle | undefined;
  private stopping = false;
  private lease: StreamLease | undefined;
  private readonly spec: DurableSpec;
  private readonly floor: StreamFloor;
  /** The recorded floor is read before the first write of each lease (ClickHouse may be away at the start). */
  private floorLoaded = false;

  constructor(private readonly o: StreamSinkOptions) {
    this.spec = sinkDurable(o.mapping.stream, o.ackWaitMs, o.consumerName);
    this.floor = new StreamFloor({
      ch: o.ch,
      jsm: o.jsm,
      stream: o.mapping.stream,
      consumer: o.consumerName,
      log: o.log,
    });
  }

  get stream(): string {
    return this.o.mapping.stream;
  }

  /** Whether this instance consumes the stream now (always true without a lease). */
  get active(): boolean {
    return this.runtime !== undefined;
  }

  async start(): Promise<void> {
    await ensureDurable(this.o.jsm, this.spec);
    const lease = this.o.lease;
    if (lease === undefined) {
      await this.consume();
      return;
    }
    this.lease = new StreamLease({
      ...lease,
      key: `${this.o.consumerName}.${this.o.mapping.stream}`,
      log: this.o.log.child({ stream: this.o.mapping.stream }),
      onAcquired: () => this.consume(),
      onLost: () => this.standBy(),
    });
    await this.lease.start();
  }

  private async consume(): Promise<void> {
    if (this.runtime !== undefined || this.stopping) return;
    const { metrics, maxRows } = this.o;
    this.floorLoaded = false;
    this.runtime = await startConsumer<KeyedRow[]>({
      js: this.o.js,
      spec: this.spec,
      log: this.o.log,
      metrics: consumerMetrics(metrics.registry),
      decode: (m) => this.decode(m),
      handle: (batch, ctx) => this.write(batch, ctx),
      maxMessages: maxRows,
      maxWeight: maxRows,
      weigh: (rows) => rows.length,
      lingerMs: this.o.flushIntervalMs,
      // Room for the batch being written and the next one filling; the weight bound stops pulling before.
      maxHeld: this.o.maxAckPending,
      // Pulls are bounded in bytes, not messages: a thousand event groups are 50 MB, and two pulls outstanding
      // passed nats-server's per-client max_pending (64 MB by default), which disconnects the client as a slow
      // consumer and loses its pulls and acks with the connection.
      pullMaxBytes: SINK_PULL_MAX_BYTES,
      mayHold: () => this.mayHold(),
    });
  }

  private decode(m: JsMsg): KeyedRow[] {
    const stream = this.o.mapping.stream;
    this.o.metrics.lag.set({ stream }, m.info.pending);
    try {
      return this.o.mapping.toRows(m.data, m.seq);
    } catch (err) {
      this.o.metrics.poisonMessages.inc({ stream });
      throw ConsumerError.permanent(`sink decode: ${errorMessage(err)}`, err);
    }
  }

  /**
   * The lease was lost: stop taking messages; a write in progress stops before its next attempt, and what this
   * instance holds is left unacked (no longer renewed, so the new holder gets it after ack_wait).
   */
  private async standBy(): Promise<void> {
    const runtime = this.runtime;
    this.runtime = undefined;
    await runtime?.stop({ release: true });
    this.o.metrics.batchRows.set({ table: this.o.mapping.table }, 0);
  }

  /** No lease, or a lease that cannot have expired yet: keep renewing what it holds. */
  private mayHold(): boolean {
    return this.lease === undefined || this.lease.valid();
  }

  /** No lease, or one that stays valid long enough for an INSERT started now to finish (lease.ts). */
  private mayWrite(): boolean {
    return this.lease === undefined || this.lease.validFor(this.lease.insertReserveMs);
  }

  /**
   * Stops taking messages, writes and acks what it holds, then hands the lease on. After timeoutMs without
   * ClickHouse it gives up: those messages stay unacked and are redelivered (to the next sink) after ack_wait.
   */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    await this.runtime?.stop({ timeoutMs });
    await this.lease?.stop();
    this.runtime = undefined;
  }

  /** Records the consumer's ack floor (after a stop, once the acks are flushed). */
  recordFloor(): Promise<void> {
    return this.floorLoaded ? this.floor.record() : Promise.resolve();
  }

  /**
   * The rows of the batch's messages above the floor (those at or below it are written already, however long
   * ago), the keys among them of redelivered messages (a sink before this one may have written them), and how
   * many rows the floor left out.
   */
  private rowsAboveFloor(batch: readonly Item<KeyedRow[]>[]): {
    rows: KeyedRow[];
    redelivered: Set<string>;
    belowFloor: number;
  } {
    const rows: KeyedRow[] = [];
    const redelivered = new Set<string>();
    let belowFloor = 0;
    for (const { msg, value } of batch) {
      if (this.floor.covers(msg.seq)) {
        belowFloor += value.length;
        continue;
      }
      rows.push(...value);
      if (msg.redelivered) for (const r of value) redelivered.add(r.key);
    }
    return { rows, redelivered, belowFloor };
  }

  /** Writes one batch, retrying with backoff until ClickHouse takes it, the lease is lost or stop gives up. */
  private async write(
    batch: readonly Item<KeyedRow[]>[],
    ctx: BatchContext,
  ): Promise<BatchOutcome | undefined> {
    const { ch, mapping, metrics, log } = this.o;
    const table = mapping.table;
    metrics.batchRows.set(
      { table },
      batch.reduce((n, i) => n + i.value.length, 0),
    );
    try {
      for (let attempt = 1, backoff = 250; ; attempt++, backoff = Math.min(backoff * 2, this.o.retryMaxMs)) {
        if (!this.mayWrite()) {
          if (this.mayHold() && Date.now() < ctx.giveUpAt) {
            // A renewal is late (NATS slow): wait for it rather than start an INSERT that might outlive the lease.
            await new Promise((r) => setTimeout(r, 50));
            attempt--;
            continue;
          }
          // Another sink may hold the stream now: writing could race its key check. Leave the batch unacked.
          log.warn({ table, messages: batch.length }, 'sink lease lost; batch left to the new holder');
          return { released: 'all' };
        }
        const end = metrics.insertSeconds.startTimer({ table });
        try {
          if (!this.floorLoaded) {
            await this.floor.load();
            this.floorLoaded = true;
          }
          const { rows, redelivered, belowFloor } = this.rowsAboveFloor(batch);
          const r = await writeBatch(ch, mapping, rows, redelivered);
          end();
          if (r.inserted > 0) metrics.inserts.inc({ table });
          metrics.rowsInserted.inc({ table }, r.inserted);
          metrics.duplicatesSkipped.inc({ table }, r.skipped + belowFloor);
          log.debug({ table, messages: batch.length, belowFloor, ...r }, 'sink batch written');
          void this.floor.maybeRecord();
          return undefined;
        } catch (err) {
          metrics.insertErrors.inc({ table });
          if (Date.now() + backoff > ctx.giveUpAt) {
            // Shutting down with ClickHouse away: leave the batch unacked; JetStream redelivers it to the next
            // sink after ack_wait. Not nak(): on nats-server 2.9 a nak'ed batch came back with one message
            // twice and another not at all until ack_wait anyway (seen in the outage test).
            log.warn(
              { table, messages: batch.length },
              'sink stopping without ClickHouse; batch left unacked',
            );
            return { released: 'all' };
          }
          // Retried here rather than nakked: a batch that ClickHouse refuses is the table's problem (down, full,
          // a schema not migrated), not its messages', and must not be dead-lettered. The runtime renews the
          // messages meanwhile.
          log.warn(
            { table, attempt, retryInMs: backoff, err: errorMessage(err) },
            'clickhouse insert failed',
          );
          await ctx.pause(backoff);
        }
      }
    } finally {
      metrics.batchRows.set({ table }, 0);
    }
  }
}
