// Stream and bucket creation waits out "no suitable peers for placement" (a cluster whose meta leader has not
// heard from every peer yet), and nothing else.
import { JetStreamApiError } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { NO_SUITABLE_PEERS, whilePlacing } from '../../core/nats/placement.js';

const apiError = (errCode: number, description: string): JetStreamApiError =>
  new JetStreamApiError({ code: 500, err_code: errCode, description });

describe('whilePlacing', () => {
  it('retries while the cluster cannot place the stream, then returns what the creation returns', async () => {
    let calls = 0;
    const made = await whilePlacing(
      () => {
        calls++;
        if (calls < 3) return Promise.reject(apiError(NO_SUITABLE_PEERS, 'no suitable peers for placement'));
        return Promise.resolve('created');
      },
      { intervalMs: 1 },
    );
    expect(made).toBe('created');
    expect(calls).toBe(3);
  });

  it('passes any other error on at once', async () => {
    let calls = 0;
    const other = apiError(10074, 'replicas > 1 not supported in non-clustered mode');
    await expect(
      whilePlacing(
        () => {
          calls++;
          return Promise.reject(other);
        },
        { intervalMs: 1 },
      ),
    ).rejects.toBe(other);
    expect(calls).toBe(1);
  });

  it('gives up with the placement error once its time is out', async () => {
    let calls = 0;
    const err = apiError(NO_SUITABLE_PEERS, 'no suitable peers for placement');
    await expect(
      whilePlacing(
        () => {
          calls++;
          return Promise.reject(err);
        },
        { timeoutMs: 30, intervalMs: 5 },
      ),
    ).rejects.toBe(err);
    expect(calls).toBeGreaterThan(1);
  });
});
