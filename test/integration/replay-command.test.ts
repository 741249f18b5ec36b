// `portstream replay`: customs replays each decision on a declaration's ledger from what the entry recorded, the
// rule set and the selection secret it names; a rule set not at hand or another secret is reported, never hidden.
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLedgerEntries, replayLines } from '../../cli/commands/replay.js';
import { ensureBuckets, type Buckets } from '../../core/nats/buckets.js';
import { connectNats } from '../../core/nats/connect.js';
import { ensureStreams } from '../../core/nats/topology.js';
import { amendPlan, submitPlan } from '../../ingest/customs/plans.js';
import { decider } from '../helpers/customs.js';
import { numberSequence, sampleDeclaration, TEST_RULES } from '../helpers/declarations.js';
import { startTestNats, type TestNats } from '../helpers/nats.js';

const opts = { replicas: 1, eventsMaxAgeHours: 1, eventsMaxBytes: 1 << 28, duplicateWindowSeconds: 120 };
const SECRET = { version: 's-replay', secret: new Uint8Array(32).fill(3) };
const OTHER = { version: 's-replay', secret: new Uint8Array(32).fill(4) };

describe('portstream replay', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  let buckets: Buckets;

  beforeAll(async () => {
    nats = await startTestNats();
    nc = await connectNats({ url: nats.url, name: 'replay-test' });
    await ensureStreams(await jetstreamManager(nc), opts);
    buckets = await ensureBuckets(jetstream(nc), 1);
  });
  afterAll(async () => {
    await nc.close();
    await nats.cleanup();
  });

  it('replays every decision the same with its rule set and secret, and says when it cannot', async () => {
    const d = decider(nc, buckets, { selection: () => SECRET });
    const nextNumber = numberSequence(109200000000);
    const n = nextNumber();
    await d.run(n, submitPlan(sampleDeclaration('yellow', n), sampleDeclaration('yellow', n), [], 'test'));
    const fixed = sampleDeclaration('green', n);
    await d.run(n, amendPlan(fixed, [], 'corrected', 'customs'));

    const entries = await readLedgerEntries(nc, n);
    expect(entries.map((e) => e.commandId.split(':')[0])).toEqual(['submit', 'amend']);
    const same = replayLines(entries, [TEST_RULES], () => SECRET);
    expect(same.map((l) => [l.action, l.status, l.replay])).toEqual([
      ['DECLARATION_ACTION_SUBMIT', 'CLEARANCE_STATUS_DOCUMENT_CHECK', 'same'],
      ['DECLARATION_ACTION_AMEND', 'CLEARANCE_STATUS_CLEARED', 'same'],
    ]);
    // Without the rule set the decisions name, nothing is claimed to replay.
    expect(replayLines(entries, [], () => SECRET).map((l) => l.replay)).toEqual([
      'rules not at hand',
      'rules not at hand',
    ]);
    // Half the declarations drawn for inspection: another secret under the same version name draws others
    // for some of them, and replay says so for those.
    const always = {
      ...TEST_RULES,
      version: 'replay-all',
      randomInspection: { ...TEST_RULES.randomInspection, rate: 0.5 },
    };
    const draws = decider(nc, buckets, { rules: () => always, selection: () => SECRET });
    const numbers = Array.from({ length: 24 }, () => nextNumber());
    for (const m of numbers) {
      const decl = sampleDeclaration('green', m);
      await draws.run(m, submitPlan(decl, decl, [], 'test'));
    }
    let differs = 0;
    for (const m of numbers) {
      const e = await readLedgerEntries(nc, m);
      expect(replayLines(e, [always], () => SECRET)[0]?.replay).toBe('same');
      if (replayLines(e, [always], () => OTHER)[0]?.replay === 'differs') differs++;
    }
    expect(differs).toBeGreaterThan(0);
  });
});
