// Declarants as attackers, through the public CustomsService: two firms racing for one declaration number
// (decided at once, and with NATS stalled so both calls are answered PENDING and decided after) each get their
// own decision or a refusal, never the other's.
import { Metadata, status, type CallOptions, type ServiceError } from '@grpc/grpc-js';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenAuthenticator } from '../../core/auth/tokens.js';
import { startGrpcServer, type RunningGrpcServer } from '../../core/grpc/server.js';
import { silentLogger } from '../../core/logger.js';
import { ensureBucket, ensureBuckets, type Buckets } from '../../core/nats/buckets.js';
import { connectNats } from '../../core/nats/connect.js';
import { ensureStreams } from '../../core/nats/topology.js';
import { RateLimiter } from '../../core/rate-limit.js';
import {
  createEnterpriseService,
  inForceWith,
  putEnterprise as putRecord,
  seedRegister,
} from '../../ingest/customs/enterprises.js';
import { readEnterprise } from '../../core/state/enterprise.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  EnterpriseServiceClient,
  type Enterprise,
  type GetEnterpriseResponse,
  type ListEnterprisesResponse,
  type PutEnterpriseResponse,
} from '../../proto/gen/portstream/v1/enterprise.js';
import type { ProjectorHandle } from '../../processor/customs/projector.js';
import { DEFAULT_RULES } from '../../core/customs/rules/store.js';
import {
  Channel,
  ClearanceStatus,
  CustomsServiceClient,
  EnterprisePriority,
  NextStepKind,
  type Declaration,
  type GetDeclarationResponse,
  type SubmitDeclarationResponse,
} from '../../proto/gen/portstream/v1/customs.js';
import { clientAs } from '../../test-kit/auth.js';
import { customsService, decider, registerCopy, startProjector } from '../helpers/customs.js';
import { submitPlan } from '../../ingest/customs/plans.js';
import type { KvMirror } from '../../core/nats/kv-mirror.js';
import { FIRM_TAX, numberSequence, OTHER_TAX, sampleDeclaration } from '../helpers/declarations.js';
import { startTestNats, type TestNats } from '../helpers/nats.js';
import { uniqueName, waitFor } from '../../test-kit/poll.js';

const TOKENS = {
  firmA: 'attack-test-firm-a-token-0123456789',
  firmB: 'attack-test-firm-b-token-0123456789',
  customs: 'attack-test-customs-token-0123456789',
  admin: 'attack-test-admin-token-0123456789',
} as const;

const auth = new TokenAuthenticator({
  tokens: [
    { name: 'firm-a', role: 'firm', token: TOKENS.firmA, tax_codes: [FIRM_TAX] },
    { name: 'firm-b', role: 'firm', token: TOKENS.firmB, tax_codes: [OTHER_TAX] },
    { name: 'customs', role: 'customs', token: TOKENS.customs },
    { name: 'admin', role: 'admin', token: TOKENS.admin },
  ],
});

const opts = { replicas: 1, eventsMaxAgeHours: 1, eventsMaxBytes: 1 << 28, duplicateWindowSeconds: 120 };
const nextNumber = numberSequence(108700000000);

type Callback<Res> = (err: ServiceError | null, res?: Res) => void;
function rpc<Res>(
  start: (md: Metadata, o: Partial<CallOptions>, cb: Callback<Res>) => unknown,
  timeoutMs = 10_000,
): Promise<Res> {
  return new Promise((resolve, reject) => {
    start(new Metadata(), { deadline: Date.now() + timeoutMs }, (err, res) => {
      if (err) reject(err);
      else resolve(res as Res);
    });
  });
}

/** Firm A's declaration (red: high-risk origin) and firm B's (yellow: tobacco) under the same number. */
const declarationOfA = (n: string): Declaration =>
  sampleDeclaration('red', n, { declarantTaxCode: FIRM_TAX, traderTaxCode: FIRM_TAX });
const declarationOfB = (n: string): Declaration =>
  sampleDeclaration('yellow', n, { declarantTaxCode: OTHER_TAX, traderTaxCode: OTHER_TAX });

type Outcome = { ok: SubmitDeclarationResponse } | { refused: status };

describe('customs: a declarant cannot game the decision', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  let buckets: Buckets;
  let projector: ProjectorHandle | undefined;
  let copy: KvMirror | undefined;
  let grpc: RunningGrpcServer;
  const clients: Record<keyof typeof TOKENS, CustomsServiceClient> = {} as never;
  const registers: Record<keyof typeof TOKENS, EnterpriseServiceClient> = {} as never;

  const submit = async (
    c: CustomsServiceClient,
    declaration: Declaration,
    timeoutMs = 10_000,
  ): Promise<Outcome> => {
    try {
      return {
        ok: await rpc<SubmitDeclarationResponse>(
          (md, o, cb) => c.submitDeclaration({ declaration }, md, o, cb),
          timeoutMs,
        ),
      };
    } catch (err) {
      return { refused: (err as ServiceError).code };
    }
  };
  const get = (c: CustomsServiceClient, declarationNumber: string) =>
    rpc<GetDeclarationResponse>((md, o, cb) => c.getDeclaration({ declarationNumber }, md, o, cb));
  const putEnterprise = (c: EnterpriseServiceClient, enterprise: Enterprise, reason: string) =>
    rpc<PutEnterpriseResponse>((md, o, cb) =>
      c.putEnterprise({ enterprise, reason, expectedRevision: 0 }, md, o, cb),
    );
  const getEnterprise = (c: EnterpriseServiceClient, taxCode: string) =>
    rpc<GetEnterpriseResponse>((md, o, cb) => c.getEnterprise({ taxCode }, md, o, cb));
  const listEnterprises = (c: EnterpriseServiceClient) =>
    rpc<ListEnterprisesResponse>((md, o, cb) => c.listEnterprises({}, md, o, cb));
  const codeOf = async (p: Promise<unknown>): Promise<status> => {
    try {
      await p;
    } catch (err) {
      return (err as ServiceError).code;
    }
    throw new Error('call succeeded');
  };
  /** Phones at 1 USD a piece (far under the reference price: VALUE_ANOMALY), declared and traded by `tax`. */
  const cheapPhones = (n: string, tax: string, priority: EnterprisePriority): Declaration =>
    sampleDeclaration('green', n, {
      declarantTaxCode: tax,
      traderTaxCode: tax,
      priority,
      goods: [
        {
          hsCode: '85171300',
          description: 'smartphones',
          quantity: 1000,
          unit: 'PCE',
          customsValue: { currencyCode: 'USD', units: 1000, nanos: 0 },
          originCountry: 'CN',
          grossWeightKg: 300,
        },
      ],
    });
  const decide = async (c: CustomsServiceClient, d: Declaration) => {
    const r = await submit(c, d);
    if (!('ok' in r)) throw new Error(`refused: ${String(r.refused)}`);
    const full = (await get(clients.customs, d.declarationNumber)).decision;
    if (!full) throw new Error('no decision');
    return full;
  };

  beforeAll(async () => {
    nats = await startTestNats();
    nc = await connectNats({ url: nats.url, name: 'customs-attacks-test' });
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
    await ensureStreams(jsm, opts);
    buckets = await ensureBuckets(js, 1);
    projector = await startProjector(nc, buckets);
    // As the gateway is wired: the decider reads the register from its copy in memory, and a change made
    // through the EnterpriseService is in force in that copy when the call returns.
    copy = await registerCopy(buckets);
    const service = await customsService(nc, buckets, { auth, register: copy });
    const register = createEnterpriseService({
      auth,
      register: buckets.enterprises,
      log: silentLogger(),
      limiter: new RateLimiter('customs calls', { perSecond: 0, burst: 1 }),
      inForce: inForceWith(copy, silentLogger()),
    });
    grpc = await startGrpcServer(
      { host: '127.0.0.1', port: 0, maxReceiveMessageBytes: 4 * 1024 * 1024 },
      [service, register],
      silentLogger(),
    );
    for (const [who, token] of Object.entries(TOKENS)) {
      clients[who as keyof typeof TOKENS] = clientAs(CustomsServiceClient, grpc.address, token);
      registers[who as keyof typeof TOKENS] = clientAs(EnterpriseServiceClient, grpc.address, token);
    }
  });
  afterAll(async () => {
    for (const c of [...Object.values(clients), ...Object.values(registers)]) c.close();
    await grpc.shutdown(2000);
    copy?.stop();
    await projector?.stop();
    await nc.close();
    await nats.cleanup();
  });

  /**
   * Two firms submit different declarations under one number at once. Exactly one binds the number; the other is
   * refused with ALREADY_EXISTS, never answered. Returns who won, with what answer.
   */
  const race = async (n: string, waitMs: number) => {
    const a = declarationOfA(n);
    const b = declarationOfB(n);
    // Alternate who starts first, so both orders are played.
    const calls =
      Number(n) % 2 === 0
        ? [submit(clients.firmA, a, waitMs), submit(clients.firmB, b, waitMs)]
        : [submit(clients.firmB, b, waitMs), submit(clients.firmA, a, waitMs)].reverse();
    const [ra, rb] = await Promise.all(calls);
    if (ra === undefined || rb === undefined) throw new Error('missing answer');
    const won = [ra, rb].filter((r) => 'ok' in r);
    expect(won, `number ${n}: exactly one submission binds it`).toHaveLength(1);
    for (const r of [ra, rb]) if ('refused' in r) expect(r.refused).toBe(status.ALREADY_EXISTS);
    return 'ok' in ra
      ? { winner: 'A' as const, declaration: a, answer: ra.ok }
      : { winner: 'B' as const, declaration: b, answer: (rb as { ok: SubmitDeclarationResponse }).ok };
  };

  const CHANNEL_OF = { A: Channel.RED, B: Channel.YELLOW } as const;

  it('two firms racing for one number: one binds it and gets its own decision, the other is refused', async () => {
    for (let round = 0; round < 30; round++) {
      const n = nextNumber();
      const { winner, declaration, answer } = await race(n, 10_000);
      expect(answer.decision?.channel, `number ${n}`).toBe(CHANNEL_OF[winner]);
      const stored = await get(clients.customs, n);
      expect(stored.declaration).toEqual(declaration);
      // The winner's resubmission is answered the same; the loser's is refused again.
      const again = await submit(winner === 'A' ? clients.firmA : clients.firmB, declaration);
      if (!('ok' in again)) throw new Error(`number ${n}: the winner's resubmission was refused`);
      expect({ ...again.ok, decision: { ...again.ok.decision, position: 0 } }).toEqual(answer);
      const loser = winner === 'A' ? declarationOfB(n) : declarationOfA(n);
      expect(await submit(winner === 'A' ? clients.firmB : clients.firmA, loser)).toEqual({
        refused: status.ALREADY_EXISTS,
      });
    }
  });

  it("a firm's view of its decision carries channel, status and next steps, no rules or thresholds", async () => {
    const n = nextNumber();
    // Phones at 1 USD a piece: far under the reference unit price, so VALUE_ANOMALY fires (YELLOW at least).
    const cheap = sampleDeclaration('green', n, {
      declarantTaxCode: FIRM_TAX,
      traderTaxCode: FIRM_TAX,
      goods: [
        {
          hsCode: '85171300',
          description: 'smartphones',
          quantity: 1000,
          unit: 'PCE',
          customsValue: { currencyCode: 'USD', units: 1000, nanos: 0 },
          originCountry: 'CN',
          grossWeightKg: 300,
        },
      ],
    });
    const r = await submit(clients.firmA, cheap);
    if (!('ok' in r)) throw new Error(`refused: ${String(r.refused)}`);
    const full = await get(clients.customs, n);
    expect(full.decision?.rules.map((h) => h.code)).toContain('VALUE_ANOMALY');
    expect(full.decision?.ruleSetVersion).toBe(DEFAULT_RULES.version);
    const own = await get(clients.firmA, n);
    for (const d of [r.ok.decision, own.decision, ...own.history]) {
      expect(d?.channel).toBe(full.decision?.channel);
      expect(d).toMatchObject({ rules: [], ruleSetVersion: '', note: '', selectionSecretVersion: '' });
      expect(d?.nextSteps.length).toBeGreaterThan(0);
    }
    const first = {
      [Channel.GREEN]: NextStepKind.COLLECT_GOODS,
      [Channel.YELLOW]: NextStepKind.PRESENT_DOCUMENTS,
      [Channel.RED]: NextStepKind.BOOK_INSPECTION,
    } as Partial<Record<Channel, NextStepKind>>;
    expect(own.decision?.nextSteps[0]?.kind).toBe(first[full.decision?.channel ?? Channel.UNSPECIFIED]);
    // Nothing of the rule book: no code, no percentage of a reference, no reference price.
    const seen = JSON.stringify([r.ok.decision, own.decision, own.history]);
    expect(seen).not.toMatch(/VALUE_ANOMALY|reference|%|\b120\b/);
  });

  it("an unregistered firm's AEO claim changes nothing; customs' register entry does", async () => {
    // Firm A is not on the register: with or without the claim, the same channel and the same rules.
    const plain = await decide(
      clients.firmA,
      cheapPhones(nextNumber(), FIRM_TAX, EnterprisePriority.STANDARD),
    );
    const claimed = await decide(clients.firmA, cheapPhones(nextNumber(), FIRM_TAX, EnterprisePriority.AEO));
    expect(plain.channel).not.toBe(Channel.GREEN);
    expect(claimed.channel).toBe(plain.channel);
    expect(claimed.rules.map((h) => h.code)).toEqual(plain.rules.map((h) => h.code));
    expect(claimed.rules.map((h) => h.code)).not.toContain('PRIORITY_ENTERPRISE');

    // Customs registers firm B as AEO: B's same goods are cleared, the soft rule recorded but not raising the channel.
    const { record } = await putEnterprise(
      registers.customs,
      {
        taxCode: OTHER_TAX,
        name: 'Sample Trading JSC',
        priority: EnterprisePriority.AEO,
        watchListed: false,
        watchReason: '',
        licences: [],
      },
      'AEO certificate 2026/17 granted',
    );
    expect(record).toMatchObject({ changedBy: 'customs', reason: 'AEO certificate 2026/17 granted' });
    const aeo = await decide(
      clients.firmB,
      cheapPhones(nextNumber(), OTHER_TAX, EnterprisePriority.STANDARD),
    );
    expect(aeo.channel).toBe(Channel.GREEN);
    expect(aeo.rules.map((h) => h.code)).toEqual(
      expect.arrayContaining(['VALUE_ANOMALY', 'PRIORITY_ENTERPRISE']),
    );

    // Watch-listed by customs (a new, audited version): no longer green, whatever B claims.
    await putEnterprise(
      registers.admin,
      { ...(record?.enterprise as Enterprise), watchListed: true, watchReason: 'undervaluation inquiry' },
      'referred by post-clearance audit',
    );
    const watched = await decide(clients.firmB, cheapPhones(nextNumber(), OTHER_TAX, EnterprisePriority.AEO));
    expect(watched.channel).toBe(Channel.RED);
    const audit = await getEnterprise(registers.customs, OTHER_TAX);
    expect(audit.record).toMatchObject({ changedBy: 'admin', reason: 'referred by post-clearance audit' });
    expect(audit.history.map((h) => [h.changedBy, h.reason])).toEqual([
      ['customs', 'AEO certificate 2026/17 granted'],
    ]);
    // Back to plain AEO for the tests after this one.
    await putEnterprise(registers.customs, record?.enterprise as Enterprise, 'inquiry closed');
  });

  it('a firm cannot read or write the register, and the register is unchanged after it tried', async () => {
    const before = await listEnterprises(registers.customs);
    const forged: Enterprise = {
      taxCode: FIRM_TAX,
      name: 'Firm A',
      priority: EnterprisePriority.AEO,
      watchListed: false,
      watchReason: '',
      licences: [{ reference: 'GP-1/BCT', hsPrefixes: ['3004'], validUntil: undefined }],
    };
    expect(await codeOf(putEnterprise(registers.firmA, forged, 'we are AEO'))).toBe(status.PERMISSION_DENIED);
    expect(await codeOf(getEnterprise(registers.firmA, OTHER_TAX))).toBe(status.PERMISSION_DENIED);
    expect(await codeOf(listEnterprises(registers.firmB))).toBe(status.PERMISSION_DENIED);
    expect(await listEnterprises(registers.customs)).toEqual(before);
    expect(await codeOf(getEnterprise(registers.customs, FIRM_TAX))).toBe(status.NOT_FOUND);
    // Bad input is refused naming the field, and not stored.
    const bad = { ...forged, licences: [{ reference: 'X', hsPrefixes: ['30A4'], validUntil: undefined }] };
    const err = await putEnterprise(registers.customs, bad, 'typo').catch((e: unknown) => e as ServiceError);
    expect(err).toMatchObject({ code: status.INVALID_ARGUMENT });
    expect((err as ServiceError).details).toContain('enterprise.licences[0].hs_prefixes[0]');
    expect(await listEnterprises(registers.customs)).toEqual(before);
  });

  it('seeds the register from a file once: entries customs changed since are left alone', async () => {
    const kv = await ensureBucket(js, uniqueName('seed_register'), 1, 64);
    const dir = await mkdtemp(path.join(tmpdir(), 'portstream-seed-'));
    try {
      const file = path.join(dir, 'enterprises.json');
      await writeFile(
        file,
        JSON.stringify({
          enterprises: [
            { taxCode: OTHER_TAX, name: 'Sample Trading JSC', priority: 'ENTERPRISE_PRIORITY_AEO' },
            {
              taxCode: FIRM_TAX,
              name: 'Firm A',
              priority: 'ENTERPRISE_PRIORITY_STANDARD',
              licences: [{ reference: 'GP-1/BCT', hsPrefixes: ['3004'], validUntil: '2030-01-01T00:00:00Z' }],
            },
          ],
        }),
      );
      expect(await seedRegister(kv, file, silentLogger())).toBe(2);
      const seeded = await readEnterprise(kv, FIRM_TAX);
      expect(seeded).toMatchObject({ changedBy: 'seed', reason: `seeded from ${file}` });
      expect(seeded?.enterprise?.licences[0]?.hsPrefixes).toEqual(['3004']);
      await putRecord(
        kv,
        { ...(seeded?.enterprise as Enterprise), priority: EnterprisePriority.AEO },
        {
          by: 'customs',
          reason: 'AEO granted',
        },
      );
      expect(await seedRegister(kv, file, silentLogger())).toBe(0);
      expect((await readEnterprise(kv, FIRM_TAX))?.enterprise?.priority).toBe(EnterprisePriority.AEO);
      await writeFile(file, JSON.stringify({ enterprises: [{ taxCode: '123', name: 'x' }] }));
      await expect(seedRegister(kv, file, silentLogger())).rejects.toThrow(/enterprises\[0\]\.tax_code/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('with NATS stalled, both calls are answered PENDING; after, the number is bound once and never answered across', async () => {
    // The projection stopped too: nothing the ledger does depends on it.
    await projector?.stop();
    projector = undefined;
    const rounds = new Map<string, Outcome[]>();
    try {
      for (let round = 0; round < 8; round++) {
        const n = nextNumber();
        await nats.server.freeze();
        try {
          rounds.set(
            n,
            await Promise.all([
              submit(clients.firmA, declarationOfA(n), 800),
              submit(clients.firmB, declarationOfB(n), 800),
            ]),
          );
        } finally {
          nats.server.thaw();
        }
      }
    } finally {
      projector = await startProjector(nc, buckets);
    }
    for (const [n, answers] of rounds) {
      for (const a of answers)
        expect(a).toEqual({ ok: { declarationNumber: n, status: ClearanceStatus.PENDING } });
      // The stalled calls finish after their answer: one bound the number, or neither (NATS timed them out),
      // and then these re-sends bind it; in either case the same order of play as any race.
      await Promise.all([submit(clients.firmA, declarationOfA(n)), submit(clients.firmB, declarationOfB(n))]);
      const stored = await get(clients.customs, n);
      expect(stored.history).toHaveLength(1);
      const winner = stored.declaration?.declarantTaxCode === FIRM_TAX ? 'A' : 'B';
      expect(stored.decision?.channel).toBe(CHANNEL_OF[winner]);
      // Each firm now: the winner its own decision, the loser a refusal.
      const [mine, theirs] =
        winner === 'A'
          ? [submit(clients.firmA, declarationOfA(n)), submit(clients.firmB, declarationOfB(n))]
          : [submit(clients.firmB, declarationOfB(n)), submit(clients.firmA, declarationOfA(n))];
      expect('ok' in (await mine) && (await mine)).toMatchObject({
        ok: { decision: { channel: CHANNEL_OF[winner] } },
      });
      expect(await theirs).toEqual({ refused: status.ALREADY_EXISTS });
    }
  });

  it('a register change made through one gateway reaches the decisions of another', async () => {
    // Another gateway: its own decider reading its own copy of the register, as a second gateway process has.
    const otherCopy = await registerCopy(buckets);
    const other = decider(nc, buckets, { register: otherCopy });
    const firmA = (priority: EnterprisePriority): Enterprise => ({
      taxCode: FIRM_TAX,
      name: 'Firm A Logistics',
      priority,
      watchListed: false,
      watchReason: '',
      licences: [],
    });
    const onOther = (d: Declaration) => other.run(d.declarationNumber, submitPlan(d, d, [], 'firm-a'));
    try {
      const before = await onOther(cheapPhones(nextNumber(), FIRM_TAX, EnterprisePriority.STANDARD));
      expect(before.decision.channel).not.toBe(Channel.GREEN);
      // Customs grants AEO through the first gateway; the other's copy receives it from its watch.
      const { record } = await putEnterprise(
        registers.customs,
        firmA(EnterprisePriority.AEO),
        'AEO certificate 2026/18 granted',
      );
      await waitFor(async () => (await readEnterprise(otherCopy, FIRM_TAX))?.revision === record?.revision, {
        what: "the other gateway's copy of the register",
      });
      const after = await onOther(cheapPhones(nextNumber(), FIRM_TAX, EnterprisePriority.STANDARD));
      expect(after.decision.channel).toBe(Channel.GREEN);
      expect(after.decision.rules.map((h) => h.code)).toContain('PRIORITY_ENTERPRISE');
    } finally {
      otherCopy.stop();
      await putEnterprise(registers.customs, firmA(EnterprisePriority.STANDARD), 'test over');
    }
  });
});
