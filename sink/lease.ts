// A lease per stream in a NATS KV bucket, so that of several sinks on the same durable consumer only one
// writes a stream's rows at a time: the others stand by and take over when the holder stops renewing.
//
// Why: the sink's duplicate check (look up the keys in sink_keys, then INSERT) is not atomic. Two sinks that
// both hold a copy of the same record (a redelivery after ack_wait, or the same event id in two messages) can
// both find the key absent and both insert it. One writer per stream removes that race; the key check and the
// insert token stay as the defence for the hand-over (a batch the old holder wrote but did not ack).
//
// How: the bucket's TTL (max_age, enforced by the server's clock alone) is the lease length. Taking it is a
// write against the revision of no live entry (succeeds only when none exists), renewing a write against the
// revision we wrote (fails when the entry expired or another sink took it), releasing a delete marker against
// our revision; each is guarded (core/nats/cas.ts), so two sinks never both win one revision. The
// holder renews every ttl/3 and considers itself the holder only until ttl minus a margin after the last
// renewal it SENT (so before the server could expire it), and the sink checks that before every INSERT.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { JetStreamClient } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { errorMessage } from '../core/errors.js';
import { isWrongRevision, kvWriteGuarded } from '../core/nats/cas.js';
import type { Logger } from '../core/logger.js';
import { whilePlacing } from '../core/nats/placement.js';

export const BUCKET_SINK_LEASES = 'ps_sink_leases';

/** Opens (or creates) the lease bucket; its TTL is set when it is created and is the lease length. */
export async function openLeaseBucket(js: JetStreamClient, ttlMs: number, replicas = 1): Promise<KV> {
  return whilePlacing(() => new Kvm(js).create(BUCKET_SINK_LEASES, { history: 1, ttl: ttlMs, replicas }));
}

/** A name for this sink instance, shown as the lease's value (host, pid and a random suffix). */
export function holderId(): string {
  return `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
}

export interface LeaseOptions {
  kv: KV;
  /** One key per stream and consumer, e.g. "clickhouse-sink.PS_EVENTS". */
  key: string;
  holder: string;
  ttlMs: number;
  log: Logger;
  /** Called when this instance became the holder; starts consuming. */
  onAcquired(): Promise<void>;
  /** Called when the lease was lost (not renewed in time, or taken); stops consuming and writing. */
  onLost(): Promise<void>;
}

export class StreamLease {
  private revision = 0;
  private renewedAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly o: LeaseOptions) {}

  /** Tries to take the lease at once (a lone sink starts without delay), then keeps trying or renewing. */
  async start(): Promise<void> {
    await this.tick();
    const every = Math.max(50, Math.floor(this.o.ttlMs / 3));
    this.timer = setInterval(() => {
      this.ticking = this.ticking
        .then(() => this.tick())
        .catch((err: unknown) => {
          // E.g. closing the consumer timed out while NATS is away: the next tick tries again.
          this.o.log.warn({ key: this.o.key, err: errorMessage(err) }, 'lease tick failed');
        });
    }, every);
  }

  get held(): boolean {
    return this.revision > 0;
  }

  /**
   * Whether this instance may write now: it holds the lease and its last renewal is recent enough that the
   * server cannot have expired it yet. Called before every INSERT.
   */
  valid(): boolean {
    return this.validFor(0);
  }

  /**
   * Whether the lease stays valid for at least ms more (before the server could expire it). An INSERT starts
   * only with a third of the TTL left, so one in flight when its sink dies or loses NATS has that long (plus
   * the margin) to finish before another sink can hold the lease and check the same keys.
   */
  validFor(ms: number): boolean {
    return this.held && Date.now() + ms < this.renewedAt + this.o.ttlMs - this.margin();
  }

  /** The time an INSERT needs left on the lease before it starts (see validFor). */
  get insertReserveMs(): number {
    return Math.floor(this.o.ttlMs / 3);
  }

  /** Stops renewing and hands the lease on at once (the next sink need not wait for the TTL). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.ticking;
    if (!this.held) return;
    const revision = this.revision;
    this.revision = 0;
    try {
      await kvWriteGuarded(this.o.kv, this.o.key, new Uint8Array(0), revision, 'DEL');
    } catch (err) {
      // Already expired or taken: nothing to hand on.
      this.o.log.debug({ key: this.o.key, err: errorMessage(err) }, 'lease release skipped');
    }
  }

  private margin(): number {
    return Math.min(1000, Math.floor(this.o.ttlMs / 5));
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const { kv, key, holder, log } = this.o;
    const sentAt = Date.now();
    const value = new TextEncoder().encode(holder);
    if (this.held) {
      if (!this.valid()) {
        // Renewals failed for too long (NATS away): the lease may have expired and been taken.
        await this.lose('lease not renewed in time');
        return;
      }
      try {
        this.revision = await kvWriteGuarded(kv, key, value, this.revision);
        this.renewedAt = sentAt;
      } catch (err) {
        // A wrong-revision answer means it expired or another sink holds it; a timeout means we cannot tell,
        // so keep writing only while valid() says the lease cannot have expired.
        if (isWrongRevision(err)) await this.lose('lease taken over');
        else log.warn({ key, err: errorMessage(err) }, 'lease renewal failed; retrying');
      }
      return;
    }
    try {
      // Free: never written, expired (the bucket's max age), or handed on (a delete marker, whose revision the
      // write replaces). Every write is guarded (core/nats/cas.ts), so two sinks cannot both take it.
      const e = await kv.get(key);
      if (e !== null && e.operation === 'PUT') return;
      this.revision = await kvWriteGuarded(kv, key, value, e?.revision ?? 0);
      this.renewedAt = sentAt;
    } catch (err) {
      if (!isWrongRevision(err)) log.warn({ key, err: errorMessage(err) }, 'lease acquisition failed');
      return;
    }
    log.info({ key, holder }, 'sink lease acquired');
    try {
      await this.o.onAcquired();
    } catch (err) {
      log.error({ key, err: errorMessage(err) }, 'starting to consume failed; releasing the lease');
      await this.lose('start failed');
    }
  }

  private async lose(why: string): Promise<void> {
    this.revision = 0;
    this.o.log.warn({ key: this.o.key, why }, 'sink lease lost; standing by');
    await this.o.onLost();
  }
}
