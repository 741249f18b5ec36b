// The bench's load generator against a real gateway: valid load is answered ACCEPTED throughout, and a load the
// gateway refuses fails the scenario with the gateway's own reason instead of being reported as figures.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benchLoad, containerIndex } from '../../bench/harness/events.js';
import { ingestBackground, ingestLoad } from '../../bench/harness/ingest-load.js';
import { BenchLoadError } from '../../bench/harness/load-account.js';
import { TOKENS } from '../../test-kit/auth.js';
import { startGateway, type GatewayFixture } from '../helpers/gateway.js';

let gw: GatewayFixture;

beforeAll(async () => {
  gw = await startGateway('bench-load');
});

afterAll(async () => {
  await gw.close();
});

describe('bench load against a real gateway', () => {
  it('a valid closed-loop load is all accepted, and its account passes', async () => {
    const r = await ingestLoad({
      address: gw.ingest.address,
      token: TOKENS.admin,
      runId: 'valid',
      slot: 0,
      durationMs: 300,
      batchSize: 50,
      streams: 1,
      window: 2,
    });
    expect(r.sent).toBeGreaterThan(0);
    expect(r.account.summary()).toEqual({
      offered: r.sent,
      accepted: r.sent,
      duplicate: 0,
      rejected: 0,
      errors: 0,
      unanswered: 0,
    });
    expect(() => {
      r.account.check();
    }).not.toThrow();
  });

  it('a load the gateway partly refuses fails with the first refusal', async () => {
    // The HICT operator may publish for one of the four terminals the load spreads over.
    const r = await ingestBackground({
      address: gw.ingest.address,
      token: TOKENS.operator,
      runId: 'refused',
      slot: 1,
      scenario: 'clearance.background',
      eventsPerSec: 1000,
      durationMs: 200,
      batchSize: 40,
    });
    const s = r.account.summary();
    expect(s.offered).toBe(200);
    // Containers take the terminals in turn, HICT first: events of every fourth container are the operator's.
    const load = benchLoad('refused', 1);
    let own = 0;
    for (let seq = 0; seq < 200; seq++) if (containerIndex(load, seq) % 4 === 0) own++;
    expect(s.accepted).toBe(own);
    expect(s.rejected).toBe(200 - own);
    expect(() => {
      r.account.check();
    }).toThrow(BenchLoadError);
    expect(s.first_problem).toMatch(
      /^event refused-3 was REJECTED: facility hict-operator may not publish for it$/,
    );
  });
});
