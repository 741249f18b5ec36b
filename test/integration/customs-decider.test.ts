import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../core/logger.js';
import { ensureBuckets } from '../../core/nats/buckets.js';
import type { Buckets } from '../../core/nats/buckets.js';
import { connectNats } from '../../core/nats/connect.js';
import { ensureStreams, STREAM_DEADLETTERS, STREAM_DECISIONS, subjects } from '../../core/nats/topology.js';
import { decodeContainerRecord, encodeContainerRecord } from '../../core/state/container.js';
import { decodeDeclarationState } from '../../core/state/declaration.js';
import { ContainerLocation, ContainerStatus } from '../../proto/gen/portstream/v1/tracking.js';
import { customsStatusOf } from '../../core/state/release.js';
import { CargoFlow } from '../../proto/gen/portstream/v1/manifest.js';
import {
  Channel,
  Decision,
  ClearanceStatus,
  DeclarationType,
  DocumentType,
  EnterprisePriority,
  InspectionOutcome,
} from '../../proto/gen/portstream/v1/customs.js';
import type { Declaration } from '../../proto/gen/portstream/v1/customs.js';
import {
  ContainerBookkeeping,
  DeclarationAction,
  DeclarationCommand,
} from '../../proto/gen/portstream/v1/records.js';
import { startCustomsDecider } from '../../processor/customs/decider.js';
import type { DeciderHandle } from '../../processor/customs/decider.js';
import { ruleSetSchema } from '../../processor/rules/schema.js';
import { submit as submitDeclaration, watchAndRead } from '../../ingest/customs/clearance.js';
import { DecisionFeed } from '../../ingest/customs/decision-feed.js';
import { startTestNats } from '../helpers/nats.js';
import type { TestNats } from '../helpers/nats.js';
import { waitFor } from '../helpers/poll.js';

const rules = ruleSetSchema.parse({
  version: 'it-1',
  highRiskOrigins: ['KP'],
  firstTimeDeclarantChannel: 'GREEN',
});
const opts = { replicas: 1, eventsMaxAgeHours: 1, eventsMaxBytes: 1 << 28, duplicateWindowSeconds: 120 };

const declaration = (n: string, origin = 'CN'): Declaration => ({
  declarationNumber: n,
  type: DeclarationType.IMPORT,
  declarantTaxCode: '0100109106',
  traderTaxCode: '0100109106',
  traderName: 'T',
  priority: EnterprisePriority.STANDARD,
  goods: [
    {
      hsCode: '84713020',
      description: 'laptops',
      quantity: 1,
      unit: 'PCE',
      customsValue: { currencyCode: 'USD', units: 500, nanos: 0 },
      originCountry: origin,
      grossWeightKg: 3,
    },
  ],
  containerNumbers: [],
  vessel: undefined,
  portOfLoading: 'CNSHA',
  portOfDischarge: 'VNHPH',
  documents: [{ type: DocumentType.COMMERCIAL_INVOICE, reference: 'I' }],
  customsOffice: '03CC',
  declaredTime: undefined,
  billNumbers: [],
});

const numberOf = (i: number): string => String(100000000000 + i);

describe('customs decider', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  let buckets: Buckets;

  const send = async (
    id: string,
    action: DeclarationAction,
    n: string,
    over: Partial<DeclarationCommand> = {},
  ) => {
    const cmd = DeclarationCommand.fromPartial({
      commandId: id,
      action,
      declarationNumber: n,
      receivedTime: new Date(),
      ...over,
    });
    await js.publish(subjects.customsCommand(n), DeclarationCommand.encode(cmd).finish(), { msgID: id });
  };
  const stateOf = async (n: string) => {
    const e = await buckets.declarations.get(n);
    return e && e.operation === 'PUT' ? decodeDeclarationState(e.value) : undefined;
  };
  const decisionCount = async (): Promise<number> =>
    (await jsm.streams.info(STREAM_DECISIONS)).state.messages;
  const start = (client: JetStreamClient = js, bs: Buckets = buckets): Promise<DeciderHandle> =>
    startCustomsDecider({
      js: client,
      jsm,
      buckets: bs,
      rules: () => rules,
      logger: silentLogger(),
      concurrency: 16,
    });

  beforeAll(async () => {
    nats = await startTestNats();
    nc = await connectNats({ url: nats.url, name: 'test' });
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
    await ensureStreams(jsm, opts);
    buckets = await ensureBuckets(js, 1);
  });
  afterAll(async () => {
    await nc.close();
    await nats.cleanup();
  });

  it('decides, ignores duplicates, amends, inspects, cancels and dead-letters what cannot apply', async () => {
    const d = await start();
    try {
      await send('a1', DeclarationAction.SUBMIT, numberOf(1), { declaration: declaration(numberOf(1)) });
      await send('b1', DeclarationAction.SUBMIT, numberOf(2), {
        declaration: declaration(numberOf(2), 'KP'),
      });
      await send('a1-again', DeclarationAction.SUBMIT, numberOf(1), {
        declaration: declaration(numberOf(1)),
      });
      // Position 0 until the decision is confirmed on the stream (the state is written first).
      const a = await waitFor(async () => {
        const d = (await stateOf(numberOf(1)))?.decisions[0];
        return d && d.position > 0 ? d : undefined;
      });
      expect(a).toMatchObject({
        channel: Channel.GREEN,
        status: ClearanceStatus.CLEARED,
        ruleSetVersion: 'it-1',
      });
      expect(a.position).toBeGreaterThan(0);
      const b = await waitFor(async () => (await stateOf(numberOf(2)))?.decisions[0]);
      expect(b.status).toBe(ClearanceStatus.PHYSICAL_INSPECTION);

      await send('b2', DeclarationAction.AMEND, numberOf(2), { declaration: declaration(numberOf(2), 'VN') });
      const amended = await waitFor(async () => (await stateOf(numberOf(2)))?.decisions[1]);
      expect(amended).toMatchObject({ revision: 2, status: ClearanceStatus.CLEARED });

      await send('c1', DeclarationAction.SUBMIT, numberOf(3), {
        declaration: declaration(numberOf(3), 'KP'),
      });
      await send('c2', DeclarationAction.INSPECTION_RESULT, numberOf(3), {
        outcome: InspectionOutcome.FAILED,
      });
      const refused = await waitFor(async () => (await stateOf(numberOf(3)))?.decisions[1]);
      expect(refused.status).toBe(ClearanceStatus.REFUSED);

      await send('a2', DeclarationAction.CANCEL, numberOf(1), { reason: 'too late' });
      await waitFor(async () => (await jsm.streams.info(STREAM_DEADLETTERS)).state.messages === 1);
      const dl = await jsm.streams.getMessage(STREAM_DEADLETTERS, {
        last_by_subj: subjects.deadLetter('PS_CUSTOMS'),
      });
      expect((dl?.json() as { reason: string }).reason).toContain('no longer open');
      // a1 + b1 + b2 + c1 + c2: the duplicate submission and the refused cancel published nothing.
      expect(await decisionCount()).toBe(5);
      const first = await jsm.streams.getMessage(STREAM_DECISIONS, { seq: a.position });
      expect(first?.subject).toBe(subjects.decision(numberOf(1)));
    } finally {
      await d.stop();
    }
  });

  it('holds cargo not on a manifest, and records the declaration of a manifested bill on its containers', async () => {
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
    const d = await start();
    try {
      const decide = async (no: string, fields: Partial<DeclarationCommand>) => {
        await send(`m-${no}`, DeclarationAction.SUBMIT, no, fields);
        return waitFor(async () => (await stateOf(no))?.decisions[0]);
      };
      const held = await decide(numberOf(701), {
        declaration: { ...declaration(numberOf(701)), billNumbers: ['FAKEDEC0000001'] },
        unmanifestedBillNumbers: ['FAKEDEC0000001'],
      });
      expect(held.channel).toBe(Channel.RED);
      expect(held.rules.find((r) => r.code === 'CARGO_NOT_MANIFESTED')?.reason).toBe(
        "bill FAKEDEC0000001 is on no carrier's cargo manifest",
      );
      const cleared = await decide(numberOf(702), {
        declaration: {
          ...declaration(numberOf(702)),
          billNumbers: ['HLCUDEC0000001'],
          containerNumbers: [box],
        },
      });
      expect(cleared.rules.map((r) => r.code)).not.toContain('CARGO_NOT_MANIFESTED');
      const rec = await waitFor(async () => {
        const e = await buckets.containers.get(box);
        const r = e ? decodeContainerRecord(e.value) : undefined;
        return r?.bookkeeping.shipments[0]?.bills[0]?.declarationNumbers.includes(numberOf(702))
          ? r
          : undefined;
      });
      expect(rec.status.declarationNumbers).toEqual([numberOf(702)]);
      expect(rec.bookkeeping.shipments[0]?.bills[0]?.customsStatus).toBe(customsStatusOf(cleared.status));
    } finally {
      await d.stop();
    }
  });

  it('two deciders at once, one crashed mid-stream and restarted: every declaration decided exactly once', async () => {
    const before = await decisionCount();
    // The first instance has its own connection, closed abruptly mid-stream (a crash): its unacked commands
    // come back after ack_wait to the others.
    const nc1 = await connectNats({ url: nats.url, name: 'crashing' });
    const js1 = jetstream(nc1);
    const one = await start(js1, await ensureBuckets(js1, 1));
    const two = await start();
    const N = 300;
    const sends: Promise<void>[] = [];
    for (let i = 100; i < 100 + N; i++) {
      sends.push(
        send(`m${i}`, DeclarationAction.SUBMIT, numberOf(i), { declaration: declaration(numberOf(i)) }),
      );
    }
    await Promise.all(sends);
    await waitFor(async () => (await decisionCount()) > before + 20);
    await nc1.close();
    void one.stop().catch(() => undefined);
    const three = await start();
    try {
      await waitFor(async () => (await decisionCount()) >= before + N, { timeoutMs: 30_000 });
      await waitFor(
        async () => (await jsm.consumers.info('PS_CUSTOMS', 'processor-customs')).num_ack_pending === 0,
      );
      expect(await decisionCount()).toBe(before + N);
      for (let i = 100; i < 100 + N; i += 37) expect((await stateOf(numberOf(i)))?.decisions).toHaveLength(1);
    } finally {
      await Promise.all([two.stop(), three.stop()]);
    }
  });

  it('two deciders given a cancel and an inspection result at once: one applies, and stream and state agree', async () => {
    const one = await start();
    const two = await start();
    const N = 120;
    const numbers = Array.from({ length: N }, (_, i) => numberOf(2000 + i));
    const deadBefore = (await jsm.streams.info(STREAM_DEADLETTERS)).state.messages;
    try {
      await Promise.all(
        numbers.map((n) =>
          send(`s-${n}`, DeclarationAction.SUBMIT, n, { declaration: declaration(n, 'KP') }),
        ),
      );
      await waitFor(
        async () => {
          for (const n of numbers) if ((await stateOf(n))?.decisions[0]?.position === 0) return false;
          return (await Promise.all(numbers.map(stateOf))).every((st) => st?.decisions.length === 1);
        },
        { timeoutMs: 30_000, what: 'every declaration held for inspection' },
      );
      // A declaration's two commands are published 2 x SPREAD messages apart, so they tend to be in different
      // pulls, taken by different instances, and handled at the same time.
      const SPREAD = 16;
      const sends: Promise<void>[] = [];
      for (let i = 0; i < N + SPREAD; i++) {
        const c = numbers[i];
        const x = numbers[i - SPREAD];
        if (c !== undefined) sends.push(send(`x-${c}`, DeclarationAction.CANCEL, c, { reason: 'withdrawn' }));
        if (x !== undefined)
          sends.push(
            send(`i-${x}`, DeclarationAction.INSPECTION_RESULT, x, { outcome: InspectionOutcome.PASSED }),
          );
      }
      await Promise.all(sends);
      await waitFor(
        async () =>
          (await jsm.consumers.info('PS_CUSTOMS', 'processor-customs')).num_pending === 0 &&
          (await jsm.consumers.info('PS_CUSTOMS', 'processor-customs')).num_ack_pending === 0,
        { timeoutMs: 30_000, what: 'every command handled' },
      );
    } finally {
      await Promise.all([one.stop(), two.stop()]);
    }
    const wrong: string[] = [];
    for (const n of numbers) {
      const st = await stateOf(n);
      const last = await jsm.streams.getMessage(STREAM_DECISIONS, { last_by_subj: subjects.decision(n) });
      const onStream = last ? Decision.decode(last.data) : undefined;
      const second = st?.decisions[1];
      // Exactly one of the two applied; the stream's latest decision is the one the state holds, at its position.
      if (st?.decisions.length !== 2 || second?.status !== onStream?.status || second?.position !== last?.seq)
        wrong.push(
          `${n}: state ${String(st?.decisions.map((d) => d.status))}, stream ${String(onStream?.status)}`,
        );
    }
    expect(wrong).toEqual([]);
    // The other command of each pair could not apply any more and was dead-lettered.
    expect((await jsm.streams.info(STREAM_DEADLETTERS)).state.messages - deadBefore).toBe(N);
  });

  it('submit waits for the decision from the stream, answers a resubmission the same, and times out as pending', async () => {
    const d = await start();
    const feed = new DecisionFeed(nc, js, jsm, silentLogger());
    const deps = { nc, js, jsm, declarations: buckets.declarations, feed };
    const submit = async (decl: Declaration, waitMs: number): Promise<Decision | undefined> => {
      const watched = await watchAndRead(deps, decl.declarationNumber);
      try {
        return await submitDeclaration(deps, decl, waitMs, watched);
      } finally {
        watched.waiter.close();
      }
    };
    try {
      const n = numberOf(900);
      const first = await submit(declaration(n), 5000);
      expect(first).toMatchObject({
        declarationNumber: n,
        channel: Channel.GREEN,
        status: ClearanceStatus.CLEARED,
      });
      expect(first?.position).toBeGreaterThan(0);
      const again = await submit(declaration(n), 5000);
      expect(again).toEqual(first);
    } finally {
      await d.stop();
    }
    // No decider running: the deadline passes and the caller gets no decision (PENDING).
    expect(await submit(declaration(numberOf(901)), 50)).toBeUndefined();
    await feed.stop();
  });
});
