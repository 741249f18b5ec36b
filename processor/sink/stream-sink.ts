// One stream -> one table: a named durable pull consumer with explicit acks, a batch that closes on size or
// age, and a writer that retries with backoff until ClickHouse takes the batch. Messages are acked only
// after that; while ClickHouse is down they stay unacked (kept alive with working()), the consumer's
// max_ack_pending stops delivery, and nothing upstream waits for us: the sink is a separate consumer.
// With a lease (lease.ts), the sink consumes and writes only while it holds its stream's lease; several sinks
// may run, one writes per stream and the others stand by.
import {
  AckPolicy,
  DeliverPolicy,
  JetStreamApiCodes,
  JetStreamApiError,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { headers, nanos } from '@nats-io/nats-core';
import type { ClickHouse } from '../../core/clickhouse/client.js';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { subjects } from '../../core/nats/topology.js';
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

interface Pending {
  msgs: JsMsg[];
  rows: KeyedRow[];
  /** Keys of the rows of redelivered messages (a sink before this one may have written them). */
  redelivered: Set<string>;
  since: number;
}

/** Bytes one pull may bring: a few batches of event groups, far below the server's per-client max_pending. */
const PULL_MAX_BYTES = 8 * 1024 * 1024;

export class StreamSink {
  private messages: ConsumerMessages | undefined;
  private loop: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pending: Pending = { msgs: [], rows: [], redelivered: new Set(), since: 0 };
  private chain: Promise<void> = Promise.resolve();
  private giveUpAt = Infinity;
  private stopping = false;
  /** Cuts a retry backoff short when stop() is called. */
  private wake: (() => void) | undefined;
  private lease: StreamLease | undefined;

  constructor(private readonly o: StreamSinkOptions) {}

  get stream(): string {
    return this.o.mapping.stream;
  }

  /** Whether this instance consumes the stream now (always true without a lease). */
  get active(): boolean {
    return this.messages !== undefined;
  }

  async start(): Promise<void> {
    await this.ensureConsumer();
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

  private async ensureConsumer(): Promise<void> {
    const { jsm, mapping, consumerName } = this.o;
    const config = {
      durable_name: consumerName,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: nanos(this.o.ackWaitMs),
      // Unlimited: a message must never stop being delivered because ClickHouse was down for a while.
      // Undecodable messages are terminated explicitly instead.
      max_deliver: -1,
      max_ack_pending: this.o.maxAckPending,
    };
    try {
      await jsm.consumers.info(mapping.stream, consumerName);
      await jsm.consumers.update(mapping.stream, consumerName, {
        max_ack_pending: this.o.maxAckPending,
        ack_wait: config.ack_wait,
      });
    } catch (err) {
      if (!(err instanceof JetStreamApiError && err.code === JetStreamApiCodes.ConsumerNotFound)) throw err;
      await jsm.consumers.add(mapping.stream, config);
    }
  }

  private async consume(): Promise<void> {
    const { js, mapping, consumerName } = this.o;
    if (this.messages !== undefined || this.stopping) return;
    const consumer = await js.consumers.get(mapping.stream, consumerName);
    // Pulls are bounded in bytes, not messages: a thousand event groups are 50 MB, and two pulls outstanding
    // passed nats-server's per-client max_pending (64 MB by default), which disconnects the client as a slow
    // consumer and loses its pulls and acks with the connection.
    this.messages = await consumer.consume({ max_bytes: PULL_MAX_BYTES });
    this.loop = this.run(this.messages);
    const tick = Math.max(10, Math.floor(this.o.flushIntervalMs / 4));
    this.timer = setInterval(() => {
      if (this.pending.msgs.length > 0 && Date.now() - this.pending.since >= this.o.flushIntervalMs) {
        void this.flush();
      }
    }, tick);
  }

  /**
   * The lease was lost: stop taking messages and drop the batch being filled without writing or acking it
   * (the new holder gets those messages after ack_wait); a write in progress stops before its next attempt.
   */
  private async standBy(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    const messages = this.messages;
    this.messages = undefined;
    await messages?.close();
    await this.loop;
    this.wake?.();
    await this.chain;
    this.pending = { msgs: [], rows: [], redelivered: new Set(), since: 0 };
    this.o.metrics.batchRows.set({ table: this.o.mapping.table }, 0);
  }

  /** No lease, or a lease that cannot have expired yet. */
  private mayWrite(): boolean {
    return this.lease === undefined || this.lease.valid();
  }

  /**
   * Stops taking messages, writes and acks what it holds, then hands the lease on. After timeoutMs without ClickHouse it gives up:
   * those messages stay unacked and are redelivered (to the next sink) after ack_wait.
   */
  async stop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    this.giveUpAt = Date.now() + timeoutMs;
    if (this.timer) clearInterval(this.timer);
    this.wake?.();
    await this.messages?.close();
    await this.loop;
    await this.flush();
    await this.lease?.stop();
    this.messages = undefined;
  }

  private async run(messages: ConsumerMessages): Promise<void> {
    try {
      for await (const m of messages) {
        this.o.metrics.lag.set({ stream: this.o.mapping.stream }, m.info.pending);
        let rows: KeyedRow[];
        try {
          rows = this.o.mapping.toRows(m.data, m.seq);
        } catch (err) {
          await this.deadLetter(m, err);
          continue;
        }
        if (this.pending.msgs.length === 0) this.pending.since = Date.now();
        this.pending.msgs.push(m);
        this.pending.rows.push(...rows);
        if (m.redelivered) for (const r of rows) this.pending.redelivered.add(r.key);
        this.o.metrics.batchRows.set({ table: this.o.mapping.table }, this.pending.rows.length);
        if (this.pending.rows.length >= this.o.maxRows) {
          // Double-buffered: the next batch fills while this one is written, but never more than that.
          // Awaiting the previous write is the backpressure: no more messages are taken meanwhile.
          await this.chain;
          void this.flush();
        }
      }
    } catch (err) {
      this.o.log.error({ err: errorMessage(err), stream: this.o.mapping.stream }, 'sink consumer stopped');
    }
  }

  /** Flushes are serialised: one INSERT per table at a time, in delivery order. */
  private flush(): Promise<void> {
    this.chain = this.chain
      .then(() => this.flushOnce())
      .catch((err: unknown) => {
        this.o.log.error({ err: errorMessage(err), table: this.o.mapping.table }, 'sink flush failed');
      });
    return this.chain;
  }

  private async flushOnce(): Promise<void> {
    const batch = this.pending;
    if (batch.msgs.length === 0) return;
    this.pending = { msgs: [], rows: [], redelivered: new Set(), since: 0 };
    const { ch, mapping, metrics, log } = this.o;
    const table = mapping.table;
    metrics.batchRows.set({ table }, 0);
    for (let attempt = 1, backoff = 250; ; attempt++, backoff = Math.min(backoff * 2, this.o.retryMaxMs)) {
      if (!this.mayWrite()) {
        // Another sink may hold the stream now: writing could race its key check. Leave the batch unacked.
        log.warn({ table, messages: batch.msgs.length }, 'sink lease lost; batch left to the new holder');
        return;
      }
      const end = metrics.insertSeconds.startTimer({ table });
      try {
        const r = await writeBatch(ch, mapping, batch.rows, batch.redelivered);
        end();
        if (r.inserted > 0) metrics.inserts.inc({ table });
        metrics.rowsInserted.inc({ table }, r.inserted);
        metrics.duplicatesSkipped.inc({ table }, r.skipped);
        for (const m of batch.msgs) m.ack();
        log.debug({ table, messages: batch.msgs.length, ...r }, 'sink batch written');
        return;
      } catch (err) {
        metrics.insertErrors.inc({ table });
        if (Date.now() + backoff > this.giveUpAt) {
          // Shutting down with ClickHouse away: leave the batch unacked; JetStream redelivers it to the next
          // sink after ack_wait. Not nak(): on nats-server 2.9 a nak'ed batch came back with one message
          // twice and another not at all until ack_wait anyway (seen in the outage test).
          log.warn(
            { table, messages: batch.msgs.length },
            'sink stopping without ClickHouse; batch left unacked',
          );
          return;
        }
        log.warn({ table, attempt, retryInMs: backoff, err: errorMessage(err) }, 'clickhouse insert failed');
        // Keep the messages ours while we wait, rather than have them redelivered into the next batch.
        for (const m of batch.msgs) m.working();
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, this.stopping ? 0 : backoff);
          this.wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        this.wake = undefined;
      }
    }
  }

  private async deadLetter(m: JsMsg, err: unknown): Promise<void> {
    const stream = this.o.mapping.stream;
    this.o.metrics.poisonMessages.inc({ stream });
    this.o.log.error({ stream, seq: m.seq, err: errorMessage(err) }, 'undecodable message dead-lettered');
    const h = headers();
    h.set('Portstream-Stream', stream);
    h.set('Portstream-Seq', String(m.seq));
    h.set('Portstream-Reason', `sink decode: ${errorMessage(err)}`.slice(0, 500));
    try {
      await this.o.js.publish(subjects.deadLetter(stream), m.data, { headers: h });
      // No reason argument: with one (`+TERM reason`) this nats-server left the message pending (seen in
      // tests); the reason travels in the dead letter's headers instead.
      m.term();
    } catch (pubErr) {
      this.o.log.warn({ stream, err: errorMessage(pubErr) }, 'dead letter publish failed; message returned');
      m.nak(5000);
    }
  }
}
