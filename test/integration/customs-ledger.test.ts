// The customs decision path below the gRPC service: gateways deciding on the declaration's ledger (PS_CUSTOMS)
// with one append each, and the processor projecting the ledger into the decision feed, ps_declarations and the
// containers. Several gateways and several projectors at once, one of each cut off mid-stream: every command
// recorded once, every decision on the feed exactly once and in ledger order, and every decision replayable.
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headOf, pipelinedLedger, replayLedger, type LedgerStore } from '../../core/customs/ledger.js';
import { PipelinedRequests } from '../../core/nats/pipelined.js';
import { Decider as DeciderClass } from '../../ingest/customs/decide.js';
import { ruleSetSchema } from '../../core/customs/rules/schema.js';
import { ensureBuckets, type Buckets } from '../../core/nats/buckets.js';
import { connectNats } from '../../core/nats/connect.js';
import { ensureStreams, STREAM_CUSTOMS, STREAM_DECISIONS, subjects } from '../../core/nats/topology.js';
import { decodeContainerRecord, encodeContainerRecord } from '../../core/state/container.js';
import { decodeDeclarationState } from '../../core/state/declaration.js';
import { customsStatusOf } from '../../core/state/release.js';
import type { Decider } from '../../ingest/customs/decide.js';
import { amendPlan, cancelPlan, inspectionPlan, submitPlan } from '../../ingest/customs/plans.js';
import { CUSTOMS_CONSUMER, type ProjectorHandle } from '../../processor/customs/projector.js';
import {
  Channel,
  ClearanceStatus,
  Decision,
  InspectionOutcome,
  type Declaration,
} from '../../proto/gen/portstream/v1/customs.js';
import { CargoFlow } from '../../proto/gen/portstream/v1/manifest.js';
import { ContainerBookkeeping, DeclarationCommand } from '../../proto/gen/portstream/v1/records.js';
import { ContainerLocation, ContainerStatus } from '../../proto/gen/portstream/v1/tracking.js';
import { decider as newDecider, startProjector } from '../helpers/customs.js';
import { startTestNats, type TestNats } from '../helpers/nats.js';
import { waitFor } from '../../test-kit/poll.js';
import { laptopDeclaration } from '../helpers/declarations.js';

const rules = ruleSetSchema.parse({
  version: 'it-1',
  highRiskOrigins: ['KP'],
  firstTimeDeclarantChannel: 'GREEN',
});
const opts = { replicas: 1, eventsMaxAgeHours: 1, eventsMaxBytes: 1 << 28, duplicateWindowSeconds: 1 };

const declaration = (n: string, origin = 'CN'): Declaration => laptopDeclaration(n, origin);

const numberOf = (i: number): string => String(100000000000 + i);

const SECRET = { version: 's-test', secret: new Uint8Array(32).fill(7) };

describe('customs ledger and its projection', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  let buckets: Buckets;
  let decider: Decider;

  const gateway = (conn: NatsConnection = nc): Decider =>
    newDecider(conn, buckets, { rules: () => rules, selection: () => SECRET });
  const submit = (d: Decider, decl: Declaration, unmanifested: string[] = []) =>
    d.run(decl.declarationNumber, submitPlan(decl, decl, unmanifested, 'test'));
  /** The declaration's ledger entries, oldest first. */
  const ledger = async (n: string): Promise<DeclarationCommand[]> => {
    const out: DeclarationCommand[] = [];
    const info = await jsm.streams.info(STREAM_CUSTOMS);
    for (let seq = 1; seq <= info.state.last_seq; seq++) {
      const m = await jsm.streams.getMessage(STREAM_CUSTOMS, { seq }).catch(() => null);
      if (m?.subject === subjects.customsCommand(n)) out.push(DeclarationCommand.decode(m.data));
    }
    return out;
  };
  /** The declaration's decisions on the feed, in feed order, with their index from the message id. */
  const feed = async (n: string): Promise<{ index: string; decision: Decision; seq: number }[]> => {
    const out: { index: string; decision: Decision; seq: number }[] = [];
    const info = await jsm.streams.info(STREAM_DECISIONS);
    for (let seq = 1; seq <= info.state.last_seq; seq++) {
      const m = await jsm.streams.getMessage(STREAM_DECISIONS, { seq }).catch(() => null);
      if (m?.subject === subjects.decision(n)) {
        out.push({ index: m.header.get('Nats-Msg-Id'), decision: Decision.decode(m.data), seq });
      }
    }
    return out;
  };
  const projected = async (n: string) => {
    const e = await buckets.declarations.get(n);
    return e && e.operation === 'PUT' ? decodeDeclarationState(e.value) : undefined;
  };
  const allProjected = (numbers: string[], count: (n: string) => number) =>
    waitFor(
      async () => {
        for (const n of numbers) {
          const s = await projected(n);
          if (s?.decisions.length !== count(n) || s.decisions.some((d) => d.position === 0)) return false;
        }
        return true;
      },
      { timeoutMs: 30_000, what: 'the projection' },
    );

  const drained = () =>
    waitFor(
      async () => {
        const c = await jsm.consumers.info(STREAM_CUSTOMS, CUSTOMS_CONSUMER);
        return c.num_pending === 0 && c.num_ack_pending === 0;
      },
      { timeoutMs: 30_000, what: 'the projector to finish the ledger' },
    );

  beforeAll(async () => {
    nats = await startTestNats();
    nc = await connectNats({ url: nats.url, name: 'ledger-test' });
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
    await ensureStreams(jsm, opts);
    buckets = await ensureBuckets(js, 1);
    decider = gateway();
  });
  afterAll(async () => {
    await nc.close();
    await nats.cleanup();
  });

  it('decides a new number with one append and no read; a repeat or a number in use reads and answers from the record', async () => {
    const requests = new PipelinedRequests(nc);
    const base = pipelinedLedger(requests);
    const calls = { heads: 0, appends: 0 };
    const counted: LedgerStore = {
      head: (n) => {
        calls.heads += 1;
        return base.head(n);
      },
      append: (entry, expected) => {
        calls.appends += 1;
        return base.append(entry, expected);
      },
    };
    const d = new DeciderClass({
      ledger: counted,
      declarants: buckets.declarants,
      enterprises: buckets.enterprises,
      rules: () => rules,
      selection: () => SECRET,
    });
    const n = numberOf(900);
    const first = await submit(d, declaration(n));
    expect(first.fresh).toBe(true);
    expect(calls).toEqual({ heads: 0, appends: 1 });
    // The same content by the same declarant: the presumed-new append is refused, the head answers it.
    const again = await submit(d, declaration(n));
    expect(again.fresh).toBe(false);
    expect(again.decision).toEqual(first.decision);
    expect(calls).toEqual({ heads: 1, appends: 2 });
    // Other content on the number: refused, and the record is still the first submission alone.
    await expect(submit(d, declaration(n, 'KP'))).rejects.toThrow(/already in use/);
    expect(calls).toEqual({ heads: 2, appends: 3 });
    const entries = await ledger(n);
    expect(entries).toHaveLength(1);
    expect(entries[0]?.ledger?.decision).toEqual(first.decision);
    requests.close();
  });

  it('records each command once with its decision, refuses what cannot apply without writing, and replays', async () => {
    const [a, b, c] = [numberOf(1), numberOf(2), numberOf(3)];
    const first = await submit(decider, declaration(a));
    expect(first).toMatchObject({
      fresh: true,
      decision: { channel: Channel.GREEN, ruleSetVersion: 'it-1' },
    });
    // The same submission again is answered from the record, not decided again.
    expect(await submit(decider, declaration(a))).toMatchObject({ fresh: false, decision: first.decision });
    expect((await submit(decider, declaration(b, 'KP'))).decision.status).toBe(
      ClearanceStatus.PHYSICAL_INSPECTION,
    );
    const amended = await decider.run(b, amendPlan(declaration(b, 'VN'), [], 'origin corrected', 'customs'));
    expect(amended.decision).toMatchObject({ revision: 2, status: ClearanceStatus.CLEARED });
    await submit(decider, declaration(c, 'KP'));
    const failed = await decider.run(
      c,
      inspectionPlan(c, InspectionOutcome.FAILED, 'officer', '', 'customs'),
    );
    expect(failed.decision.status).toBe(ClearanceStatus.REFUSED);
    const before = (await jsm.streams.info(STREAM_CUSTOMS)).state.messages;
    await expect(decider.run(a, cancelPlan(a, 'too late', 'customs'))).rejects.toThrow(/cleared/);
    expect((await jsm.streams.info(STREAM_CUSTOMS)).state.messages).toBe(before);
    expect((await ledger(a)).length).toBe(1);
    expect((await ledger(b)).length).toBe(2);

    // Customs replays every decision from the ledger with the rule set and the secret it names.
    for (const n of [a, b, c]) {
      expect(
        replayLedger(
          await ledger(n),
          (v) => (v === rules.version ? rules : undefined),
          () => SECRET,
        ),
      ).toEqual([]);
    }
    // Another secret draws otherwise only where random inspection decides; a tampered entry does not replay.
    const [entry] = await ledger(a);
    const tampered = DeclarationCommand.fromPartial({
      ...entry,
      ledger: { ...entry?.ledger, decision: { ...entry?.ledger?.decision, channel: Channel.RED } },
    });
    expect(
      replayLedger(
        [tampered],
        () => rules,
        () => SECRET,
      ),
    ).toHaveLength(1);

    // The projection: the feed carries each decision once, in order, and ps_declarations its position.
    const projector = await startProjector(nc, buckets);
    try {
      await allProjected([a, b, c], (n) => (n === a ? 1 : 2));
      for (const n of [a, b, c]) {
        const onFeed = await feed(n);
        expect(onFeed.map((f) => f.index)).toEqual(onFeed.map((_, i) => `${n}:${i}`));
        expect((await projected(n))?.decisions.map((d) => d.position)).toEqual(onFeed.map((f) => f.seq));
      }
    } finally {
      await projector.stop();
    }
  });

  it("holds cargo not on a manifest, and the projection records a manifested bill's declaration on its container", async () => {
    const box = 'HLXU2000014';
    await buckets.containers.put(
      box,
      encodeContainerRecord({
        status: ContainerStatus.fromPartial({
          containerNumber: box,
          location: ContainerLocation.IN_YARD,
          facility: { unLocode: 'VNHPH', terminalCode: 'HICT' },
        }),
        bookkeeping: ContainerBookkeeping.fromPartial({
          shipments: [
            {
              callId: 'VNHPH-HICT-9811000-77N',
              carrierCode: 'HLCU',
              flow: CargoFlow.IMPORT,
              startedTime: new Date(),
              bills: [{ billNumber: 'HLCUDEC0000001', partyTaxCodes: ['0100109106'] }],
            },
          ],
        }),
      }),
    );
    const held = await submit(decider, { ...declaration(numberOf(701)), billNumbers: ['FAKEDEC0000001'] }, [
      'FAKEDEC0000001',
    ]);
    expect(held.decision.channel).toBe(Channel.RED);
    expect(held.decision.rules.find((r) => r.code === 'CARGO_NOT_MANIFESTED')?.reason).toBe(
      "bill FAKEDEC0000001 is on no carrier's cargo manifest",
    );
    const cleared = await submit(decider, {
      ...declaration(numberOf(702)),
      billNumbers: ['HLCUDEC0000001'],
      containerNumbers: [box],
    });
    expect(cleared.decision.rules.map((r) => r.code)).not.toContain('CARGO_NOT_MANIFESTED');
    const projector = await startProjector(nc, buckets);
    try {
      const rec = await waitFor(async () => {
        const e = await buckets.containers.get(box);
        const r = e ? decodeContainerRecord(e.value) : undefined;
        return r?.bookkeeping.shipments[0]?.bills[0]?.declarationNumbers.includes(numberOf(702))
          ? r
          : undefined;
      });
      expect(rec.status.declarationNumbers).toEqual([numberOf(702)]);
      expect(rec.bookkeeping.shipments[0]?.bills[0]?.customsStatus).toBe(
        customsStatusOf(cleared.decision.status),
      );
    } finally {
      await projector.stop();
    }
  });

  it('two gateways racing on the same declarations, one cut off mid-stream: every command applied once', async () => {
    const otherNc = await connectNats({ url: nats.url, name: 'ledger-test-gateway-2' });
    const other = gateway(otherNc);
    const numbers = Array.from({ length: 40 }, (_, i) => numberOf(1000 + i));
    // Both gateways submit every declaration (as a client retrying on another gateway would), and customs
    // amends each through both at once; the second gateway's connection closes halfway through.
    const runs = numbers.flatMap((n, i) => {
      const decl = declaration(n, 'KP');
      const fixed = declaration(n, 'VN');
      const viaOther = async () => {
        if (i === numbers.length / 2) await otherNc.close();
        await submit(other, decl);
        return other.run(n, amendPlan(fixed, [], 'fixed', 'customs'));
      };
      return [
        viaOther().catch(() => undefined),
        (async () => {
          await submit(decider, decl);
          return decider.run(n, amendPlan(fixed, [], 'fixed', 'customs'));
        })(),
      ];
    });
    await Promise.all(runs);
    for (const n of numbers) {
      const entries = await ledger(n);
      // One submission, one amendment: never a second of either.
      expect(
        entries.map((e) => e.action),
        `declaration ${n}`,
      ).toEqual([1, 2]);
      expect(
        headOf(1, DeclarationCommand.encode(entries[1] as DeclarationCommand).finish()).state?.revision,
      ).toBe(2);
    }
    if (!otherNc.isClosed()) await otherNc.close();
  });

  it('two projectors, one cut off mid-stream, then the durable re-created past the duplicate window: each decision on the feed once', async () => {
    const numbers = Array.from({ length: 60 }, (_, i) => numberOf(2000 + i));
    await Promise.all(numbers.map((n) => submit(decider, declaration(n, i2origin(n)))));
    await Promise.all(
      numbers.map((n) => decider.run(n, cancelPlan(n, 'withdrawn', 'customs')).catch(() => undefined)),
    );
    const expected = async (n: string) => (await ledger(n)).length;
    const counts = new Map(await Promise.all(numbers.map(async (n) => [n, await expected(n)] as const)));

    const crashNc = await connectNats({ url: nats.url, name: 'ledger-test-projector-crash' });
    const doomed = await startProjector(crashNc, buckets);
    const survivor: ProjectorHandle = await startProjector(nc, buckets);
    await waitFor(
      async () => (await jsm.consumers.info(STREAM_CUSTOMS, CUSTOMS_CONSUMER)).delivered.stream_seq > 0,
    );
    await crashNc.close();
    await doomed.stop().catch(() => undefined);
    await allProjected(numbers, (n) => counts.get(n) ?? 0);
    // Everything on the ledger projected (earlier tests' entries too), nothing left pending.
    await drained();
    await survivor.stop();

    const onFeed = (await jsm.streams.info(STREAM_DECISIONS)).state.messages;
    // Past the duplicate window (1 s here), the projection starts over from the first entry.
    await jsm.consumers.delete(STREAM_CUSTOMS, CUSTOMS_CONSUMER);
    // Polled, not slept: a message id is accepted again once the window has passed.
    const probe = 'ps.customs.decisions.window-probe';
    await js.publish(probe, new Uint8Array(), { msgID: 'window-probe' });
    await waitFor(
      async () => !(await js.publish(probe, new Uint8Array(), { msgID: 'window-probe' })).duplicate,
      {
        intervalMs: 200,
        what: 'the duplicate window to pass',
      },
    );
    await jsm.streams.purge(STREAM_DECISIONS, { filter: probe });
    const again = await startProjector(nc, buckets);
    try {
      await drained();
    } finally {
      await again.stop();
    }
    expect((await jsm.streams.info(STREAM_DECISIONS)).state.messages).toBe(onFeed);
    for (const n of numbers.slice(0, 10)) {
      const f = await feed(n);
      expect(f.map((x) => x.index)).toEqual(f.map((_, i) => `${n}:${i}`));
      expect(f.length).toBe(counts.get(n));
    }
  });
});

/** Alternate origins so some declarations are held (and cancellable) and some cleared. */
const i2origin = (n: string): string => (Number(n) % 2 === 0 ? 'KP' : 'CN');
