// TrackingService over gRPC against a real nats-server and embedded ClickHouse fed by the real sink: every
// RPC, the access rules of each role against each kind of data, and the pagination edges.
import { status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel } from '../../proto/gen/portstream/v1/customs.js';
import { EquipmentEventType, type Event } from '../../proto/gen/portstream/v1/events.js';
import {
  ThroughputTime,
  TrackingServiceClient,
  VesselVisitStatus,
  type GetClearanceMetricsRequest,
  type GetClearanceMetricsResponse,
  type GetContainerStatusRequest,
  type GetContainerStatusResponse,
  type GetThroughputRequest,
  type GetThroughputResponse,
  type GetVesselVisitRequest,
  type GetVesselVisitResponse,
  type ListContainerEventsRequest,
  type ListContainerEventsResponse,
  type ListDecisionsRequest,
  type ListDecisionsResponse,
  type ListVesselVisitsRequest,
  type ListVesselVisitsResponse,
  type WatchContainerResponse,
} from '../../proto/gen/portstream/v1/tracking.js';
import { clientAs, TOKENS } from '../../test-kit/auth.js';
import { containerNumber, equipmentEvent } from '../../test-kit/events.js';
import { waitFor } from '../../test-kit/poll.js';
import {
  decision,
  MINE,
  MY_DECL,
  QUIET,
  seed,
  startApiFixture,
  status,
  THEIR_DECL,
  THEIRS,
  visit,
  type ApiFixture,
} from './api-fixture.js';
import { countRows, publishDecision, publishEvents } from './sink-fixture.js';

type Callback<Res> = (err: ServiceError | null, res?: Res) => void;

/** The generated client with promise-returning unary methods (the callback overloads defeat inference). */
function promised(c: TrackingServiceClient) {
  const u =
    <Req, Res>(f: (req: Req, cb: Callback<Res>) => unknown) =>
    (req: Req): Promise<Res> =>
      new Promise((resolve, reject) => {
        f(req, (err, res) => {
          if (err) reject(err);
          else if (res) resolve(res);
          else reject(new Error('no response'));
        });
      });
  return {
    raw: c,
    getContainerStatus: u<GetContainerStatusRequest, GetContainerStatusResponse>((req, cb) =>
      c.getContainerStatus(req, cb),
    ),
    listContainerEvents: u<ListContainerEventsRequest, ListContainerEventsResponse>((req, cb) =>
      c.listContainerEvents(req, cb),
    ),
    getVesselVisit: u<GetVesselVisitRequest, GetVesselVisitResponse>((req, cb) => c.getVesselVisit(req, cb)),
    listVesselVisits: u<ListVesselVisitsRequest, ListVesselVisitsResponse>((req, cb) =>
      c.listVesselVisits(req, cb),
    ),
    listDecisions: u<ListDecisionsRequest, ListDecisionsResponse>((req, cb) => c.listDecisions(req, cb)),
    getThroughput: u<GetThroughputRequest, GetThroughputResponse>((req, cb) => c.getThroughput(req, cb)),
    getClearanceMetrics: u<GetClearanceMetricsRequest, GetClearanceMetricsResponse>((req, cb) =>
      c.getClearanceMetrics(req, cb),
    ),
  };
}
type Promised = ReturnType<typeof promised>;

async function codeOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return grpcStatus.OK;
  } catch (err) {
    return (err as ServiceError).code;
  }
}

const HOUR = 3_600_000;

describe('TrackingService (gRPC)', () => {
  let fx: ApiFixture;
  const clients = {} as Record<keyof typeof TOKENS | 'none', Promised>;

  const status_ = (who: keyof typeof clients, n: string) =>
    clients[who].getContainerStatus({ containerNumber: n });
  const events = (who: keyof typeof clients, n: string, pageSize: number, pageToken = '') =>
    clients[who].listContainerEvents({ containerNumber: n, pageSize, pageToken });

  beforeAll(async () => {
    fx = await startApiFixture();
    await seed(fx);
    for (const who of Object.keys(TOKENS) as (keyof typeof TOKENS)[]) {
      clients[who] = promised(clientAs(TrackingServiceClient, fx.api.grpcAddress, TOKENS[who]));
    }
    clients.none = promised(clientAs(TrackingServiceClient, fx.api.grpcAddress, undefined));
    // Five events of MINE, deliberately published out of time order; two of THEIRS.
    const t0 = Date.now() - 10 * 60_000;
    const mine: Event[] = [3, 0, 4, 1, 2].map((i) => ({
      ...equipmentEvent(`api-mine-${i}`, 900_001),
      eventTime: new Date(t0 + i * 1000),
    }));
    await publishEvents(fx.natsFx.js, mine);
    await publishEvents(fx.natsFx.js, [
      equipmentEvent('api-theirs-0', 900_002),
      equipmentEvent('api-theirs-1', 900_002),
    ]);
    await publishDecision(fx.natsFx.js, decision(MY_DECL, 1, Channel.YELLOW, 4000));
    await publishDecision(fx.natsFx.js, decision(MY_DECL, 2, Channel.GREEN, 2000));
    await publishDecision(fx.natsFx.js, decision(THEIR_DECL, 1, Channel.RED, 8000));
    await waitFor(
      async () =>
        (await countRows(fx.chFx.ch, 'events')) >= 7 && (await countRows(fx.chFx.ch, 'decisions')) >= 3,
      {
        timeoutMs: 20_000,
        what: 'sink to write events and decisions',
      },
    );
  }, 60_000);

  afterAll(async () => {
    for (const c of Object.values(clients)) c.raw.close();
    await fx.close();
  });

  describe('GetContainerStatus', () => {
    it('answers admin and customs for any container', async () => {
      for (const who of ['admin', 'customs'] as const) {
        expect((await status_(who, MINE)).status?.containerNumber).toBe(MINE);
        expect((await status_(who, THEIRS)).status?.containerNumber).toBe(THEIRS);
      }
    });

    it('shows a firm its declared container and answers NOT_FOUND, not PERMISSION_DENIED, for others', async () => {
      expect((await status_('firm', MINE)).status?.declarationNumbers).toEqual([MY_DECL]);
      expect(await codeOf(status_('firm', THEIRS))).toBe(grpcStatus.NOT_FOUND);
      expect(await codeOf(status_('firm', QUIET))).toBe(grpcStatus.NOT_FOUND);
      expect(await codeOf(status_('firm', containerNumber('MSC', 999_999)))).toBe(grpcStatus.NOT_FOUND);
      // A number that cannot exist (wrong check digit) is bad input, for every caller.
      expect(await codeOf(status_('firm', 'MSCU0000000'))).toBe(grpcStatus.INVALID_ARGUMENT);
    });

    it('shows an operator the containers at its terminals only', async () => {
      expect((await status_('operator', MINE)).status?.facility?.terminalCode).toBe('HICT');
      expect(await codeOf(status_('operator', THEIRS))).toBe(grpcStatus.NOT_FOUND);
      expect((await status_('otherOperator', THEIRS)).status?.facility?.terminalCode).toBe('TVCT');
      expect(await codeOf(status_('otherOperator', MINE))).toBe(grpcStatus.NOT_FOUND);
    });

    it('refuses calls without a token and asks for the container number', async () => {
      expect(await codeOf(status_('none', MINE))).toBe(grpcStatus.UNAUTHENTICATED);
      expect(await codeOf(status_('admin', ''))).toBe(grpcStatus.INVALID_ARGUMENT);
    });
  });

  describe('ListContainerEvents', () => {
    it('pages through the history in time order, the last page with an empty token', async () => {
      const ids: string[] = [];
      const sizes: number[] = [];
      let token = '';
      do {
        const page = await events('admin', MINE, 2, token);
        sizes.push(page.events.length);
        ids.push(...page.events.map((e) => e.eventId));
        token = page.nextPageToken;
      } while (token !== '');
      expect(sizes).toEqual([2, 2, 1]);
      expect(ids).toEqual([0, 1, 2, 3, 4].map((i) => `api-mine-${i}`));
      const first = (await events('admin', MINE, 1)).events[0];
      expect(first?.payload?.$case === 'equipment' && first.payload.value.type).toBe(EquipmentEventType.DISC);
    });

    it('gives an exact page without a next token, and an empty page for a container without events', async () => {
      const exact = await events('firm', MINE, 5);
      expect(exact.events).toHaveLength(5);
      expect(exact.nextPageToken).toBe('');
      const empty = await events('operator', QUIET, 10);
      expect(empty).toEqual({ events: [], nextPageToken: '' });
    });

    it('answers INVALID_ARGUMENT for a bad token, a token of another container, and a page over 1000', async () => {
      expect(await codeOf(events('admin', MINE, 2, 'not-a-token'))).toBe(grpcStatus.INVALID_ARGUMENT);
      const { nextPageToken } = await events('admin', MINE, 2);
      expect(await codeOf(events('admin', THEIRS, 2, nextPageToken))).toBe(grpcStatus.INVALID_ARGUMENT);
      expect(await codeOf(events('admin', MINE, 1001))).toBe(grpcStatus.INVALID_ARGUMENT);
    });

    it('hides the history of containers the caller may not see', async () => {
      expect(await codeOf(events('firm', THEIRS, 10))).toBe(grpcStatus.NOT_FOUND);
      expect(await codeOf(events('operator', THEIRS, 10))).toBe(grpcStatus.NOT_FOUND);
      expect((await events('customs', THEIRS, 10)).events).toHaveLength(2);
    });
  });

  describe('WatchContainer', () => {
    it('sends the current status, then each change', async () => {
      const call = clients.firm.raw.watchContainer({ containerNumber: MINE });
      const seen: WatchContainerResponse[] = [];
      call.on('data', (m: WatchContainerResponse) => {
        seen.push(m);
      });
      call.on('error', () => undefined);
      await waitFor(() => seen.length >= 1, { what: 'initial status' });
      await fx.putContainer(status(MINE, 'HICT', [MY_DECL], { releaseBlocker: 'customs: document check' }));
      await waitFor(() => seen.at(-1)?.status?.releaseBlocker === 'customs: document check', {
        what: 'change',
      });
      call.cancel();
    });

    it('answers NOT_FOUND for a container the caller may not see', async () => {
      const call = clients.firm.raw.watchContainer({ containerNumber: THEIRS });
      const code = await new Promise<number>((resolve) => {
        call.on('data', () => {
          resolve(-1);
        });
        call.on('error', (err: ServiceError) => {
          resolve(err.code);
        });
      });
      expect(code).toBe(grpcStatus.NOT_FOUND);
    });
  });

  describe('vessel visits', () => {
    beforeAll(async () => {
      await fx.putVisit(visit('VNHPH-HICT-9811000-0001W', VesselVisitStatus.BERTHED));
      await fx.putVisit(visit('VNHPH-HICT-9811000-0002W', VesselVisitStatus.EXPECTED));
      await fx.putVisit(visit('VNHPH-HICT-9811000-0003W', VesselVisitStatus.BERTHED, 'LH2'));
      await fx.putVisit(visit('VNSGN-9811000-0004W', VesselVisitStatus.BERTHED));
    });

    it('gets one visit for every role, NOT_FOUND for an unknown one', async () => {
      for (const who of ['admin', 'customs', 'operator', 'firm'] as const) {
        const r = await clients[who].getVesselVisit({ visitId: 'VNHPH-HICT-9811000-0001W' });
        expect(r.visit?.status).toBe(VesselVisitStatus.BERTHED);
      }
      expect(await codeOf(clients.admin.getVesselVisit({ visitId: 'VNHPH-1-1' }))).toBe(grpcStatus.NOT_FOUND);
    });

    it('lists by status and port, paginated', async () => {
      const list = (pageSize: number, pageToken = '') =>
        clients.firm.listVesselVisits({
          statuses: [VesselVisitStatus.BERTHED],
          unLocode: 'VNHPH',
          pageSize,
          pageToken,
        });
      const p1 = await list(1);
      expect(p1.visits.map((v) => v.visitId)).toEqual(['VNHPH-HICT-9811000-0001W']);
      const p2 = await list(1, p1.nextPageToken);
      expect(p2.visits.map((v) => v.visitId)).toEqual(['VNHPH-HICT-9811000-0003W']);
      expect(p2.nextPageToken).toBe('');
      expect(await codeOf(list(1, 'garbage'))).toBe(grpcStatus.INVALID_ARGUMENT);
    });
  });

  describe('ListDecisions', () => {
    const list = (who: keyof typeof clients, no: string) =>
      clients[who].listDecisions({ declarationNumber: no });

    it('lists a declaration’s decisions oldest first for customs, admin and its own firm', async () => {
      for (const who of ['admin', 'customs', 'firm'] as const) {
        const r = await list(who, MY_DECL);
        expect(r.decisions.map((d) => d.revision)).toEqual([1, 2]);
        expect(r.decisions[0]?.position).toBeLessThan(r.decisions[1]?.position ?? 0);
      }
      expect((await list('customs', THEIR_DECL)).decisions.map((d) => d.channel)).toEqual([Channel.RED]);
    });

    it('shows a firm channel and status but no rule codes, reasons or rule-set version', async () => {
      const full = await list('customs', MY_DECL);
      expect(full.decisions.flatMap((d) => d.rules.map((h) => h.code))).toContain('VALUE_ANOMALY');
      const seen = await list('firm', MY_DECL);
      expect(seen.decisions.map((d) => [d.channel, d.status])).toEqual(
        full.decisions.map((d) => [d.channel, d.status]),
      );
      for (const d of seen.decisions) {
        expect(d).toMatchObject({ rules: [], ruleSetVersion: '', note: '', selectionSecretVersion: '' });
      }
      expect(JSON.stringify(seen)).not.toMatch(/reference|VALUE_ANOMALY|%/);
    });

    it('answers NOT_FOUND to a firm for others’ declarations, PERMISSION_DENIED to operators', async () => {
      expect(await codeOf(list('firm', THEIR_DECL))).toBe(grpcStatus.NOT_FOUND);
      expect(await codeOf(list('operator', MY_DECL))).toBe(grpcStatus.PERMISSION_DENIED);
      expect((await list('admin', '399999999999')).decisions).toEqual([]);
    });
  });

  describe('metrics', () => {
    const range = () => ({
      startTime: new Date(Date.now() - 2 * HOUR),
      endTime: new Date(Date.now() + HOUR),
    });

    it('counts throughput per bucket, terminal and kind, filtered by terminal', async () => {
      const r = await clients.operator.getThroughput({
        range: range(),
        bucketSeconds: 3600,
        terminalCode: 'HICT',
        time: ThroughputTime.UNSPECIFIED,
      });
      expect(r.points.reduce((s, p) => s + p.events, 0)).toBe(7);
      expect(new Set(r.points.map((p) => p.terminalCode))).toEqual(new Set(['HICT']));
      const none = await clients.admin.getThroughput({
        range: range(),
        bucketSeconds: 60,
        terminalCode: 'NONE',
        time: ThroughputTime.UNSPECIFIED,
      });
      expect(none.points).toEqual([]);
    });

    it('gives clearance channel counts and latency quantiles', async () => {
      const r = await clients.customs.getClearanceMetrics({ range: range(), bucketSeconds: 3600 });
      const total = r.points.reduce((s, p) => s + p.decisions, 0);
      expect(total).toBe(3);
      expect(r.points.reduce((s, p) => s + p.red, 0)).toBe(1);
      expect(Math.max(...r.points.map((p) => p.latencyP99Ms))).toBeGreaterThan(1);
    });

    it('defaults an omitted range and bucket: the last hour by minute, the last day by hour', async () => {
      const before = Date.now();
      const t = await clients.admin.getThroughput({
        range: undefined,
        bucketSeconds: 0,
        terminalCode: '',
        time: ThroughputTime.UNSPECIFIED,
      });
      expect(t.points.reduce((s, p) => s + p.events, 0)).toBe(7);
      for (const p of t.points) {
        const at = p.bucketStart?.getTime() ?? NaN;
        expect(at % 60_000).toBe(0);
        expect(at).toBeGreaterThanOrEqual(before - HOUR - 60_000);
        expect(at).toBeLessThanOrEqual(Date.now());
      }
      const explicit = await clients.admin.getThroughput({
        range: { startTime: new Date(before - HOUR), endTime: undefined },
        bucketSeconds: 60,
        terminalCode: '',
        time: ThroughputTime.UNSPECIFIED,
      });
      expect(explicit.points).toEqual(t.points);
      const c = await clients.customs.getClearanceMetrics({ range: undefined, bucketSeconds: 0 });
      expect(c.points.reduce((s, p) => s + p.decisions, 0)).toBe(3);
      for (const p of c.points) expect((p.bucketStart?.getTime() ?? NaN) % HOUR).toBe(0);
    });

    it('counts by receive time when asked, and refuses an unknown time', async () => {
      const r = await clients.admin.getThroughput({
        range: undefined,
        bucketSeconds: 0,
        terminalCode: '',
        time: ThroughputTime.RECEIVE_TIME,
      });
      expect(r.points.reduce((s, p) => s + p.events, 0)).toBe(7);
      await expect(
        clients.admin.getThroughput({
          range: undefined,
          bucketSeconds: 0,
          terminalCode: '',
          time: 7 as ThroughputTime,
        }),
      ).rejects.toMatchObject({
        code: grpcStatus.INVALID_ARGUMENT,
        details: expect.stringContaining('time') as string,
      });
    });

    it('refuses bad buckets and ranges with the field named', async () => {
      const bad = [
        clients.admin.getThroughput({
          range: range(),
          bucketSeconds: 61,
          terminalCode: '',
          time: ThroughputTime.UNSPECIFIED,
        }),
        clients.admin.getClearanceMetrics({ range: range(), bucketSeconds: 60 }),
        clients.admin.getThroughput({
          range: { startTime: undefined, endTime: new Date(0) },
          bucketSeconds: 60,
          terminalCode: '',
          time: ThroughputTime.UNSPECIFIED,
        }),
      ];
      for (const p of bad) {
        await expect(p).rejects.toMatchObject({ code: grpcStatus.INVALID_ARGUMENT });
      }
    });
  });
});
