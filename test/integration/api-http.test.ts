// The HTTP/JSON side of the tracking API: every route with each role, the error body and statuses, the
// OpenAPI document, /metrics, /healthz, /readyz and the dashboard's static files.
import type { ReadableStream } from 'node:stream/web';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel } from '../../proto/gen/portstream/v1/customs.js';
import { VesselVisitStatus } from '../../proto/gen/portstream/v1/tracking.js';
import { TOKENS } from '../../test-kit/auth.js';
import { equipmentEvent } from '../../test-kit/events.js';
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

interface Reply {
  status: number;
  body: Record<string, unknown>;
  text: string;
  headers: Headers;
}

describe('tracking API over HTTP', () => {
  let fx: ApiFixture;

  async function get(path: string, who?: keyof typeof TOKENS, init: RequestInit = {}): Promise<Reply> {
    const headers = new Headers(init.headers);
    if (who) headers.set('authorization', `Bearer ${TOKENS[who]}`);
    const res = await fetch(`${fx.api.httpUrl}${path}`, { ...init, headers });
    const text = await res.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = {};
    }
    return { status: res.status, body, text, headers: res.headers };
  }

  const errorOf = (r: Reply): unknown => r.body.error;
  const range = (bucket: number): string => {
    const start = new Date(Date.now() - 7_200_000).toISOString();
    const end = new Date(Date.now() + 3_600_000).toISOString();
    return `start_time=${start}&end_time=${end}&bucket_seconds=${bucket}`;
  };

  beforeAll(async () => {
    fx = await startApiFixture();
    await seed(fx);
    await fx.putVisit(visit('VNHPH-9811000-0001W', VesselVisitStatus.BERTHED));
    await fx.putVisit(visit('VNHPH-9811000-0002W', VesselVisitStatus.DEPARTED));
    const t0 = Date.now() - 5 * 60_000;
    await publishEvents(
      fx.natsFx.js,
      [0, 1, 2].map((i) => ({
        ...equipmentEvent(`http-mine-${i}`, 900_001),
        eventTime: new Date(t0 + i * 1000),
      })),
    );
    await publishDecision(fx.natsFx.js, decision(MY_DECL, 1, Channel.GREEN, 1500));
    await publishDecision(fx.natsFx.js, decision(THEIR_DECL, 1, Channel.RED, 9000));
    await waitFor(
      async () =>
        (await countRows(fx.chFx.ch, 'events')) >= 3 && (await countRows(fx.chFx.ch, 'decisions')) >= 2,
      { timeoutMs: 20_000, what: 'sink to write' },
    );
  }, 60_000);

  afterAll(async () => {
    await fx.close();
  });

  it('serves a container status as proto3 JSON, NOT_FOUND to those who may not see it', async () => {
    const ok = await get(`/v1/containers/${MINE}`, 'firm');
    expect(ok.status).toBe(200);
    expect(ok.body.status).toMatchObject({
      containerNumber: MINE,
      location: 'CONTAINER_LOCATION_IN_YARD',
      customsStatus: 'CUSTOMS_STATUS_PENDING',
      declarationNumbers: [MY_DECL],
    });
    for (const [who, n] of [
      ['firm', THEIRS],
      ['operator', THEIRS],
      ['otherOperator', MINE],
    ] as const) {
      const r = await get(`/v1/containers/${n}`, who);
      expect(r.status).toBe(404);
      expect(errorOf(r)).toEqual({ code: 'NOT_FOUND', message: `container ${n} not found` });
    }
    expect((await get(`/v1/containers/${THEIRS}`, 'customs')).status).toBe(200);
  });

  it('answers 401 with the error body and a Bearer challenge without a valid token', async () => {
    for (const r of [
      await get(`/v1/containers/${MINE}`),
      await get(`/v1/containers/${MINE}`, undefined, {
        headers: { authorization: 'Bearer wrong-token-xxxxxxxx' },
      }),
    ]) {
      expect(r.status).toBe(401);
      expect(errorOf(r)).toMatchObject({ code: 'UNAUTHENTICATED' });
      expect(r.headers.get('www-authenticate')).toBe('Bearer');
    }
  });

  it('pages container events and rejects a bad page token with field page_token', async () => {
    const p1 = await get(`/v1/containers/${MINE}/events?page_size=2`, 'admin');
    expect(p1.status).toBe(200);
    expect((p1.body.events as { eventId: string }[]).map((e) => e.eventId)).toEqual([
      'http-mine-0',
      'http-mine-1',
    ]);
    const token = p1.body.nextPageToken as string;
    const p2 = await get(`/v1/containers/${MINE}/events?page_size=2&page_token=${token}`, 'admin');
    expect((p2.body.events as { eventId: string }[]).map((e) => e.eventId)).toEqual(['http-mine-2']);
    expect(p2.body.nextPageToken ?? '').toBe('');
    const empty = await get(`/v1/containers/${QUIET}/events`, 'operator');
    expect(empty.body.events ?? []).toEqual([]);
    const bad = await get(`/v1/containers/${MINE}/events?page_token=zzz`, 'admin');
    expect(bad.status).toBe(400);
    expect(errorOf(bad)).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'page_token' });
    const size = await get(`/v1/containers/${MINE}/events?page_size=-1`, 'admin');
    expect(errorOf(size)).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'page_size' });
  });

  it('serves vessel visits, filtered by status', async () => {
    const one = await get('/v1/vessel-visits/VNHPH-9811000-0001W', 'firm');
    expect(one.body.visit).toMatchObject({ status: 'VESSEL_VISIT_STATUS_BERTHED', berth: 'LH1' });
    const list = await get('/v1/vessel-visits?status=BERTHED', 'operator');
    expect((list.body.visits as { visitId: string }[]).map((v) => v.visitId)).toEqual([
      'VNHPH-9811000-0001W',
    ]);
    const bad = await get('/v1/vessel-visits?status=FLOATING', 'operator');
    expect(errorOf(bad)).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'status' });
    expect((await get('/v1/vessel-visits/VNHPH-1-X', 'admin')).status).toBe(404);
  });

  it('serves decisions to customs and the declaring firm, 404 to other firms, 403 to operators', async () => {
    const mine = await get(`/v1/declarations/${MY_DECL}/decisions`, 'firm');
    expect(mine.body.decisions).toMatchObject([{ declarationNumber: MY_DECL, channel: 'CHANNEL_GREEN' }]);
    expect((await get(`/v1/declarations/${THEIR_DECL}/decisions`, 'firm')).status).toBe(404);
    expect((await get(`/v1/declarations/${THEIR_DECL}/decisions`, 'customs')).status).toBe(200);
    const op = await get(`/v1/declarations/${MY_DECL}/decisions`, 'operator');
    expect(op.status).toBe(403);
    expect(errorOf(op)).toMatchObject({ code: 'PERMISSION_DENIED' });
  });

  it('serves throughput and clearance metrics, 400 naming the bad parameter', async () => {
    const t = await get(`/v1/metrics/throughput?${range(60)}`, 'admin');
    expect((t.body.points as { events: number }[]).reduce((s, p) => s + p.events, 0)).toBe(3);
    const c = await get(`/v1/metrics/clearance?${range(3600)}`, 'customs');
    expect((c.body.points as { decisions: number }[]).reduce((s, p) => s + p.decisions, 0)).toBe(2);
    const badBucket = await get(`/v1/metrics/clearance?${range(60)}`, 'admin');
    expect(errorOf(badBucket)).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'bucket_seconds' });
    // A start after the default end (now) is an empty range.
    const backwards = await get(
      `/v1/metrics/throughput?start_time=${new Date(Date.now() + 3_600_000).toISOString()}`,
      'admin',
    );
    expect(errorOf(backwards)).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'range.end_time' });
    const badTime = await get('/v1/metrics/throughput?start_time=yesterday&bucket_seconds=60', 'admin');
    expect(errorOf(badTime)).toMatchObject({ field: 'start_time' });
  });

  it('defaults omitted metrics parameters: the last hour in minutes, the last day in hours', async () => {
    const before = Date.now();
    const t = await get('/v1/metrics/throughput', 'admin');
    expect(t.status).toBe(200);
    const points = t.body.points as { bucketStart: string; events: number }[];
    expect(points.reduce((s, p) => s + p.events, 0)).toBe(3);
    for (const p of points) {
      const at = Date.parse(p.bucketStart);
      expect(at % 60_000).toBe(0);
      expect(at).toBeGreaterThanOrEqual(before - 3_660_000);
      expect(at).toBeLessThanOrEqual(Date.now());
    }
    // Only a start: up to now. Only a bucket: the last hour.
    const fromStart = await get(
      `/v1/metrics/throughput?start_time=${new Date(before - 3_600_000).toISOString()}`,
      'admin',
    );
    expect((fromStart.body.points as { events: number }[]).reduce((s, p) => s + p.events, 0)).toBe(3);
    const hourly = await get('/v1/metrics/throughput?bucket_seconds=3600', 'admin');
    expect((hourly.body.points as { events: number }[]).reduce((s, p) => s + p.events, 0)).toBe(3);
    // Events two hours back are outside the default window.
    const old = await get(
      `/v1/metrics/throughput?end_time=${new Date(before - 3_600_000).toISOString()}`,
      'admin',
    );
    expect(old.body.points ?? []).toEqual([]);
    const c = await get('/v1/metrics/clearance', 'customs');
    expect(c.status).toBe(200);
    const hours = c.body.points as { bucketStart: string; decisions: number }[];
    expect(hours.reduce((s, p) => s + p.decisions, 0)).toBe(2);
    for (const p of hours) expect(Date.parse(p.bucketStart) % 3_600_000).toBe(0);
  });

  it('counts throughput by receive time: what arrived in the window, whatever the events’ own times', async () => {
    const before = await countRows(fx.chFx.ch, 'events');
    const twoDaysAgo = Date.now() - 2 * 86_400_000;
    await publishEvents(
      fx.natsFx.js,
      [0, 1].map((i) => ({
        ...equipmentEvent(`http-late-${i}`, 900_001),
        eventTime: new Date(twoDaysAgo + i * 1000),
      })),
    );
    await waitFor(async () => (await countRows(fx.chFx.ch, 'events')) === before + 2, {
      timeoutMs: 20_000,
      what: 'the sink to write the late events',
    });
    const sum = (r: Reply): number =>
      ((r.body.points ?? []) as { events: number }[]).reduce((s, p) => s + p.events, 0);
    expect(sum(await get('/v1/metrics/throughput?time=RECEIVE_TIME', 'admin'))).toBe(before + 2);
    expect(sum(await get('/v1/metrics/throughput?time=EVENT_TIME', 'admin'))).toBe(before);
    expect(sum(await get('/v1/metrics/throughput', 'admin'))).toBe(before);
    const bad = await get('/v1/metrics/throughput?time=WALL_CLOCK', 'admin');
    expect(bad.status).toBe(400);
    expect(errorOf(bad)).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'time' });
  });

  it('streams a container status and its changes as server-sent events, 404 before any byte to others', async () => {
    const ac = new AbortController();
    const res = await fetch(`${fx.api.httpUrl}/v1/containers/${MINE}/watch`, {
      headers: { authorization: `Bearer ${TOKENS.firm}` },
      signal: ac.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const reader = (res.body as ReadableStream<Uint8Array> | null)?.getReader();
    if (!reader) throw new Error('no body');
    let text = '';
    const readUntil = async (needle: string): Promise<void> => {
      while (!text.includes(needle)) {
        const chunk = await reader.read();
        if (chunk.done) throw new Error(`stream ended before ${needle}`);
        text += Buffer.from(chunk.value).toString('utf8');
      }
    };
    await readUntil('\n\n');
    expect(JSON.parse(text.slice(6, text.indexOf('\n\n')))).toMatchObject({
      status: { containerNumber: MINE },
    });
    await fx.putContainer(status(MINE, 'HICT', [MY_DECL], { releaseBlocker: 'sse-change' }));
    await readUntil('sse-change');
    ac.abort();
    const other = await get(`/v1/containers/${THEIRS}/watch`, 'firm');
    expect(other.status).toBe(404);
    expect(errorOf(other)).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('describes every route in /openapi.json', async () => {
    const doc = await get('/openapi.json');
    expect(doc.body.openapi).toBe('3.0.3');
    expect(Object.keys(doc.body.paths as object).sort()).toEqual([
      '/v1/containers',
      '/v1/containers/{container_number}',
      '/v1/containers/{container_number}/events',
      '/v1/containers/{container_number}/watch',
      '/v1/customs/held-declarations',
      '/v1/declarations',
      '/v1/declarations/{declaration_number}/decisions',
      '/v1/metrics/clearance',
      '/v1/metrics/consumer-lag',
      '/v1/metrics/customs',
      '/v1/metrics/throughput',
      '/v1/metrics/yard-dwell',
      '/v1/vessel-visits',
      '/v1/vessel-visits/{visit_id}',
    ]);
  });

  it('exposes Prometheus metrics of the API and the other services sharing the registry', async () => {
    const m = await get('/metrics');
    expect(m.status).toBe(200);
    expect(m.headers.get('content-type')).toContain('text/plain');
    expect(m.text).toContain('portstream_api_http_request_duration_seconds_bucket');
    expect(m.text).toMatch(/portstream_sink_/);
  });

  it('answers /healthz and /readyz, and 404 with the error body for unknown routes', async () => {
    expect((await get('/healthz')).body).toEqual({ status: 'ok' });
    expect((await get('/readyz')).body).toEqual({ status: 'ready' });
    const nf = await get('/v2/nothing');
    expect(nf.status).toBe(404);
    expect(errorOf(nf)).toMatchObject({ code: 'NOT_FOUND' });
  });

  it('serves the dashboard and uPlot from the API itself', async () => {
    const page = await get('/dashboard/');
    expect(page.status).toBe(200);
    expect(page.text).toContain('/vendor/uplot/uPlot.esm.js');
    const lib = await get('/vendor/uplot/uPlot.esm.js');
    expect(lib.status).toBe(200);
    expect(lib.text.length).toBeGreaterThan(10_000);
  });
});
