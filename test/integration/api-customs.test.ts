// The customs dashboard's reads over gRPC and HTTP against a real nats-server and embedded ClickHouse fed by the
// real sink: the hold queue (latest decision per declaration, oldest hold first, paginated, with what the
// declaration says), customs activity per hour by channel with check and inspection outcomes, yard dwell and
// consumer lag; and who may read them: customs and admin the customs reads, firms and operators are refused.
import { status as grpcStatus } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel, ClearanceStatus } from '../../proto/gen/portstream/v1/customs.js';
import {
  TrackingServiceClient,
  type ListHeldDeclarationsRequest,
  type ListHeldDeclarationsResponse,
} from '../../proto/gen/portstream/v1/tracking.js';
import { clientAs, TOKENS } from '../../test-kit/auth.js';
import { refusal, unary } from '../helpers/rpc.js';
import { startApiFixture, type ApiFixture } from './api-fixture.js';
import {
  DAY_TOTALS,
  HELD_RED,
  HELD_YELLOW,
  HELD_YELLOW_CONTAINER,
  HELD_YELLOW_TRADER,
  publishCustomsDay,
  publishYardStays,
} from './customs-day-fixture.js';

/** The JSON bodies these routes answer with, as far as the tests read them. */
interface HttpBody {
  error?: { code: string; field?: string };
  declarations: { declarationNumber: string; channel: string; traderName?: string }[];
  points?: { red?: number | string; inspectionsFailed?: number | string; dwellMaxSeconds: number }[];
  consumers: unknown[];
}

describe('customs dashboard reads', () => {
  let fx: ApiFixture;
  const clients: TrackingServiceClient[] = [];
  const as = (token: string): TrackingServiceClient => {
    const c = clientAs(TrackingServiceClient, fx.api.grpcAddress, token);
    clients.push(c);
    return c;
  };
  const http = async (path: string, token: string): Promise<{ status: number; body: HttpBody }> => {
    const res = await fetch(`${fx.api.httpUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
    return { status: res.status, body: (await res.json()) as HttpBody };
  };
  const held = (token: string, req: Partial<ListHeldDeclarationsRequest> = {}) => {
    const c = as(token);
    return unary<ListHeldDeclarationsRequest, ListHeldDeclarationsResponse>(c.listHeldDeclarations.bind(c), {
      channels: [],
      lookbackDays: 0,
      pageSize: 0,
      pageToken: '',
      ...req,
    });
  };

  beforeAll(async () => {
    fx = await startApiFixture();
    await publishCustomsDay(fx);
    await publishYardStays(fx);
  }, 60_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await fx.close();
  });

  it('lists the held declarations, oldest hold first, with their age and what the declaration says', async () => {
    const before = Date.now();
    const res = await held(TOKENS.customs);
    expect(res.declarations.map((d) => d.declarationNumber)).toEqual([HELD_YELLOW, HELD_RED]);
    expect({ yellow: res.yellowTotal, red: res.redTotal, next: res.nextPageToken }).toEqual({
      yellow: 1,
      red: 1,
      next: '',
    });
    const [y, r] = res.declarations;
    expect(y).toMatchObject({
      channel: Channel.YELLOW,
      status: ClearanceStatus.DOCUMENT_CHECK,
      ruleCodes: ['VALUE_ANOMALY'],
      traderName: HELD_YELLOW_TRADER,
      customsOffice: '03CC',
      containerNumbers: [HELD_YELLOW_CONTAINER],
    });
    // Held five hours ago (to the second the fixture published it).
    expect(y?.ageSeconds).toBeGreaterThanOrEqual(5 * 3600 - 60);
    expect(y?.ageSeconds).toBeLessThanOrEqual(5 * 3600 + (Date.now() - before) / 1000 + 120);
    // A declaration the state no longer holds is still listed, without its own details.
    expect(r).toMatchObject({
      channel: Channel.RED,
      status: ClearanceStatus.PHYSICAL_INSPECTION,
      traderName: '',
    });
  });

  it('pages through the queue and filters it by channel', async () => {
    const first = await held(TOKENS.admin, { pageSize: 1 });
    expect(first.declarations.map((d) => d.declarationNumber)).toEqual([HELD_YELLOW]);
    expect(first.nextPageToken).not.toBe('');
    const second = await held(TOKENS.admin, { pageSize: 1, pageToken: first.nextPageToken });
    expect(second.declarations.map((d) => d.declarationNumber)).toEqual([HELD_RED]);
    expect(second.nextPageToken).toBe('');
    const red = await held(TOKENS.customs, { channels: [Channel.RED] });
    expect(red.declarations.map((d) => d.declarationNumber)).toEqual([HELD_RED]);
    expect({ yellow: red.yellowTotal, red: red.redTotal }).toEqual({ yellow: 0, red: 1 });
    // Over HTTP, the same queue.
    const h = await http('/v1/customs/held-declarations?channel=YELLOW', TOKENS.customs);
    expect(h.status).toBe(200);
    expect(h.body.declarations.map((d) => d.declarationNumber)).toEqual([HELD_YELLOW]);
    expect(h.body.declarations[0]).toMatchObject({
      channel: 'CHANNEL_YELLOW',
      traderName: HELD_YELLOW_TRADER,
    });
  });

  it('refuses bad queue parameters, naming the field', async () => {
    const green = await refusal(held(TOKENS.customs, { channels: [Channel.GREEN] }));
    expect(green.code).toBe(grpcStatus.INVALID_ARGUMENT);
    expect(green.details).toContain('channels');
    const far = await refusal(held(TOKENS.customs, { lookbackDays: 1826 }));
    expect(far.code).toBe(grpcStatus.INVALID_ARGUMENT);
    expect(far.details).toContain('lookback_days');
    const bad = await http('/v1/customs/held-declarations?page_token=nonsense', TOKENS.customs);
    expect({ status: bad.status, field: bad.body.error?.field }).toEqual({
      status: 400,
      field: 'page_token',
    });
    const chan = await http('/v1/customs/held-declarations?channel=PURPLE', TOKENS.customs);
    expect({ status: chan.status, field: chan.body.error?.field }).toEqual({ status: 400, field: 'channel' });
  });

  it('counts decisions per hour by channel, with check and inspection outcomes', async () => {
    const c = as(TOKENS.customs);
    const res = await unary(c.getCustomsActivity.bind(c), { range: undefined, bucketSeconds: 0 });
    const sum = (f: keyof (typeof res.points)[number]): number =>
      res.points.reduce((s, p) => s + Number(p[f]), 0);
    expect({
      green: sum('green'),
      yellow: sum('yellow'),
      red: sum('red'),
      documentChecksPassed: sum('documentChecksPassed'),
      documentChecksFailed: sum('documentChecksFailed'),
      inspectionsPassed: sum('inspectionsPassed'),
      inspectionsFailed: sum('inspectionsFailed'),
      cancelled: sum('cancelled'),
    }).toEqual({ ...DAY_TOTALS, decisions: undefined });
    // Hourly buckets over the default window (the last 24 hours), in order.
    const starts = res.points.map((p) => p.bucketStart?.getTime() ?? 0);
    expect(starts).toEqual([...starts].sort((a, b) => a - b));
    for (const s of starts) {
      expect(s % 3_600_000).toBe(0);
      expect(s).toBeGreaterThan(Date.now() - 25 * 3_600_000);
    }
    const h = await http('/v1/metrics/customs?bucket_seconds=86400', TOKENS.admin);
    expect(h.status).toBe(200);
    const days = h.body.points ?? [];
    expect(days.reduce((s, p) => s + Number(p.inspectionsFailed ?? 0), 0)).toBe(1);
    expect(days.reduce((s, p) => s + Number(p.red ?? 0), 0)).toBe(DAY_TOTALS.red);
    const fine = await http('/v1/metrics/customs?bucket_seconds=60', TOKENS.admin);
    expect({ status: fine.status, field: fine.body.error?.field }).toEqual({
      status: 400,
      field: 'bucket_seconds',
    });
  });

  it('refuses firms and operators the customs reads (PERMISSION_DENIED), over gRPC and HTTP', async () => {
    for (const token of [TOKENS.firm, TOKENS.operator]) {
      const q = await refusal(held(token));
      expect(q.code).toBe(grpcStatus.PERMISSION_DENIED);
      const c = as(token);
      const a = await refusal(unary(c.getCustomsActivity.bind(c), { range: undefined, bucketSeconds: 0 }));
      expect(a.code).toBe(grpcStatus.PERMISSION_DENIED);
      for (const path of ['/v1/customs/held-declarations', '/v1/metrics/customs']) {
        const h = await http(path, token);
        expect({ path, status: h.status, code: h.body.error?.code }).toEqual({
          path,
          status: 403,
          code: 'PERMISSION_DENIED',
        });
      }
    }
    // The queue is unchanged by the refused callers.
    expect((await held(TOKENS.customs)).declarations.map((d) => d.declarationNumber)).toEqual([
      HELD_YELLOW,
      HELD_RED,
    ]);
    const none = await http('/v1/customs/held-declarations', 'no-such-token-0123456789');
    expect(none.status).toBe(401);
  });

  it('shows yard stays that ended in the window with their dwell times', async () => {
    const c = as(TOKENS.firm);
    const res = await unary(c.getYardDwell.bind(c), {
      range: undefined,
      bucketSeconds: 86_400,
      terminalCode: '',
    });
    const stays = res.points.reduce((s, p) => s + p.stays, 0);
    expect(stays).toBe(2);
    expect(Math.max(...res.points.map((p) => p.dwellMaxSeconds))).toBe(28 * 3600);
    const hourly = await http('/v1/metrics/yard-dwell?terminal_code=HICT', TOKENS.operator);
    expect(hourly.status).toBe(200);
    expect(hourly.body.points).toHaveLength(2);
    const maxima = (hourly.body.points ?? []).map((p) => p.dwellMaxSeconds);
    expect(maxima.sort((a, b) => a - b)).toEqual([10 * 3600, 28 * 3600]);
    const other = await http('/v1/metrics/yard-dwell?terminal_code=TVCT', TOKENS.operator);
    expect(other.body.points ?? []).toEqual([]);
  });

  it('reports the services’ consumer lag to operators, customs and admin, not to firms', async () => {
    const c = as(TOKENS.operator);
    const res = await unary(c.getConsumerLag.bind(c), {});
    const byName = Object.fromEntries(res.consumers.map((x) => [`${x.stream}/${x.consumer}`, x]));
    // The fixture runs the sink (its durables exist, and have caught up) but no processor.
    expect(byName['PS_DECISIONS/clickhouse-sink']).toMatchObject({ present: true, pending: 0 });
    expect(byName['PS_EVENTS/processor-events']).toMatchObject({ present: false });
    const h = await http('/v1/metrics/consumer-lag', TOKENS.customs);
    expect(h.status).toBe(200);
    expect(h.body.consumers).toHaveLength(res.consumers.length);
    const firm = await http('/v1/metrics/consumer-lag', TOKENS.firm);
    expect(firm.status).toBe(403);
  });
});
