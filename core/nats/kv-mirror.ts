// A KV bucket held in memory and kept current by a watch, for small buckets read on a hot path (the enterprise
// register the customs rules read on every submission). A read answered from memory costs no round trip; the
// price is that a change made elsewhere reaches this process a moment after it is stored (the time the watch
// takes to deliver it, milliseconds on a healthy connection), so a reader may decide on the value of a moment
// ago, as it would have had it read just before the change.
//
// Until the watch has delivered every value that was in the bucket when it started, and whenever the watch
// has ended, reads go to the bucket itself: memory is used only while it is known to be complete. A watch can
// also stop delivering without ending (the client's ordered consumer retries for ever when the bucket's stream
// is gone), so the mirror checks the stream's last sequence every few seconds: a message the watch has not
// delivered by the next check, or a stream that was re-created, sends reads back to the bucket and the watch
// starts over.
import { KvWatchInclude, type KV, type KvEntry } from '@nats-io/kv';
import { errorMessage } from '../errors.js';
import type { Logger } from '../logger.js';

export type MirrorEntry = Pick<KvEntry, 'value' | 'revision' | 'operation'>;

/** Longest wait before a watch that ended is started again. */
const RESTART_MAX_MS = 5000;
/** How often the stream's last sequence is compared with what the watch delivered. */
const CHECK_EVERY_MS = 5000;

export class KvMirror {
  private readonly entries = new Map<string, MirrorEntry>();
  private complete = false;
  private stopped = false;
  private stopWatch: (() => void) | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private readonly waiting = new Set<() => void>();
  /** Highest revision applied to memory. */
  private highest = 0;
  private readonly reaching = new Set<{ revision: number; done: () => void }>();
  private checkTimer: NodeJS.Timeout | undefined;
  /** The stream's creation time when the watch started: a re-created stream starts its sequences over. */
  private streamCreated = '';
  /** The last sequence the previous check saw beyond what the watch had delivered. */
  private behind = 0;

  constructor(
    private readonly kv: KV,
    /** The bucket's name, for logs and errors. */
    private readonly bucket: string,
    private readonly log: Logger,
    private readonly checkEveryMs = CHECK_EVERY_MS,
  ) {}

  /** Starts the watch; reads are answered (from the bucket) at once, from memory once it has caught up. */
  start(): void {
    void this.follow();
    this.checkTimer = setInterval(() => void this.check(), this.checkEveryMs);
    this.checkTimer.unref();
  }

  /** Whether reads are answered from memory. */
  get current(): boolean {
    return this.complete;
  }

  /** Resolves once reads are answered from memory (for start-up and tests); rejects after `timeoutMs`. */
  async caughtUp(timeoutMs: number): Promise<void> {
    if (this.complete) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(done);
        reject(new Error(`KV mirror of ${this.bucket}: not caught up within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        resolve();
      };
      this.waiting.add(done);
    });
  }

  /**
   * Resolves once memory holds revision `revision` of the bucket or a later one (at once when reads go to the
   * bucket), so a caller that just wrote reads its write from here; after `timeoutMs` it resolves anyway and
   * says false.
   */
  async reached(revision: number, timeoutMs: number): Promise<boolean> {
    if (!this.complete || this.highest >= revision) return true;
    return new Promise<boolean>((resolve) => {
      const w = {
        revision,
        done: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        this.reaching.delete(w);
        resolve(false);
      }, timeoutMs);
      this.reaching.add(w);
    });
  }

  async get(key: string): Promise<MirrorEntry | null> {
    if (this.complete) return this.entries.get(key) ?? null;
    return this.kv.get(key);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.restartTimer);
    clearInterval(this.checkTimer);
    this.stopWatch?.();
  }

  private async follow(): Promise<void> {
    this.complete = false;
    this.entries.clear();
    this.highest = 0;
    try {
      // The last message when the watch starts: the watch has delivered every value the bucket held then once
      // it has delivered that message (the last message of the stream is the last value of its key).
      const info = (await this.kv.status()).streamInfo;
      const last = info.state.last_seq;
      this.streamCreated = info.created;
      this.behind = 0;
      const watch = await this.kv.watch({ include: KvWatchInclude.LastValue });
      this.stopWatch = () => {
        watch.stop();
      };
      if (last === 0) this.caughtUpNow();
      for await (const e of watch) {
        // A watched value may be a view into a larger buffer of the connection: keep a copy of just the value.
        this.entries.set(e.key, { value: e.value.slice(), revision: e.revision, operation: e.operation });
        this.highest = Math.max(this.highest, e.revision);
        if (!this.current && e.revision >= last) this.caughtUpNow();
        if (this.reaching.size > 0) this.wake();
      }
    } catch (err) {
      this.log.warn({ bucket: this.bucket, err: errorMessage(err) }, 'KV mirror watch failed');
    }
    this.complete = false;
    // Reads go to the bucket now: whoever waits for a revision may go ahead.
    this.wake();
    if (this.stopped) return;
    // The watch ended (the connection closed, the bucket went away): read the bucket meanwhile, and follow again.
    this.failures += 1;
    const delay = Math.min(RESTART_MAX_MS, 100 * 2 ** Math.min(this.failures, 6));
    this.log.warn({ bucket: this.bucket, retryInMs: delay }, 'KV mirror watch ended; reading the bucket');
    this.restartTimer = setTimeout(() => void this.follow(), delay);
  }

  /** Whether the watch still delivers what the stream holds; if not, reads go to the bucket and it starts over. */
  private async check(): Promise<void> {
    if (!this.complete || this.stopped) return;
    let reason: string | undefined;
    try {
      const info = (await this.kv.status()).streamInfo;
      const last = info.state.last_seq;
      if (info.created !== this.streamCreated || last < this.highest) reason = 'the stream was re-created';
      else if (this.behind > 0 && this.highest < this.behind)
        reason = `sequence ${this.behind} not delivered`;
      else this.behind = last > this.highest ? last : 0;
    } catch (err) {
      reason = `the stream cannot be read: ${errorMessage(err)}`;
    }
    // The watch may have ended meanwhile (reads went to the bucket already).
    if (reason === undefined || !this.current) return;
    this.log.warn({ bucket: this.bucket, reason }, 'KV mirror behind its bucket; reading the bucket');
    this.complete = false;
    this.wake();
    // Ends the watch: follow() starts it over.
    this.stopWatch?.();
  }

  private wake(): void {
    for (const w of this.reaching) {
      if (!this.complete || this.highest >= w.revision) {
        this.reaching.delete(w);
        w.done();
      }
    }
  }

  private caughtUpNow(): void {
    this.complete = true;
    this.failures = 0;
    for (const done of [...this.waiting]) done();
    this.waiting.clear();
  }
}
