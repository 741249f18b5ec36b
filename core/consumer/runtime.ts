// The one runtime for long-lived durable pull consumers. A service plugs in how a message is decoded and how a
// batch is handled; the runtime owns the rest:
//   - pulling with bounded memory: at most maxHeld messages pulled and not yet settled, and while a full batch
//     waits behind one being handled nothing more is taken (so a slow handler is backpressure, not a buffer);
//   - batching: up to maxMessages (and maxWeight, e.g. rows), waiting up to lingerMs for a batch to fill; or,
//     with keyOf, one message at a time, up to `concurrency` at once, in order per key;
//   - keeping what it holds alive: working() for every message held longer than a third of ack_wait, so a
//     short ack_wait is safe for slow work and a killed process's messages come back within ack_wait;
//   - the failure policy, from the error's type (errors.ts): retryable -> nak with a growing delay (the
//     consumer's retryDelayMs, 200 ms doubling to 5 s unless it brings its own, or the error's retryAfterMs), permanent ->
//     a dead-letter record (dead-letter.ts) and term, retryable on the last allowed delivery -> dead letter
//     too (never a message the server silently stops delivering); undecodable -> permanent;
//   - metrics per consumer (metrics.ts) and an explicit stop(): stop pulling, then handle what is held (or
//     release it, for a sink that lost its lease), with a deadline the handler can see;
//   - never a silent stall of the pull: a pull that stopped bringing messages while there are some to bring is
//     replaced (see the watchdog below), counted in portstream_consumer_pull_restarts_total.
import type { ConsumerMessages, ConsumeOptions, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';
import { deadLetter, type DeadLetterCause } from './dead-letter.js';
import type { DurableSpec } from './durable.js';
import { ConsumerError } from './errors.js';
import type { ConsumerMetrics } from './metrics.js';

export interface Item<T> {
  msg: JsMsg;
  value: T;
}

export interface BatchContext {
  /** stop() was called: finish or give up, do not start long waits. */
  readonly stopping: boolean;
  /** When a stopping handler should give up (Infinity while running). */
  readonly giveUpAt: number;
  /** Waits ms, or less when stop() is called meanwhile. */
  pause(ms: number): Promise<void>;
}

export interface BatchOutcome {
  /** Messages that failed and why (classified with ConsumerError.from); the rest of the batch is acked. */
  failed?: ReadonlyMap<JsMsg, unknown>;
  /** Leave these (or all) unsettled: JetStream delivers them again after ack_wait. */
  released?: readonly JsMsg[] | 'all';
}

/** Handles a batch; resolving with nothing acks it all, a rejection fails it all. */
export type BatchHandler<T> = (batch: readonly Item<T>[], ctx: BatchContext) => Promise<unknown>;

export interface ConsumerOptions<T> {
  js: JetStreamClient;
  /** The durable (ensured beforehand with ensureDurable). */
  spec: DurableSpec;
  log: Logger;
  metrics: ConsumerMetrics;
  /** A message as the handler takes it; a throw is a permanent failure (dead letter). */
  decode: (msg: JsMsg) => T;
  /** Resolves with a BatchOutcome, or with anything else (nothing) when the whole batch is done. */
  handle: BatchHandler<T>;
  /** Messages per batch (default 64). */
  maxMessages?: number;
  /** Weight per batch (default: unbounded) and each item's weight (default 1). */
  maxWeight?: number;
  weigh?: (value: T) => number;
  /** How long the first message of a batch waits for more (default 0: take what is waiting). */
  lingerMs?: number;
  /** Most messages pulled and unsettled at once (default 4 x maxMessages). */
  maxHeld?: number;
  /** Pull by bytes instead of messages: at most this many bytes per pull (default: half maxHeld messages). */
  pullMaxBytes?: number;
  /** Handle one message at a time, in order per key, up to `concurrency` at once (default 1). */
  keyOf?: (item: Item<T>) => string;
  concurrency?: number;
  /** Renew held messages only while this holds (a sink renews only while it holds its lease). */
  mayHold?: () => boolean;
  /**
   * The nak delay of a retryable failure on the nth delivery (default retryDelayMs below). A consumer whose
   * retries wait on something outside (a webhook endpoint) brings its own backoff; an error's retryAfterMs
   * overrides both.
   */
  retryDelayMs?: (deliveryCount: number) => number;
}

export interface ConsumerHandle {
  /** Messages pulled and not yet settled. */
  held(): number;
  /**
   * Stops pulling. Then handles everything already pulled (release: false, the default), giving the handler
   * timeoutMs to finish; or (release: true) waits for the batch being handled and leaves the rest unsettled.
   */
  stop(opts?: { timeoutMs?: number; release?: boolean }): Promise<void>;
}

interface Held<T> extends Item<T> {
  arrivedAt: number;
  /** Last time the server heard of it: delivery or working(). */
  renewedAt: number;
}

/** A one-shot wake-up that can be re-armed; wait() also ends after an optional timeout. */
class Signal {
  private waiters: (() => void)[] = [];
  notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }
  wait(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      let t: NodeJS.Timeout | undefined;
      const done = (): void => {
        if (t) clearTimeout(t);
        resolve();
      };
      this.waiters.push(done);
      if (ms !== undefined) t = setTimeout(done, Math.max(0, ms));
    });
  }
}

/**
 * How long after a byte-bounded pull was cut short (409 "Message Size Exceeds MaxBytes") with nothing arriving
 * the pull is replaced. The client (nats.js 3.3/3.4) pulls again after such a 409 only when it still has
 * messages buffered; with none it waits for two missed idle heartbeats, 30 s by default. That is the sink stall
 * of issue 16: its refills ask for the bytes just consumed, so the pulls outstanding are small slices of the
 * budget, and one event group larger than each slice ends them all.
 */
export const PULL_CUT_GRACE_MS = 500;
/** How long nothing may arrive, with room to take it, before the server is asked whether messages wait. */
export const PULL_IDLE_CHECK_MS = 3_000;

/** Delay of the nth redelivery: 200 ms doubling to 5 s. */
export function retryDelayMs(deliveryCount: number): number {
  return Math.min(5000, 100 * 2 ** Math.min(deliveryCount, 6));
}

export async function startConsumer<T>(o: ConsumerOptions<T>): Promise<ConsumerHandle> {
  const { spec, metrics } = o;
  const labels = { stream: spec.stream, consumer: spec.durable };
  const log = o.log.child({ stream: spec.stream, consumer: spec.durable });
  const maxMessages = o.maxMessages ?? 64;
  const maxWeight = o.maxWeight ?? Infinity;
  const weigh = o.weigh ?? (() => 1);
  const lingerMs = o.lingerMs ?? 0;
  const maxHeld = Math.max(o.maxHeld ?? maxMessages * 4, maxMessages);
  const concurrency = o.keyOf ? Math.max(1, o.concurrency ?? 1) : 1;
  const retryDelay = o.retryDelayMs ?? retryDelayMs;

  const queue: Held<T>[] = [];
  let queuedWeight = 0;
  const active = new Set<Held<T>>();
  let busy = 0;
  const arrived = new Signal();
  const room = new Signal();
  const stopSignal = new Signal();
  const state = { pumpDone: false, stopping: false, release: false, giveUpAt: Infinity };

  const stopRequested = (): boolean => state.stopping;
  const held = (): number => queue.length + active.size;
  const queueFull = (): boolean => queue.length >= maxMessages || queuedWeight >= maxWeight;
  const hasRoom = (): boolean => held() < maxHeld && !(busy > 0 && queueFull());

  const consumer = await o.js.consumers.get(spec.stream, spec.durable);
  // Half the bound per pull: what the client buffers plus what is held stays within about 1.5 x maxHeld.
  const pullMessages = Math.max(1, Math.floor(Math.min(maxHeld, 2000) / 2));
  const pullOptions: ConsumeOptions =
    o.pullMaxBytes === undefined ? { max_messages: pullMessages } : { max_bytes: o.pullMaxBytes };
  /** The pull's progress, for the watchdog. */
  const pull = {
    /** The pump waits for the next message (it has room): a pull that brings nothing is a stall. */
    waiting: false,
    lastArrival: Date.now(),
    /** When a byte-bounded pull was last cut short by a message larger than its budget (0: not since). */
    cutAt: 0,
    lastCheck: Date.now(),
    checking: false,
    restarting: false,
  };
  const open = async (): Promise<ConsumerMessages> => {
    const m = await consumer.consume({ ...pullOptions });
    void (async () => {
      for await (const s of m.status()) {
        if (s.type === 'exceeded_limits' && /maxbytes/i.test(s.description)) pull.cutAt = Date.now();
      }
    })().catch(() => undefined);
    return m;
  };
  let messages = await open();

  const ctx: BatchContext = {
    get stopping() {
      return state.stopping;
    },
    get giveUpAt() {
      return state.giveUpAt;
    },
    pause: (ms) => (state.stopping ? Promise.resolve() : stopSignal.wait(ms)),
  };

  /** Dead-letters the message and terminates it; naks it if even the record cannot be stored. */
  const giveUp = async (msg: JsMsg, reason: string, cause: DeadLetterCause): Promise<void> => {
    for (let attempt = 1; ; attempt++) {
      try {
        await deadLetter(o.js, spec.stream, msg, reason, cause);
        // No reason argument: with one (`+TERM reason`) nats-server 2.9 left the message pending.
        msg.term();
        metrics.deadLetters.inc({ ...labels, cause });
        metrics.messages.inc({ ...labels, outcome: 'dead_letter' });
        log.error(
          { seq: msg.seq, deliveries: msg.info.deliveryCount, cause, reason },
          'message dead-lettered',
        );
        return;
      } catch (err) {
        if (attempt < 3 && !state.stopping) {
          await ctx.pause(200 * attempt);
          continue;
        }
        // On its last allowed delivery this nak ends its deliveries: the server's max-deliveries advisory
        // names it. Otherwise it comes back and is dead-lettered then.
        log.error({ seq: msg.seq, err: errorMessage(err) }, 'dead-letter record not stored; message nakked');
        msg.nak(retryDelay(msg.info.deliveryCount));
        metrics.messages.inc({ ...labels, outcome: 'retry' });
        return;
      }
    }
  };

  const fail = async (msg: JsMsg, err: unknown): Promise<void> => {
    const e = ConsumerError.from(err);
    if (!e.retryable) {
      await giveUp(msg, e.message, 'permanent');
      return;
    }
    const deliveries = msg.info.deliveryCount;
    if (spec.maxDeliver > 0 && deliveries >= spec.maxDeliver) {
      await giveUp(msg, `failed ${deliveries} times, last: ${e.message}`, 'exhausted');
      return;
    }
    const delayMs = e.retryAfterMs ?? retryDelay(deliveries);
    log.warn({ seq: msg.seq, deliveries, delayMs, err: e.message }, 'message failed, retrying');
    msg.nak(delayMs);
    metrics.messages.inc({ ...labels, outcome: 'retry' });
  };

  const settle = async (batch: Held<T>[], outcome: BatchOutcome | undefined): Promise<void> => {
    const released =
      outcome?.released === 'all'
        ? new Set(batch.map((i) => i.msg))
        : new Set<JsMsg>(outcome?.released ?? []);
    for (const item of batch) {
      const { msg } = item;
      if (released.has(msg)) {
        metrics.messages.inc({ ...labels, outcome: 'released' });
      } else if (outcome?.failed?.has(msg) === true) {
        await fail(msg, outcome.failed.get(msg));
      } else {
        msg.ack();
        metrics.messages.inc({ ...labels, outcome: 'ack' });
      }
    }
  };

  const run = async (batch: Held<T>[]): Promise<void> => {
    for (const i of batch) active.add(i);
    busy++;
    const end = metrics.handlerSeconds.startTimer(labels);
    let outcome: BatchOutcome | undefined;
    try {
      const r = await o.handle(batch, ctx);
      outcome = typeof r === 'object' && r !== null ? r : undefined;
    } catch (err) {
      outcome = { failed: new Map(batch.map((i) => [i.msg, err])) };
    }
    end();
    try {
      await settle(batch, outcome);
    } finally {
      for (const i of batch) active.delete(i);
      busy--;
      metrics.held.set(labels, held());
      room.notify();
    }
  };

  const pump = (async () => {
    try {
      for (;;) {
        pull.waiting = true;
        for await (const msg of messages) {
          pull.waiting = false;
          pull.lastArrival = Date.now();
          if (msg.info.deliveryCount > 1) metrics.redeliveries.inc(labels);
          let value: T;
          try {
            value = o.decode(msg);
          } catch (err) {
            await giveUp(msg, `undecodable: ${errorMessage(err)}`, 'permanent');
            pull.waiting = true;
            continue;
          }
          const now = Date.now();
          queue.push({ msg, value, arrivedAt: now, renewedAt: now });
          queuedWeight += weigh(value);
          metrics.held.set(labels, held());
          arrived.notify();
          while (!hasRoom() && !state.stopping) await room.wait();
          pull.waiting = true;
        }
        pull.waiting = false;
        if (state.stopping || !pull.restarting) break;
        // The watchdog closed a stalled pull: open a fresh one (a new inbox; anything still addressed to the
        // old one is not lost, only redelivered after ack_wait).
        messages = await open();
        pull.restarting = false;
        pull.lastArrival = Date.now();
        pull.lastCheck = pull.lastArrival;
        // stop() may have come while it opened, and closed the old one only.
        if (stopRequested()) await messages.close();
      }
    } catch (err) {
      log.error({ err: errorMessage(err) }, 'consumer stopped pulling');
    } finally {
      state.pumpDone = true;
      arrived.notify();
    }
  })();

  const take = (): Held<T>[] => {
    const batch: Held<T>[] = [];
    let w = 0;
    while (queue.length > 0 && batch.length < maxMessages && w < maxWeight) {
      const item = queue.shift() as Held<T>;
      const iw = weigh(item.value);
      w += iw;
      queuedWeight -= iw;
      batch.push(item);
    }
    room.notify();
    return batch;
  };

  const releaseQueued = (): void => {
    if (queue.length > 0) metrics.messages.inc({ ...labels, outcome: 'released' }, queue.length);
    queue.length = 0;
    queuedWeight = 0;
    room.notify();
  };

  /** Batches, one after another. */
  const serial = async (): Promise<void> => {
    for (;;) {
      if (state.release) {
        releaseQueued();
        return;
      }
      if (queue.length === 0) {
        if (state.pumpDone) return;
        await arrived.wait();
        continue;
      }
      if (lingerMs > 0 && !queueFull() && !state.stopping && !state.pumpDone) {
        const waited = Date.now() - (queue[0]?.arrivedAt ?? 0);
        if (waited < lingerMs) {
          await Promise.race([arrived.wait(lingerMs - waited), stopSignal.wait()]);
          continue;
        }
      }
      await run(take());
    }
  };

  /** One message at a time, in order per key, up to `concurrency` running. */
  const keyed = async (keyOf: (item: Item<T>) => string): Promise<void> => {
    const tails = new Map<string, Promise<void>>();
    const slots = new Signal();
    let running = 0;
    for (;;) {
      if (state.release) releaseQueued();
      if (queue.length === 0) {
        if (state.pumpDone || state.release) break;
        await arrived.wait();
        continue;
      }
      const item = queue.shift() as Held<T>;
      queuedWeight -= weigh(item.value);
      active.add(item);
      const key = keyOf(item);
      const next = (tails.get(key) ?? Promise.resolve()).then(async () => {
        while (running >= concurrency) await slots.wait();
        running++;
        try {
          active.delete(item);
          if (state.release) {
            metrics.messages.inc({ ...labels, outcome: 'released' });
            return;
          }
          await run([item]);
        } finally {
          running--;
          slots.notify();
        }
      });
      tails.set(key, next);
      void next.finally(() => {
        if (tails.get(key) === next) tails.delete(key);
      });
      while (!hasRoom() && !state.release) await room.wait(100);
    }
    await Promise.all([...tails.values()]);
  };

  const keyOf = o.keyOf;
  const dispatcher = keyOf ? keyed(keyOf) : serial();

  // Renew what has been held a third of ack_wait, so slow work (a store away, a long batch) is not
  // delivered again meanwhile; stop renewing when told to (a lost lease), so the messages move on.
  const every = Math.max(50, Math.floor(spec.ackWaitMs / 3));
  const beat = setInterval(() => {
    if (o.mayHold && !o.mayHold()) return;
    const now = Date.now();
    for (const list of [queue, active]) {
      for (const item of list) {
        if (now - item.renewedAt >= every) {
          item.msg.working();
          item.renewedAt = now;
        }
      }
    }
    metrics.held.set(labels, held());
  }, every);
  beat.unref();

  /** Replaces the pull: the pump sees the current one end and opens another. */
  const restartPull = (reason: 'cut_short' | 'idle', detail: Record<string, unknown>): void => {
    if (pull.restarting || state.stopping) return;
    pull.restarting = true;
    pull.cutAt = 0;
    metrics.pullRestarts.inc({ ...labels, reason });
    log.warn({ reason, ...detail }, 'pull stalled; pulling again');
    void messages.close().catch(() => undefined);
  };

  // The watchdog: a pull that ends without the client pulling again (the max-bytes case above, or any other
  // path that leaves no pull outstanding) is replaced within PULL_CUT_GRACE_MS of the cut, or, whatever the
  // cause, within PULL_IDLE_CHECK_MS once the server says messages are waiting that this process has room for.
  const watch = setInterval(
    () => {
      if (state.stopping || pull.restarting || !pull.waiting || !hasRoom()) return;
      const now = Date.now();
      if (pull.cutAt > pull.lastArrival && now - pull.cutAt >= PULL_CUT_GRACE_MS) {
        restartPull('cut_short', { quietMs: now - pull.lastArrival });
        return;
      }
      const quietSince = Math.max(pull.lastArrival, pull.lastCheck);
      if (pull.checking || now - quietSince < PULL_IDLE_CHECK_MS) return;
      pull.checking = true;
      pull.lastCheck = now;
      const arrivalBefore = pull.lastArrival;
      consumer
        .info()
        .then((ci) => {
          const waiting = ci.num_pending > 0;
          const allowed = ci.config.max_ack_pending ?? -1;
          const blocked = allowed > 0 && ci.num_ack_pending >= allowed;
          if (waiting && !blocked && pull.waiting && pull.lastArrival === arrivalBefore) {
            restartPull('idle', { quietMs: Date.now() - arrivalBefore, pending: ci.num_pending });
          }
        })
        .catch((err: unknown) => {
          log.debug({ err: errorMessage(err) }, 'consumer info for the pull watchdog failed');
        })
        .finally(() => {
          pull.checking = false;
        });
    },
    Math.min(250, PULL_CUT_GRACE_MS),
  );
  watch.unref();

  return {
    held,
    async stop(opts = {}) {
      state.stopping = true;
      state.giveUpAt = Date.now() + (opts.timeoutMs ?? Infinity);
      if (opts.release === true) state.release = true;
      stopSignal.notify();
      room.notify();
      arrived.notify();
      clearInterval(watch);
      await messages.close();
      await pump;
      await dispatcher;
      clearInterval(beat);
      metrics.held.set(labels, held());
    },
  };
}
