// The consumer runtime (core/consumer) on a real nats-server: the failure policy by error type (retryable:
// nak and a later success; permanent and undecodable: one dead-letter record and term; retryable on the last
// delivery: dead letter, not a silent stall), renewal of held messages beyond ack_wait, bounded memory, order
// per key, and a stop that hands what it holds back.
import { jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConsumerError,
  consumerMetrics,
  ensureDurable,
  parseDeadLetter,
  PULL_IDLE_CHECK_MS,
  startConsumer,
  type ConsumerMetrics,
  type ConsumerOptions,
  type DeadLetterRecord,
  type DurableSpec,
} from '../../core/consumer/index.js';
import { PortstreamError, ErrorCode } from '../../core/errors.js';
import { silentLogger } from '../../core/logger.js';
import { MAX_MSG_SIZE, STREAM_DEADLETTERS, subjects } from '../../core/nats/topology.js';
import { SINK_PULL_MAX_BYTES } from '../../sink/stream-sink.js';
import { uniqueName, waitFor } from '../../test-kit/poll.js';
import { startNats, type NatsFixture } from './sink-fixture.js';

describe('consumer runtime', () => {
  let n: NatsFixture;
  let jsm: JetStreamManager;
  let js: JetStreamClient;
  let metrics: ConsumerMetrics;
  const registry = new Registry();

  beforeAll(async () => {
    n = await startNats();
    js = n.js;
    jsm = await jetstreamManager(n.nc);
    metrics = consumerMetrics(registry);
  });
  afterAll(async () => {
    await n.cleanup();
  });

  /** A fresh stream and durable; publish(text) puts one message on it. */
  const fixture = async (
    over: Partial<DurableSpec> = {},
  ): Promise<{ spec: DurableSpec; publish(t: string): Promise<number> }> => {
    const stream = uniqueName('RT').toUpperCase();
    await jsm.streams.add({ name: stream, subjects: [`${stream.toLowerCase()}.>`] });
    const spec: DurableSpec = {
      stream,
      durable: 'worker',
      ackWaitMs: 1000,
      maxDeliver: 5,
      maxAckPending: 100,
      ...over,
    };
    await ensureDurable(jsm, spec);
    return {
      spec,
      publish: async (t) => (await js.publish(`${stream.toLowerCase()}.k${t.slice(0, 1)}`, t)).seq,
    };
  };

  const start = (spec: DurableSpec, o: Partial<ConsumerOptions<string>>) =>
    startConsumer<string>({
      js,
      spec,
      log: silentLogger(),
      metrics,
      decode: (m) => {
        const t = m.string();
        if (t.startsWith('!')) throw new Error('not a record');
        return t;
      },
      handle: () => Promise.resolve(),
      ...o,
    });

  const settled = async (spec: DurableSpec): Promise<boolean> => {
    const c = await jsm.consumers.info(spec.stream, spec.durable);
    return c.num_pending === 0 && c.num_ack_pending === 0;
  };

  const deadLetters = async (stream: string): Promise<DeadLetterRecord[]> => {
    const out: DeadLetterRecord[] = [];
    const last = (await jsm.streams.info(STREAM_DEADLETTERS)).state.last_seq;
    for (let seq = 1; seq <= last; seq++) {
      const m = await jsm.streams.getMessage(STREAM_DEADLETTERS, { seq }).catch(() => null);
      if (m?.subject === subjects.deadLetter(stream)) out.push(parseDeadLetter(m.data));
    }
    return out;
  };

  const count = async (name: string, labels: Record<string, string>): Promise<number> => {
    const m = (await registry.getSingleMetric(name)?.get())?.values ?? [];
    return m
      .filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))
      .reduce((a, v) => a + v.value, 0);
  };

  it('naks a retryable failure and acks the later success; dead-letters a permanent one at once', async () => {
    const f = await fixture();
    const tries = new Map<string, number>();
    const c = await start(f.spec, {
      handle: (batch) => {
        const failed = new Map<(typeof batch)[number]['msg'], unknown>();
        for (const { msg, value } of batch) {
          const k = (tries.get(value) ?? 0) + 1;
          tries.set(value, k);
          if (value === 'flaky' && k < 3) failed.set(msg, new Error('store away'));
          if (value === 'refused') {
            failed.set(msg, new PortstreamError(ErrorCode.InvalidArgument, 'field x: bad'));
          }
        }
        return Promise.resolve({ failed });
      },
    });
    try {
      await f.publish('fine');
      await f.publish('flaky');
      const refusedSeq = await f.publish('refused');
      const undecodableSeq = await f.publish('!junk');
      await waitFor(() => settled(f.spec), { what: 'all settled' });
      expect(tries.get('flaky')).toBe(3);
      expect(tries.get('refused')).toBe(1);
      expect(tries.has('!junk')).toBe(false);
      const dl = await deadLetters(f.spec.stream);
      expect(dl.map((d) => [d.streamSeq, d.cause, d.consumer]).sort()).toEqual(
        [
          [refusedSeq, 'permanent', 'worker'],
          [undecodableSeq, 'permanent', 'worker'],
        ].sort(),
      );
      const undecodable = dl.find((d) => d.streamSeq === undecodableSeq);
      expect(undecodable?.reason).toContain('undecodable');
      expect(Buffer.from(undecodable?.data ?? '', 'base64').toString()).toBe('!junk');
      expect(dl.find((d) => d.streamSeq === refusedSeq)?.reason).toContain('field x');
      const labels = { stream: f.spec.stream, consumer: 'worker' };
      expect(await count('portstream_consumer_dead_letters_total', { ...labels, cause: 'permanent' })).toBe(
        2,
      );
      expect(await count('portstream_consumer_messages_total', { ...labels, outcome: 'retry' })).toBe(2);
      expect(await count('portstream_consumer_redeliveries_total', labels)).toBe(2);
    } finally {
      await c.stop();
    }
  });

  it("naks with the consumer's own backoff when it brings one, and with the error's retryAfterMs over both", async () => {
    const f = await fixture({ maxDeliver: -1 });
    const tries = new Map<string, number>();
    const asked: number[] = [];
    const c = await start(f.spec, {
      retryDelayMs: (n) => {
        asked.push(n);
        return 20;
      },
      handle: ([item]) => {
        if (!item) return Promise.resolve();
        const k = (tries.get(item.value) ?? 0) + 1;
        tries.set(item.value, k);
        if (item.value === 'flaky' && k < 3) return Promise.reject(new Error('endpoint away'));
        if (item.value === 'paused' && k < 2) {
          return Promise.reject(ConsumerError.retryable('not yet', undefined, 10));
        }
        return Promise.resolve();
      },
      maxMessages: 1,
    });
    try {
      await f.publish('flaky');
      await f.publish('paused');
      await waitFor(() => settled(f.spec), { what: 'all settled' });
      expect([tries.get('flaky'), tries.get('paused')]).toEqual([3, 2]);
      // Asked for the two failures of 'flaky' (deliveries 1 and 2), never for the one that named its delay.
      expect(asked.sort()).toEqual([1, 2]);
    } finally {
      await c.stop();
    }
  });

  it('dead-letters a message still failing on its last delivery instead of leaving it', async () => {
    const f = await fixture({ maxDeliver: 3 });
    let attempts = 0;
    const c = await start(f.spec, {
      handle: () => {
        attempts++;
        return Promise.reject(ConsumerError.retryable('always busy'));
      },
    });
    try {
      const seq = await f.publish('stuck');
      await waitFor(() => settled(f.spec), { timeoutMs: 15_000, what: 'the message to be settled' });
      expect(attempts).toBe(3);
      const [dl, ...more] = await deadLetters(f.spec.stream);
      expect(more).toEqual([]);
      expect(dl).toMatchObject({ streamSeq: seq, cause: 'exhausted', deliveries: 3 });
      expect(dl?.reason).toContain('always busy');
    } finally {
      await c.stop();
    }
  });

  it('keeps a message it is still working on past ack_wait without a redelivery', async () => {
    const f = await fixture({ ackWaitMs: 600 });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    let calls = 0;
    const c = await start(f.spec, {
      handle: async () => {
        calls++;
        await gate;
      },
    });
    try {
      await f.publish('slow');
      await waitFor(() => calls === 1);
      // Four ack_waits held: without renewals it would have been delivered again (and handled again, since
      // the handler would be free for it after the gate opens).
      const until = Date.now() + 2400;
      await waitFor(() => Date.now() >= until, { intervalMs: 100 });
      const info = await jsm.consumers.info(f.spec.stream, f.spec.durable);
      expect(info.num_redelivered).toBe(0);
      release();
      await waitFor(() => settled(f.spec));
      expect(calls).toBe(1);
    } finally {
      release();
      await c.stop();
    }
  });

  it('holds at most maxHeld messages while the handler is stuck, and handles the rest after', async () => {
    const f = await fixture({ maxAckPending: 1000, ackWaitMs: 5000 });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    let handled = 0;
    const c = await start(f.spec, {
      maxMessages: 5,
      maxHeld: 20,
      handle: async (batch) => {
        await gate;
        handled += batch.length;
      },
    });
    try {
      for (let i = 0; i < 200; i++) await f.publish(`m${i}`);
      await waitFor(() => c.held() >= 5);
      const peak = { held: 0 };
      const until = Date.now() + 500;
      await waitFor(
        () => {
          peak.held = Math.max(peak.held, c.held());
          return Date.now() >= until;
        },
        { intervalMs: 10 },
      );
      expect(peak.held).toBeLessThanOrEqual(20);
      release();
      await waitFor(() => settled(f.spec), { timeoutMs: 15_000 });
      expect(handled).toBeGreaterThanOrEqual(200);
    } finally {
      release();
      await c.stop();
    }
  });

  it('with keyOf, handles one key in order and different keys at once', async () => {
    const f = await fixture({ maxAckPending: 1000 });
    const seen = new Map<string, string[]>();
    let running = 0;
    let peak = 0;
    const c = await start(f.spec, {
      keyOf: ({ value }) => value.slice(0, 1),
      concurrency: 4,
      handle: async ([item]) => {
        running++;
        peak = Math.max(peak, running);
        await new Promise((r) => setTimeout(r, 5));
        const v = item?.value ?? '';
        seen.set(v.slice(0, 1), [...(seen.get(v.slice(0, 1)) ?? []), v]);
        running--;
      },
    });
    try {
      const keys = ['a', 'b', 'c', 'd', 'e'];
      for (let i = 0; i < 20; i++) for (const k of keys) await f.publish(`${k}${String(i).padStart(2, '0')}`);
      await waitFor(() => settled(f.spec), { timeoutMs: 15_000 });
      for (const k of keys) {
        const got = seen.get(k) ?? [];
        expect(got).toEqual([...got].sort());
        expect(got).toHaveLength(20);
      }
      expect(peak).toBeGreaterThan(1);
      expect(peak).toBeLessThanOrEqual(4);
    } finally {
      await c.stop();
    }
  });

  it('keeps pulling by bytes when a message is larger than what is left of the pulls outstanding', async () => {
    // A byte-bounded pull that cannot fit the next message ends with a 409; the client re-pulls only after two
    // missed idle heartbeats (30 s by default) when it has nothing buffered. With message sizes that vary,
    // that happened every few hundred messages at 60 a second: the sink wrote nothing for 30-40 s.
    const f = await fixture({ maxAckPending: 1000 });
    const handled = new Set<string>();
    const c = await start(f.spec, {
      pullMaxBytes: 64 * 1024,
      handle: (batch) => {
        for (const i of batch) handled.add(i.value.slice(0, 6));
        return Promise.resolve();
      },
    });
    try {
      for (let i = 0; i < 400; i++) {
        // Mostly small, every 25th near the pull's whole budget; each waits until handled, so the client
        // never has anything buffered when a pull ends.
        const id = `m${String(i).padStart(5, '0')}`;
        const body = i % 25 === 24 ? id.padEnd(40 * 1024, '.') : id.padEnd(100 + ((i * 37) % 400), '.');
        await f.publish(body);
        await waitFor(() => handled.has(id), { timeoutMs: 8000, what: `${id} handled` });
      }
      expect(handled.size).toBe(400);
      expect(
        await count('portstream_consumer_pull_restarts_total', { stream: f.spec.stream }),
      ).toBeGreaterThan(0);
    } finally {
      await c.stop();
    }
  });

  it("takes a message of the streams' largest size with the sink's byte-bounded pulls", async () => {
    const f = await fixture();
    await jsm.streams.update(f.spec.stream, { max_msg_size: MAX_MSG_SIZE });
    const handled: number[] = [];
    const c = await start(f.spec, {
      pullMaxBytes: SINK_PULL_MAX_BYTES,
      handle: (batch) => {
        for (const i of batch) handled.push(i.value.length);
        return Promise.resolve();
      },
    });
    try {
      // The largest payload the stream takes with this subject and no headers.
      const body = 'x'.padEnd(MAX_MSG_SIZE - 64, '.');
      await f.publish(body);
      await f.publish('small');
      await waitFor(() => handled.length === 2, { timeoutMs: 8000, what: 'both messages handled' });
      expect(handled).toEqual([body.length, 5]);
    } finally {
      await c.stop();
    }
  });

  it('replaces a pull that brings nothing while the server has messages waiting (durable re-created)', async () => {
    // Deleting the durable ends the pull with a 409 the client answers by waiting for two missed heartbeats
    // (30 s); the watchdog asks the server after PULL_IDLE_CHECK_MS of quiet and pulls again.
    const f = await fixture();
    const handled = new Set<string>();
    const c = await start(f.spec, {
      handle: (batch) => {
        for (const i of batch) handled.add(i.value);
        return Promise.resolve();
      },
    });
    try {
      await f.publish('before');
      await waitFor(() => handled.has('before'));
      const restarts = await count('portstream_consumer_pull_restarts_total', {
        stream: f.spec.stream,
        reason: 'idle',
      });
      await jsm.consumers.delete(f.spec.stream, f.spec.durable);
      await ensureDurable(jsm, f.spec);
      await f.publish('after');
      await waitFor(() => handled.has('after'), {
        timeoutMs: PULL_IDLE_CHECK_MS + 8000,
        what: 'the message after the durable was re-created',
      });
      expect(
        await count('portstream_consumer_pull_restarts_total', { stream: f.spec.stream, reason: 'idle' }),
      ).toBe(restarts + 1);
    } finally {
      await c.stop();
    }
  });

  it('stop with release leaves what it holds unsettled for the next holder, which gets it after ack_wait', async () => {
    const f = await fixture({ ackWaitMs: 1000 });
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const first = await start(f.spec, {
      maxMessages: 2,
      handle: async () => {
        await gate;
        return { released: 'all' };
      },
    });
    for (let i = 0; i < 6; i++) await f.publish(`r${i}`);
    await waitFor(() => first.held() >= 2);
    const stopped = first.stop({ release: true });
    release();
    await stopped;
    const got: string[] = [];
    const second = await start(f.spec, {
      handle: (batch) => {
        got.push(...batch.map((i) => i.value));
        return Promise.resolve();
      },
    });
    try {
      await waitFor(() => settled(f.spec), { timeoutMs: 10_000 });
      expect([...new Set(got)].sort()).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'r5']);
    } finally {
      await second.stop();
    }
  });
});
