// A terminal operator's client for IngestService.StreamEvents: events are batched, up to `window`
// batches are in flight on one long-lived bidi stream, write() returning false pauses until 'drain',
// and when the stream breaks every unanswered batch is re-sent, same batch and event ids, on a new
// stream after backoff (the gateway deduplicates by event id, so a re-send can only yield DUPLICATE). Given
// several gateways, each new stream goes to the next one, as a client with a list of addresses fails over.
import type { ClientDuplexStream, Metadata } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Event } from '../proto/gen/portstream/v1/events.js';
import { EventStatus } from '../proto/gen/portstream/v1/ingest.js';
import type {
  IngestServiceClient,
  StreamEventsRequest,
  StreamEventsResponse,
} from '../proto/gen/portstream/v1/ingest.js';
import { backoffDelay, DEFAULT_BACKOFF, grpcCode, isRetryable, sleep } from './retry.js';
import type { Backoff } from './retry.js';
import type { SimulationStats } from './stats.js';

export interface StreamerOptions {
  /** Events per batch (default 100). */
  readonly batchSize?: number;
  /** Batches sent but not answered, at most (default 8). */
  readonly window?: number;
  readonly backoff?: Backoff;
  /** Gives up after this many consecutive failed streams (default 20). */
  readonly maxAttempts?: number;
  /** Prefix of batch ids, e.g. the terminal code. */
  readonly name: string;
  /** Index of the gateway the first stream goes to, when there are several (spreads terminals over them). */
  readonly firstGateway?: number;
  /** Source of backoff jitter (a seeded PRNG keeps runs reproducible). */
  readonly random: () => number;
}

interface Batch {
  readonly id: string;
  readonly events: Event[];
}

type Duplex = ClientDuplexStream<StreamEventsRequest, StreamEventsResponse>;

const MAX_REJECTIONS_KEPT = 20;

export class EventStreamer {
  private buffer: Event[] = [];
  private readonly queue: Batch[] = [];
  private readonly inFlight = new Map<string, Batch>();
  private call: Duplex | undefined;
  private blocked = false;
  private reconnecting = false;
  private attempt = 0;
  private seq = 0;
  private failure: Error | undefined;
  private readonly wakers = new Set<() => void>();
  private readonly batchSize: number;
  private readonly window: number;
  private readonly clients: readonly IngestServiceClient[];
  private opened = 0;

  constructor(
    client: IngestServiceClient | readonly IngestServiceClient[],
    private readonly metadata: Metadata,
    private readonly stats: SimulationStats,
    private readonly log: Logger,
    private readonly opts: StreamerOptions,
  ) {
    this.batchSize = opts.batchSize ?? 100;
    this.window = opts.window ?? 8;
    this.clients = Array.isArray(client) ? client : [client as IngestServiceClient];
    if (this.clients.length === 0) throw new RangeError('EventStreamer needs at least one gateway client');
  }

  /** Buffers an event; resolves once its batch (if now full) fits in the window. */
  async add(event: Event): Promise<void> {
    this.buffer.push(event);
    if (this.buffer.length >= this.batchSize) await this.flush();
  }

  /** Queues the buffered events as a batch, waiting for room in the window. */
  async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    const batch: Batch = { id: `${this.opts.name}-${this.seq++}`, events: this.buffer };
    this.buffer = [];
    this.stats.eventsSent += batch.events.length;
    await this.until(() => this.queue.length + this.inFlight.size < this.window);
    this.queue.push(batch);
    this.pump();
  }

  /** Sends what is buffered, waits for every answer (up to timeoutMs), then half-closes the stream. */
  async close(timeoutMs = 30_000): Promise<void> {
    await this.flush();
    const timer = setTimeout(() => {
      this.fail(new Error(`${this.opts.name}: ${this.pending()} batches unanswered after ${timeoutMs} ms`));
    }, timeoutMs);
    try {
      await this.until(() => this.pending() === 0);
    } finally {
      clearTimeout(timer);
      const call = this.call;
      this.call = undefined;
      call?.end();
    }
  }

  /** Batches queued or in flight. */
  pending(): number {
    return this.queue.length + this.inFlight.size;
  }

  private pump(): void {
    if (this.failure !== undefined || this.reconnecting) return;
    if (this.call === undefined) {
      if (this.queue.length === 0) return;
      this.open();
    }
    const call = this.call;
    while (call !== undefined && !this.blocked && this.queue.length > 0) {
      const batch = this.queue.shift();
      if (batch === undefined) break;
      this.inFlight.set(batch.id, batch);
      this.stats.batchesSent++;
      if (!call.write({ batchId: batch.id, events: batch.events })) {
        this.blocked = true;
        call.once('drain', () => {
          this.blocked = false;
          if (call === this.call) this.pump();
        });
      }
    }
  }

  private open(): void {
    const gateway = ((this.opts.firstGateway ?? 0) + this.opened++) % this.clients.length;
    const call = (this.clients[gateway] as IngestServiceClient).streamEvents(this.metadata);
    this.call = call;
    this.blocked = false;
    call.on('data', (resp: StreamEventsResponse) => {
      this.onResponse(resp);
    });
    call.on('error', (err: Error) => {
      this.onBroken(call, err);
    });
    call.on('end', () => {
      // The server ending the stream while batches are unanswered is a failure like any other.
      if (this.inFlight.size > 0)
        this.onBroken(call, Object.assign(new Error('stream ended early'), { code: 14 }));
    });
  }

  private onResponse(resp: StreamEventsResponse): void {
    const batch = this.inFlight.get(resp.batchId);
    if (batch === undefined) return;
    this.inFlight.delete(resp.batchId);
    this.attempt = 0;
    for (const r of resp.results) {
      if (r.status === EventStatus.ACCEPTED) {
        this.stats.accepted++;
        this.stats.ledger?.accepted.add(r.eventId);
      } else if (r.status === EventStatus.DUPLICATE) {
        this.stats.duplicate++;
        this.stats.ledger?.duplicate.add(r.eventId);
      } else {
        this.stats.rejected++;
        if (this.stats.rejections.length < MAX_REJECTIONS_KEPT) {
          this.stats.rejections.push(`${r.eventId} ${r.field}: ${r.reason}`);
        }
      }
    }
    this.notify();
  }

  private onBroken(call: Duplex, err: Error): void {
    if (call !== this.call) return;
    this.call = undefined;
    call.removeAllListeners('data');
    // Unanswered batches go back to the front, in their original order, to be re-sent as they were.
    const unanswered = [...this.inFlight.values()];
    this.inFlight.clear();
    this.queue.unshift(...unanswered);
    this.stats.batchRetries += unanswered.length;
    this.attempt++;
    if (!isRetryable(err) || this.attempt > (this.opts.maxAttempts ?? 20)) {
      this.fail(new Error(`${this.opts.name}: stream failed (code ${grpcCode(err) ?? '?'}): ${err.message}`));
      return;
    }
    const delay = backoffDelay(this.opts.backoff ?? DEFAULT_BACKOFF, this.attempt, this.opts.random);
    this.log.warn(
      { code: grpcCode(err), attempt: this.attempt, delay, unanswered: unanswered.length },
      'ingest stream broken, retrying',
    );
    this.reconnecting = true;
    void sleep(delay).then(() => {
      this.reconnecting = false;
      this.stats.streamReconnects++;
      this.pump();
    });
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.call?.cancel();
    this.notify();
  }

  private notify(): void {
    const w = [...this.wakers];
    this.wakers.clear();
    for (const wake of w) wake();
  }

  private async until(cond: () => boolean): Promise<void> {
    for (;;) {
      if (this.failure !== undefined) throw this.failure;
      if (cond()) return;
      await new Promise<void>((resolve) => this.wakers.add(resolve));
    }
  }
}
