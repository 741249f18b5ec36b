// Request-reply for hot paths: one wildcard reply subscription per connection, a map of pending replies and a
// single deadline sweep, instead of the client's per-request machinery (a subscription entry, a timer and an
// Error object for every request, which profiles showed as most of the state consumer's CPU and garbage).
// Requests sent in the same tick leave in one socket write. On top of it, compare-and-set access to a KV
// bucket's stream: reads are direct gets of the key's last message, writes are publishes that expect the key's
// last revision (0: the key must not exist), exactly what the KV client does, so both can be mixed freely.
import {
  createInbox,
  headers as natsHeaders,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type Subscription,
} from '@nats-io/nats-core';

interface Waiter {
  resolve(m: Msg): void;
  reject(e: Error): void;
  at: number;
}

export class PipelinedRequestError extends Error {
  constructor(
    message: string,
    readonly kind: 'timeout' | 'no-responders' | 'closed',
  ) {
    super(message);
    this.name = 'PipelinedRequestError';
  }
}

export class PipelinedRequests {
  private readonly prefix: string;
  private readonly pending = new Map<number, Waiter>();
  private outbox: { id: number; subject: string; data: Uint8Array; headers: MsgHdrs | undefined }[] = [];
  private sendScheduled = false;
  private readonly sub: Subscription;
  private readonly sweep: NodeJS.Timeout;
  private next = 0;

  constructor(
    readonly nc: NatsConnection,
    private readonly timeoutMs = 5000,
  ) {
    this.prefix = `${createInbox()}.`;
    this.sub = nc.subscribe(`${this.prefix}*`, {
      callback: (err, msg) => {
        if (err) return;
        const id = Number(msg.subject.slice(this.prefix.length));
        const w = this.pending.get(id);
        if (!w) return;
        this.pending.delete(id);
        if (msg.headers?.code === 503) w.reject(new PipelinedRequestError('no responders', 'no-responders'));
        else w.resolve(msg);
      },
    });
    this.sweep = setInterval(
      () => {
        this.expire();
      },
      Math.max(50, timeoutMs / 4),
    );
    this.sweep.unref();
  }

  request(subject: string, data: Uint8Array, headers?: MsgHdrs): Promise<Msg> {
    const id = ++this.next;
    return new Promise<Msg>((resolve, reject) => {
      this.pending.set(id, { resolve, reject, at: Date.now() });
      this.outbox.push({ id, subject, data, headers });
      if (!this.sendScheduled) {
        this.sendScheduled = true;
        setImmediate(this.sendOutbox);
      }
    });
  }

  /**
   * Sends what was asked since the last send, all at once: the client writes them to the socket in one write,
   * so requests made while one turn of the event loop handled many arrivals (gRPC calls, pulled messages) cost
   * one system call rather than one each, which on a virtual machine is most of a request's cost.
   */
  private readonly sendOutbox = (): void => {
    this.sendScheduled = false;
    const batch = this.outbox;
    this.outbox = [];
    for (const r of batch) {
      const reply = `${this.prefix}${r.id}`;
      try {
        this.nc.publish(r.subject, r.data, r.headers ? { reply, headers: r.headers } : { reply });
      } catch (err) {
        const w = this.pending.get(r.id);
        this.pending.delete(r.id);
        w?.reject(err instanceof Error ? err : new Error(String(err)));
      }
    }
  };

  close(): void {
    clearInterval(this.sweep);
    this.outbox = [];
    this.sub.unsubscribe();
    for (const w of this.pending.values()) w.reject(new PipelinedRequestError('closed', 'closed'));
    this.pending.clear();
  }

  /** Pending requests are in send order: expire from the front until one is still in time. */
  private expire(): void {
    const limit = Date.now() - this.timeoutMs;
    for (const [id, w] of this.pending) {
      if (w.at > limit) break;
      this.pending.delete(id);
      w.reject(new PipelinedRequestError(`no reply within ${this.timeoutMs} ms`, 'timeout'));
    }
  }
}

/** The last entry of a key: its value, revision (stream sequence) and operation. */
export interface CasEntry {
  value: Uint8Array;
  revision: number;
  operation: 'PUT' | 'DEL' | 'PURGE';
}

/** The write lost a race: the key's revision is no longer the one expected. */
export class CasConflictError extends Error {
  constructor(
    key: string,
    detail: string,
    /**
     * The revision is claimed by a guarded write the stream has not stored (yet): normally one in flight, stored
     * within milliseconds; rarely one lost with its leader, whose claim lasts the stream's duplicate window.
     */
    readonly claimedInFlight = false,
  ) {
    super(`${key}: ${detail}`);
    this.name = 'CasConflictError';
  }
}

/** Whether compare-and-set writes through this connection need the revision guard: its server is clustered. */
export function guardsRevisions(nc: NatsConnection): boolean {
  return nc.info?.cluster !== undefined;
}

/** The message id of a guarded write: the key and the revision it replaces (0: none). */
export function revisionGuardId(key: string, expected: number): string {
  return `${key}@${expected}`;
}

/**
 * The conflict a guarded write meets when another write already claimed the revision it expected: the stream
 * answered it as a duplicate of the write stored at `seq` (0: not stored yet).
 */
export function replacedConflict(key: string, expected: number, seq: number): CasConflictError {
  return seq > 0
    ? new CasConflictError(key, `revision ${expected} was already replaced by another write`)
    : new CasConflictError(key, `revision ${expected} is claimed by another write in flight`, true);
}

/** A JetStream API or publish error other than a conflict. */
export class JetStreamReplyError extends Error {
  constructor(
    message: string,
    readonly errCode: number,
  ) {
    super(message);
    this.name = 'JetStreamReplyError';
  }
}

/** JetStream's error code for "wrong last sequence" (the expected revision did not match). */
const WRONG_LAST_SEQUENCE = 10071;

/**
 * Compare-and-set access to the subjects `<subjectPrefix><key>` of one stream (which allows direct gets) over
 * pipelined requests: the last message of a key read in one direct get, a write stored only if the key's last
 * sequence is still the one expected.
 */
export class CasSubjects {
  constructor(
    private readonly req: PipelinedRequests,
    private readonly stream: string,
    private readonly subjectPrefix: string,
  ) {}

  async get(key: string): Promise<CasEntry | null> {
    const m = await this.req.request(`$JS.API.DIRECT.GET.${this.stream}.${this.subjectPrefix}${key}`, EMPTY);
    const code = m.headers?.code ?? 0;
    if (code === 404) return null;
    if (code !== 0) throw new JetStreamReplyError(`get ${key}: ${m.headers?.description ?? code}`, code);
    const h = m.headers;
    const op = h?.get('KV-Operation');
    return {
      value: m.data,
      revision: Number(h?.get('Nats-Sequence')),
      operation: op === 'DEL' || op === 'PURGE' ? op : 'PUT',
    };
  }

  /**
   * Writes the value if the key's last revision is `expected` (0: the key has never been written), with the
   * revision guard on a clustered server (core/nats/cas.ts).
   */
  async write(key: string, value: Uint8Array, expected: number): Promise<number> {
    return this.guarded(key, expected, await this.publish(key, value, expected, this.guardId(key, expected)));
  }

  /**
   * As write(), also under a message id (JetStream's duplicate window): `duplicate` when the stream had a
   * message with that id already, whose sequence is then the one answered.
   */
  async publish(
    key: string,
    value: Uint8Array,
    expected: number,
    msgId?: string,
  ): Promise<{ seq: number; duplicate: boolean }> {
    const h = natsHeaders();
    h.set('Nats-Expected-Last-Subject-Sequence', String(expected));
    if (msgId !== undefined) h.set('Nats-Msg-Id', msgId);
    return this.store(key, value, h);
  }

  /** Writes the value whatever the key's last revision. */
  async put(key: string, value: Uint8Array): Promise<number> {
    return (await this.store(key, value, undefined)).seq;
  }

  /**
   * Marks the key deleted (a KV delete marker) if its last revision is still `expected`; rejects with a
   * conflict otherwise.
   */
  async delete(key: string, expected: number): Promise<number> {
    const h = natsHeaders();
    h.set('KV-Operation', 'DEL');
    h.set('Nats-Expected-Last-Subject-Sequence', String(expected));
    const id = this.guardId(key, expected);
    if (id !== undefined) h.set('Nats-Msg-Id', id);
    return this.guarded(key, expected, await this.store(key, EMPTY, h));
  }

  private guardId(key: string, expected: number): string | undefined {
    return guardsRevisions(this.req.nc) ? revisionGuardId(key, expected) : undefined;
  }

  /** A guarded write answered as a duplicate lost to another write of the same revision. */
  private guarded(key: string, expected: number, ack: { seq: number; duplicate: boolean }): number {
    if (ack.duplicate) throw replacedConflict(key, expected, ack.seq);
    return ack.seq;
  }

  private async store(
    key: string,
    value: Uint8Array,
    h: MsgHdrs | undefined,
  ): Promise<{ seq: number; duplicate: boolean }> {
    const m = await this.req.request(this.subjectPrefix + key, value, h);
    const ack = JSON.parse(new TextDecoder().decode(m.data)) as {
      seq?: number;
      duplicate?: boolean;
      error?: { err_code?: number; description?: string };
    };
    if (ack.error) {
      const detail = ack.error.description ?? 'error';
      if (ack.error.err_code === WRONG_LAST_SEQUENCE) throw new CasConflictError(key, detail);
      throw new JetStreamReplyError(`put ${key}: ${detail}`, ack.error.err_code ?? 0);
    }
    return { seq: ack.seq ?? 0, duplicate: ack.duplicate === true };
  }
}

/** Compare-and-set access to one KV bucket over pipelined requests. */
export class CasBucket extends CasSubjects {
  constructor(req: PipelinedRequests, bucket: string) {
    super(req, `KV_${bucket}`, `$KV.${bucket}.`);
  }
}

const EMPTY = new Uint8Array(0);
