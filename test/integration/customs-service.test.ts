import {
  Metadata,
  status,
  type CallOptions,
  type ClientReadableStream,
  type ServiceError,
} from '@grpc/grpc-js';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { histogramFrom } from '../../bench/harness/measure.js';
import { customsCommandSeconds } from '../../ingest/customs/service.js';
import { silentLogger } from '../../core/logger.js';
import { ensureBuckets, type Buckets } from '../../core/nats/buckets.js';
import { connectNats } from '../../core/nats/connect.js';
import { startGrpcServer, type RunningGrpcServer } from '../../core/grpc/server.js';
import { ensureStreams, STREAM_CUSTOMS, STREAM_DECISIONS, subjects } from '../../core/nats/topology.js';
import { CUSTOMS_CONSUMER } from '../../core/consumer/index.js';
import type { ProjectorHandle } from '../../processor/customs/projector.js';
import { DEFAULT_RULES } from '../../core/customs/rules/store.js';
import {
  Channel,
  ClearanceStatus,
  CustomsServiceClient,
  Decision,
  InspectionOutcome,
  type AmendDeclarationResponse,
  type CancelDeclarationResponse,
  type Declaration,
  type GetDeclarationResponse,
  type RecordInspectionResultResponse,
  type SubmitDeclarationResponse,
  type WatchDecisionsRequest,
  type WatchDecisionsResponse,
} from '../../proto/gen/portstream/v1/customs.js';
import { clientAs, TOKENS } from '../../test-kit/auth.js';
import { customsService, startProjector } from '../helpers/customs.js';
import {
  FIRM_TAX,
  numberSequence,
  registerSampleEnterprises,
  sampleDeclaration,
  type Kind,
} from '../helpers/declarations.js';
import { startTestNats, type TestNats } from '../helpers/nats.js';
import { waitFor } from '../../test-kit/poll.js';

const opts = { replicas: 1, eventsMaxAgeHours: 1, eventsMaxBytes: 1 << 28, duplicateWindowSeconds: 120 };

const nextNumber = numberSequence();

function sample(kind: Kind, over: Partial<Declaration> = {}): Declaration {
  return sampleDeclaration(kind, over.declarationNumber ?? nextNumber(), over);
}

type Callback<Res> = (err: ServiceError | null, res?: Res) => void;

/** One unary call with a deadline, as a promise. */
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

interface Watch {
  call: ClientReadableStream<WatchDecisionsResponse>;
  decisions: Decision[];
  ended: Promise<ServiceError | undefined>;
}

function watch(c: CustomsServiceClient, req: Partial<WatchDecisionsRequest>): Watch {
  const call = c.watchDecisions({ afterPosition: 0, fromStart: false, channels: [], ...req });
  const decisions: Decision[] = [];
  call.on('data', (r: WatchDecisionsResponse) => {
    if (r.decision) decisions.push(r.decision);
  });
  const ended = new Promise<ServiceError | undefined>((resolve) => {
    call.on('error', (e: ServiceError) => {
      resolve(e);
    });
    call.on('end', () => {
      resolve(undefined);
    });
  });
  return { call, decisions, ended };
}

/** The decision without its feed position (the answer to the command that made it has none yet). */
const unplaced = (d: Decision | undefined): Decision | undefined => d && { ...d, position: 0 };

describe('customs service', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  let buckets: Buckets;
  let projector: ProjectorHandle | undefined;
  let grpc: RunningGrpcServer;
  let customs: CustomsServiceClient;
  let admin: CustomsServiceClient;
  let firm: CustomsServiceClient;
  let operator: CustomsServiceClient;
  let anonymous: CustomsServiceClient;
  const shutdown = new AbortController();
  const registry = new Registry();

  const startProjecting = async (): Promise<void> => {
    projector = await startProjector(nc, buckets);
  };

  const submit = (c: CustomsServiceClient, declaration: Declaration, timeoutMs = 10_000) =>
    rpc<SubmitDeclarationResponse>((md, o, cb) => c.submitDeclaration({ declaration }, md, o, cb), timeoutMs);
  const amend = (c: CustomsServiceClient, declaration: Declaration) =>
    rpc<AmendDeclarationResponse>((md, o, cb) =>
      c.amendDeclaration({ declaration, reason: 'corrected' }, md, o, cb),
    );
  const cancel = (c: CustomsServiceClient, declarationNumber: string) =>
    rpc<CancelDeclarationResponse>((md, o, cb) =>
      c.cancelDeclaration({ declarationNumber, reason: 'withdrawn' }, md, o, cb),
    );
  const inspect = (c: CustomsServiceClient, declarationNumber: string, outcome: InspectionOutcome) =>
    rpc<RecordInspectionResultResponse>((md, o, cb) =>
      c.recordInspectionResult(
        { declarationNumber, outcome, inspector: 'Officer Tran', remarks: 'ok' },
        md,
        o,
        cb,
      ),
    );
  const get = (c: CustomsServiceClient, declarationNumber: string) =>
    rpc<GetDeclarationResponse>((md, o, cb) => c.getDeclaration({ declarationNumber }, md, o, cb));
  /** The WatchDecisions calls' consumers on PS_DECISIONS. */
  const watcherConsumers = async () => await jsm.consumers.list(STREAM_DECISIONS).next();
  const watchers = async (): Promise<number> => (await watcherConsumers()).length;
  const code = async (p: Promise<unknown>): Promise<status> => {
    try {
      await p;
    } catch (err) {
      return (err as ServiceError).code;
    }
    throw new Error('call succeeded');
  };

  beforeAll(async () => {
    nats = await startTestNats();
    nc = await connectNats({ url: nats.url, name: 'customs-service-test' });
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
    await ensureStreams(jsm, opts);
    buckets = await ensureBuckets(js, 1);
    await registerSampleEnterprises(buckets.enterprises);
    await startProjecting();
    const service = await customsService(nc, buckets, {
      signal: shutdown.signal,
      commandSeconds: customsCommandSeconds(registry),
    });
    grpc = await startGrpcServer(
      { host: '127.0.0.1', port: 0, maxReceiveMessageBytes: 4 * 1024 * 1024 },
      [service],
      silentLogger(),
    );
    customs = clientAs(CustomsServiceClient, grpc.address, TOKENS.customs);
    admin = clientAs(CustomsServiceClient, grpc.address, TOKENS.admin);
    firm = clientAs(CustomsServiceClient, grpc.address, TOKENS.firm);
    operator = clientAs(CustomsServiceClient, grpc.address, TOKENS.operator);
    anonymous = clientAs(CustomsServiceClient, grpc.address, undefined);
  });
  afterAll(async () => {
    for (const c of [customs, admin, firm, operator, anonymous]) c.close();
    await grpc.shutdown(2000);
    await projector?.stop();
    await nc.close();
    await nats.cleanup();
  });

  it('answers green, yellow and red declarations with their decision, and a resubmission identically', async () => {
    const [green, yellow, red] = [sample('green'), sample('yellow'), sample('red')];
    const [g, y, r] = await Promise.all([
      submit(customs, green),
      submit(customs, yellow),
      submit(admin, red),
    ]);
    expect(g).toMatchObject({ declarationNumber: green.declarationNumber, status: ClearanceStatus.CLEARED });
    expect(g.decision).toMatchObject({
      revision: 1,
      channel: Channel.GREEN,
      ruleSetVersion: DEFAULT_RULES.version,
    });
    expect(y.status).toBe(ClearanceStatus.DOCUMENT_CHECK);
    expect(y.decision?.channel).toBe(Channel.YELLOW);
    expect(y.decision?.rules.map((h) => h.code)).toContain('HS_HIGH_RISK_CHAPTER');
    expect(r.status).toBe(ClearanceStatus.PHYSICAL_INSPECTION);
    expect(r.decision?.rules.map((h) => h.code)).toContain('HIGH_RISK_ORIGIN');
    // Answered as soon as the ledger holds it: the decision feed gives it a position after.
    for (const x of [g, y, r]) expect(x.decision?.position).toBe(0);
    const onFeed = await waitFor(async () => {
      const d = (await get(customs, green.declarationNumber)).decision;
      return d && d.position > 0 ? d : undefined;
    });
    expect(onFeed).toEqual({ ...g.decision, position: onFeed.position });

    // A resubmission is answered from the record, with the position once the feed has it.
    expect(await submit(customs, green)).toEqual({ ...g, decision: onFeed });
    const again = await submit(admin, yellow);
    expect({ ...again, decision: { ...again.decision, position: 0 } }).toEqual(y);
    // The same number with other content is not a resubmission.
    const other = sample('red', { declarationNumber: green.declarationNumber });
    expect(await code(submit(customs, other))).toBe(status.ALREADY_EXISTS);

    // Each submission was timed in the gateway: five decided (three, then two answered from the record), one refused.
    const timed = async (outcome: string): Promise<number> =>
      histogramFrom(await registry.metrics(), 'portstream_customs_command_seconds', {
        command: 'submit',
        outcome,
      }).count;
    expect(await timed('decided')).toBe(5);
    expect(await timed('error')).toBe(1);
  });

  it('rejects an invalid declaration with INVALID_ARGUMENT naming the field', async () => {
    const bad = sample('green');
    bad.goods = bad.goods.map((g) => ({ ...g, hsCode: '84X7' }));
    const err = await submit(customs, bad).catch((e: unknown) => e as ServiceError);
    expect(err).toMatchObject({ code: status.INVALID_ARGUMENT });
    expect((err as ServiceError).metadata.get('field')).toEqual(['declaration.goods[0].hs_code']);
    expect((err as ServiceError).details).toContain('declaration.goods[0].hs_code');
    expect(await code(submit(customs, sample('green', { declarantTaxCode: '123' })))).toBe(
      status.INVALID_ARGUMENT,
    );
    expect(await code(get(customs, '12345'))).toBe(status.INVALID_ARGUMENT);
    expect(await code(inspect(customs, nextNumber(), InspectionOutcome.UNSPECIFIED))).toBe(
      status.INVALID_ARGUMENT,
    );
  });

  it('lets each role do only what it may', async () => {
    const own = sample('green', { declarantTaxCode: FIRM_TAX });
    const others = sample('green');
    expect(await code(submit(anonymous, own))).toBe(status.UNAUTHENTICATED);
    expect(await code(submit(operator, own))).toBe(status.PERMISSION_DENIED);
    expect(await code(submit(firm, others))).toBe(status.PERMISSION_DENIED);
    expect((await submit(firm, own)).status).toBe(ClearanceStatus.CLEARED);
    await submit(customs, others);

    // A firm sees its own declarations only; another's is NOT_FOUND, as if it did not exist.
    expect((await get(firm, own.declarationNumber)).declaration).toEqual(own);
    expect(await code(get(firm, others.declarationNumber))).toBe(status.NOT_FOUND);
    expect((await get(customs, own.declarationNumber)).status).toBe(ClearanceStatus.CLEARED);
    expect(await code(get(operator, own.declarationNumber))).toBe(status.PERMISSION_DENIED);
    expect(await code(get(customs, nextNumber()))).toBe(status.NOT_FOUND);

    // Deciding is for customs (and admin) only.
    const held = sample('yellow', { declarantTaxCode: FIRM_TAX });
    await submit(firm, held);
    expect(await code(amend(firm, held))).toBe(status.PERMISSION_DENIED);
    expect(await code(cancel(firm, held.declarationNumber))).toBe(status.PERMISSION_DENIED);
    expect(await code(inspect(firm, held.declarationNumber, InspectionOutcome.PASSED))).toBe(
      status.PERMISSION_DENIED,
    );
    const w = watch(firm, { fromStart: true });
    expect((await w.ended)?.code).toBe(status.PERMISSION_DENIED);
  });

  it('amends an open declaration as revision 2 and refuses to amend a cleared one', async () => {
    const yellow = sample('yellow');
    expect((await submit(customs, yellow)).status).toBe(ClearanceStatus.DOCUMENT_CHECK);
    const fixed = sample('green', { declarationNumber: yellow.declarationNumber });
    const a = await amend(customs, fixed);
    expect(a).toMatchObject({
      declarationNumber: yellow.declarationNumber,
      revision: 2,
      status: ClearanceStatus.CLEARED,
    });
    expect(a.decision).toMatchObject({ revision: 2, channel: Channel.GREEN });

    // The same amendment again (a client retry) is answered the same, and assessed once.
    const retried = await amend(admin, fixed);
    expect({ ...retried, decision: unplaced(retried.decision) }).toEqual(a);

    const got = await get(customs, yellow.declarationNumber);
    expect(got).toMatchObject({ revision: 2, status: ClearanceStatus.CLEARED, declaration: fixed });
    expect(got.history.map((d) => [d.revision, d.status])).toEqual([
      [1, ClearanceStatus.DOCUMENT_CHECK],
      [2, ClearanceStatus.CLEARED],
    ]);
    expect(unplaced(got.decision)).toEqual(a.decision);

    const err = await amend(customs, yellow).catch((e: unknown) => e as ServiceError);
    expect(err).toMatchObject({ code: status.FAILED_PRECONDITION });
    expect((err as ServiceError).details).toContain('cleared');
    expect(await code(amend(customs, sample('green')))).toBe(status.NOT_FOUND);
    expect((await get(customs, yellow.declarationNumber)).history).toHaveLength(2);
  });

  it('cancels an open declaration once', async () => {
    const red = sample('red');
    await submit(customs, red);
    const c = await cancel(customs, red.declarationNumber);
    expect(c.decision).toMatchObject({
      status: ClearanceStatus.CANCELLED,
      channel: Channel.RED,
      note: 'cancelled: withdrawn',
    });
    expect(await code(cancel(customs, red.declarationNumber))).toBe(status.FAILED_PRECONDITION);
    expect(await code(cancel(customs, nextNumber()))).toBe(status.NOT_FOUND);
    expect((await get(customs, red.declarationNumber)).status).toBe(ClearanceStatus.CANCELLED);
  });

  it('clears a yellow declaration whose check passed and refuses a red one whose inspection failed', async () => {
    const [yellow, red, green] = [sample('yellow'), sample('red'), sample('green')];
    await Promise.all([submit(customs, yellow), submit(customs, red), submit(customs, green)]);
    const passed = await inspect(customs, yellow.declarationNumber, InspectionOutcome.PASSED);
    expect(passed.decision).toMatchObject({ status: ClearanceStatus.CLEARED, channel: Channel.YELLOW });
    expect(passed.decision?.note).toContain('inspection passed by Officer Tran');
    // The same result again (a retry after a lost answer) is answered with the decision it got, not recorded again.
    const again = await inspect(customs, yellow.declarationNumber, InspectionOutcome.PASSED);
    expect(again.decision).toEqual(passed.decision);
    const failed = await inspect(admin, red.declarationNumber, InspectionOutcome.FAILED);
    expect(failed.decision?.status).toBe(ClearanceStatus.REFUSED);
    expect((await get(customs, red.declarationNumber)).status).toBe(ClearanceStatus.REFUSED);
    // Nothing is held: answered from the state, before anything is persisted.
    expect(await code(inspect(customs, green.declarationNumber, InspectionOutcome.PASSED))).toBe(
      status.FAILED_PRECONDITION,
    );
    expect(await code(inspect(customs, yellow.declarationNumber, InspectionOutcome.FAILED))).toBe(
      status.FAILED_PRECONDITION,
    );
    expect(await code(amend(customs, red))).toBe(status.FAILED_PRECONDITION);
  });

  it('refuses a command that cannot apply before anything is written', async () => {
    const green = sample('green');
    await submit(customs, green);
    const before = (await jsm.streams.info('PS_CUSTOMS')).state.messages;
    const err = (await inspect(customs, green.declarationNumber, InspectionOutcome.PASSED).catch(
      (e: unknown) => e,
    )) as ServiceError;
    expect(err.code).toBe(status.FAILED_PRECONDITION);
    expect(err.details).toContain('cleared');
    expect((await jsm.streams.info('PS_CUSTOMS')).state.messages).toBe(before);
  });

  it('follows every decision from a position and misses nothing across a reconnect', async () => {
    const last = async (): Promise<number> => (await jsm.streams.info(STREAM_DECISIONS)).state.last_seq;
    // The feed trails the ledger: what the tests before decided is on it before a watch of new ones starts.
    await waitFor(
      async () => {
        const c = await jsm.consumers.info(STREAM_CUSTOMS, CUSTOMS_CONSUMER);
        return c.num_pending === 0 && c.num_ack_pending === 0;
      },
      { what: 'every decision so far on the feed' },
    );
    // Only new decisions: the first one seen is the next one made.
    const fresh = watch(customs, {});
    const redOnly = watch(admin, { fromStart: true, channels: [Channel.RED] });
    const first = await waitFor(async () => (await watchers()) >= 2);
    expect(first).toBe(true);
    const d1 = await submit(customs, sample('green'));
    await waitFor(() => fresh.decisions.length === 1);
    expect(unplaced(fresh.decisions[0])).toEqual(d1.decision);
    fresh.call.cancel();
    expect((await fresh.ended)?.code).toBe(status.CANCELLED);

    // From the start, then disconnected while more decisions are made, then resumed after the last position.
    const all = watch(customs, { fromStart: true });
    const upTo = await last();
    await waitFor(() => all.decisions.at(-1)?.position === upTo);
    all.call.cancel();
    await all.ended;
    const seen = all.decisions.at(-1)?.position ?? 0;
    const made = await Promise.all(
      [sample('red'), sample('yellow'), sample('green')].map((d) => submit(customs, d)),
    );
    const resumed = watch(customs, { afterPosition: seen });
    // The feed is a projection of the ledger, a moment behind the answers.
    const end = seen + made.length;
    await waitFor(async () => (await last()) === end, { what: 'the three decisions on the feed' });
    await waitFor(() => resumed.decisions.at(-1)?.position === end);
    const positions = [...all.decisions, ...resumed.decisions].map((d) => d.position);
    expect(positions).toEqual(Array.from({ length: end }, (_, i) => i + 1));
    for (const m of made) expect(resumed.decisions.map(unplaced)).toContainEqual(m.decision);
    resumed.call.cancel();
    await resumed.ended;

    await waitFor(
      () =>
        redOnly.decisions.length > 0 &&
        redOnly.decisions.at(-1)?.declarationNumber === made[0]?.decision?.declarationNumber,
    );
    expect(redOnly.decisions.every((d) => d.channel === Channel.RED)).toBe(true);
    redOnly.call.cancel();
    await redOnly.ended;
    // Each cancelled watch removed its consumer.
    await waitFor(async () => (await watchers()) === 0);
  });

  it('stops reading the decision stream while the client does not read, and delivers everything after', async () => {
    const first = (await jsm.streams.info(STREAM_DECISIONS)).state.last_seq + 1;
    const w = watch(customs, { afterPosition: first - 1 });
    w.call.pause();
    const consumerInfo = async () => (await watcherConsumers())[0];
    await waitFor(consumerInfo);
    // Large decisions, straight onto the stream: far more than the HTTP/2 windows and socket buffers hold.
    const N = 400;
    const note = 'x'.repeat(32 * 1024);
    for (let i = 0; i < N; i++) {
      const d = sample('green');
      await js.publish(
        subjects.decision(d.declarationNumber),
        Decision.encode({
          declarationNumber: d.declarationNumber,
          revision: 1,
          channel: Channel.GREEN,
          status: ClearanceStatus.CLEARED,
          rules: [],
          ruleSetVersion: 'bp',
          decidedTime: new Date(),
          decisionLatencyUs: 0,
          position: 0,
          note,
          nextSteps: [],
          selectionSecretVersion: '',
        }).finish(),
      );
    }
    // The gateway's consumer stalls short of the end: write() said false and it waits for 'drain'.
    let previous = -1;
    const stalled = await waitFor(
      async () => {
        const ci = await consumerInfo();
        const at = ci?.delivered.stream_seq ?? -1;
        const still = at === previous && (ci?.num_pending ?? 0) > 0;
        previous = at;
        return still ? ci : undefined;
      },
      { intervalMs: 250 },
    );
    expect(stalled.delivered.stream_seq).toBeLessThan(first + N - 1);
    w.call.resume();
    await waitFor(() => w.decisions.length === N);
    expect(w.decisions.map((d) => d.position)).toEqual(Array.from({ length: N }, (_, i) => first + i));
    w.call.cancel();
    await w.ended;
  });

  it('answers PENDING when NATS does not answer before the deadline; the same declaration re-sent gets its decision', async () => {
    const d = sample('red', { declarantTaxCode: FIRM_TAX });
    // NATS stalls (as a stopped or overloaded server would): nothing can be read or recorded before the deadline.
    await nats.server.freeze();
    let r: SubmitDeclarationResponse;
    try {
      r = await submit(firm, d, 1500);
    } finally {
      nats.server.thaw();
    }
    expect(r).toEqual({
      declarationNumber: d.declarationNumber,
      status: ClearanceStatus.PENDING,
      decision: undefined,
    });
    expect(await code(get(customs, nextNumber()))).toBe(status.NOT_FOUND);
    // Re-sent, it is decided once: by this call, or answered from the record the first one left.
    const decided = (await submit(firm, d)).decision;
    expect(decided).toMatchObject({ status: ClearanceStatus.PHYSICAL_INSPECTION, revision: 1 });
    const read = await get(firm, d.declarationNumber);
    expect(read.history).toHaveLength(1);
    expect(read.status).toBe(ClearanceStatus.PHYSICAL_INSPECTION);
  });

  it('keeps a watch going when its consumer is deleted under it', async () => {
    const w = watch(customs, {});
    const [lost] = await waitFor(async () => {
      const names = (await watcherConsumers()).map((c) => c.name);
      return names.length === 1 ? names : undefined;
    });
    await jsm.consumers.delete(STREAM_DECISIONS, lost ?? '');
    const made = await submit(customs, sample('green'));
    await waitFor(() => w.decisions.some((d) => d.declarationNumber === made.declarationNumber), {
      timeoutMs: 20_000,
    });
    w.call.cancel();
    await w.ended;
    // A reset of the client's ordered consumer racing the end of the watch can leave one consumer behind,
    // which the server removes after its inactivity threshold (5 min); remove it now so the next test counts
    // only its own. (The watch may be removing its own at the same time: not found is fine.)
    for (const c of await watcherConsumers()) {
      await jsm.consumers.delete(STREAM_DECISIONS, c.name).catch(() => false);
    }
  });

  it('ends open watches with UNAVAILABLE at shutdown', async () => {
    const w = watch(customs, { fromStart: true });
    await waitFor(async () => (await watchers()) === 1);
    shutdown.abort();
    expect((await w.ended)?.code).toBe(status.UNAVAILABLE);
    // Every consumer is gone: the watches' and the gateway's decision feed.
    await waitFor(async () => (await jsm.consumers.list(STREAM_DECISIONS).next()).length === 0);
    expect((await watch(customs, {}).ended)?.code).toBe(status.UNAVAILABLE);
  });
});
