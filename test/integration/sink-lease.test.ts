// The per-stream sink lease on a real nats-server: one holder at a time, a clean hand-over on stop, a takeover
// after the TTL when the holder dies, and a holder that finds its lease taken stops writing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/logger.js';
import { openLeaseBucket, StreamLease } from '../../sink/lease.js';
import { waitFor } from '../../test-kit/poll.js';
import { startNats, type NatsFixture } from './sink-fixture.js';

const TTL = 1500;

describe('sink lease', () => {
  let n: NatsFixture;
  beforeAll(async () => {
    n = await startNats();
  });
  afterAll(async () => {
    await n.cleanup();
  });

  const lease = async (key: string, holder: string, events: string[]): Promise<StreamLease> => {
    const kv = await openLeaseBucket(n.js, TTL);
    return new StreamLease({
      kv,
      key,
      holder,
      ttlMs: TTL,
      log: silentLogger(),
      onAcquired: () => {
        events.push(`${holder} acquired`);
        return Promise.resolve();
      },
      onLost: () => {
        events.push(`${holder} lost`);
        return Promise.resolve();
      },
    });
  };

  it('has one holder; stop hands it on at once', async () => {
    const events: string[] = [];
    const a = await lease('k1', 'a', events);
    const b = await lease('k1', 'b', events);
    await a.start();
    await b.start();
    expect([a.valid(), b.held]).toEqual([true, false]);
    await a.stop();
    await waitFor(() => b.held, { what: 'b to take the released lease' });
    expect(events).toEqual(['a acquired', 'b acquired']);
    await b.stop();
  });

  it('a holder that dies without releasing is replaced after the TTL, and never two valid at once', async () => {
    const events: string[] = [];
    const a = await lease('k2', 'a', events);
    const b = await lease('k2', 'b', events);
    await a.start();
    await b.start();
    // A crash: a stops renewing (its timer is gone) and releases nothing.
    (a as unknown as { timer: NodeJS.Timeout }).timer.close();
    let overlap = false;
    await waitFor(
      () => {
        if (a.valid() && b.valid()) overlap = true;
        return b.held;
      },
      { timeoutMs: 10_000, intervalMs: 5, what: 'b to take over after the TTL' },
    );
    expect(overlap).toBe(false);
    expect(a.valid()).toBe(false);
    await b.stop();
  });

  it('a holder whose lease was taken loses it on its next renewal', async () => {
    const events: string[] = [];
    const a = await lease('k3', 'a', events);
    await a.start();
    const kv = await openLeaseBucket(n.js, TTL);
    // Someone else holds the key now (as after an expiry and a takeover).
    await kv.put('k3', new TextEncoder().encode('intruder'));
    await waitFor(() => !a.held, { what: 'a to notice' });
    expect(events).toEqual(['a acquired', 'a lost']);
    await a.stop();
  });
});
