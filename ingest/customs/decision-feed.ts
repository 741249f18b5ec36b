// One reader of PS_DECISIONS per gateway, shared by every call waiting for a decision. Before, each waiting call
// subscribed to its declaration's subject and, once the decision came, asked the stream for its position: a
// subscription set up and torn down on the server and one more request per declaration. The feed is an ordered
// consumer that starts just after the stream's last message when the first call waits, so every decision
// stored from then on reaches it once, in order, with its stream position; it resumes from the last position
// it saw when its consumer is lost. A waiter registers before its command is published, and before the state
// read that covers decisions made earlier, so no decision can slip between the two.
import {
  DeliverPolicy,
  type Consumer,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { nuid, type NatsConnection } from '@nats-io/nats-core';
import type { Logger } from '../../core/logger.js';
import { STREAM_DECISIONS, subjects } from '../../core/nats/topology.js';
import { Decision } from '../../proto/gen/portstream/v1/customs.js';

/** Decisions the feed's consumer buffers ahead of the gateway. */
const FEED_BUFFER = 512;
/** Names of the feed's consumers start with this, so operators (and tests) can tell them from watchers'. */
export const FEED_CONSUMER_PREFIX = 'decision_feed_';
/**
 * Each pull lasts this long; the server sends idle heartbeats at half of it, and a consumer lost under the
 * feed (deleted, or its server gone) shows as missed heartbeats, after which the ordered consumer starts
 * over from the last position seen. With the client's default of 30 s a lost consumer stalled the feed for
 * longer than any caller waits.
 */
export const PULL_EXPIRES_MS = 4000;
/** Pause before re-creating a lost consumer. */
const RETRY_MS = 500;

export interface DecisionWaiter {
  /**
   * The first decision on the declaration with index `minIndex` or above (its place among the declaration's
   * decisions, from the message id `<declaration>:<index>`) that the feed delivered since the waiter was
   * registered, or the next one; undefined after `waitMs`.
   */
  next(minIndex: number, waitMs: number): Promise<Decision | undefined>;
  /** Stops listening; pending next() calls resolve undefined. */
  close(): void;
}

interface Entry {
  /** Decisions delivered since registration, with their index. */
  seen: { index: number; decision: Decision }[];
  wake: (() => void) | undefined;
}

export class DecisionFeed {
  private readonly waiters = new Map<string, Set<Entry>>();
  private messages: ConsumerMessages | undefined;
  private consumer: Consumer | undefined;
  private stopped = false;
  private lastSeq = 0;
  private started: Promise<void> | undefined;
  private loop: Promise<void> = Promise.resolve();

  constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly log: Logger,
  ) {}

  /**
   * Resolves once decisions stored from now on are certain to reach the feed: the first call finds where the
   * stream ends and starts reading there. A failed start (NATS away) rejects, and the next call tries again.
   */
  ready(): Promise<void> {
    this.started ??= (async () => {
      const info = await this.jsm.streams.info(STREAM_DECISIONS);
      this.lastSeq = info.state.last_seq;
      this.loop = this.run();
    })().catch((err: unknown) => {
      this.started = undefined;
      throw err;
    });
    return this.started;
  }

  private live(): boolean {
    return !this.stopped && !this.nc.isClosed();
  }

  private async run(): Promise<void> {
    while (this.live()) {
      try {
        const consumer = await this.js.consumers.get(STREAM_DECISIONS, {
          name_prefix: `${FEED_CONSUMER_PREFIX}${nuid.next()}`,
          filter_subjects: subjects.allDecisions,
          deliver_policy: DeliverPolicy.StartSequence,
          opt_start_seq: this.lastSeq + 1,
        });
        if (!this.live()) return;
        this.consumer = consumer;
        this.messages = await consumer.consume({ max_messages: FEED_BUFFER, expires: PULL_EXPIRES_MS });
        for await (const m of this.messages) {
          this.lastSeq = m.seq;
          const n = m.subject.slice(m.subject.lastIndexOf('.') + 1);
          const entries = this.waiters.get(n);
          if (entries === undefined) continue;
          let decision: Decision;
          try {
            decision = Decision.decode(m.data);
          } catch (err) {
            this.log.warn({ err, seq: m.seq }, 'undecodable decision skipped');
            continue;
          }
          decision.position = m.seq;
          const index = indexOf(m.headers?.get('Nats-Msg-Id') ?? '');
          for (const e of entries) {
            e.seen.push({ index, decision });
            e.wake?.();
          }
        }
      } catch (err) {
        if (this.live()) this.log.warn({ err }, 'decision feed interrupted; resuming');
      }
      if (this.live()) await new Promise((r) => setTimeout(r, RETRY_MS).unref());
    }
  }

  /** Registers interest in the declaration's decisions; close() the waiter when done. */
  watch(n: string): DecisionWaiter {
    const entry: Entry = { seen: [], wake: undefined };
    let set = this.waiters.get(n);
    if (set === undefined) {
      set = new Set();
      this.waiters.set(n, set);
    }
    set.add(entry);
    const close = (): void => {
      const s = this.waiters.get(n);
      s?.delete(entry);
      if (s?.size === 0) this.waiters.delete(n);
      entry.wake?.();
    };
    let closed = false;
    return {
      next: async (minIndex, waitMs) => {
        const found = (): Decision | undefined => entry.seen.find((s) => s.index >= minIndex)?.decision;
        const deadline = Date.now() + waitMs;
        for (;;) {
          const d = found();
          if (d !== undefined || closed) return d;
          const left = deadline - Date.now();
          if (left <= 0) return undefined;
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, left);
            entry.wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          entry.wake = undefined;
        }
      },
      close: () => {
        closed = true;
        close();
      },
    };
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.messages?.close();
    await this.loop;
    // An ordered consumer outlives its reader by its inactivity threshold; remove it now.
    if (!this.nc.isClosed()) await this.consumer?.delete().catch(() => false);
  }
}

/** The decision's index from its message id `<declaration>:<index>`; 0 when absent (the first decision). */
function indexOf(msgId: string): number {
  const i = Number(msgId.slice(msgId.lastIndexOf(':') + 1));
  return Number.isInteger(i) && i >= 0 ? i : 0;
}
