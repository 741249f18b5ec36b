// The dashboard in headless Chromium against the real API, NATS, sink and ClickHouse: log in, search a
// container and see its timeline and customs status, see the throughput charts grow after new events (by
// receive time even for events whose own time is days old), every chart's x-axis bound to its query window,
// empty-state text where there is no data, and nothing logged as an error in the browser console.
// Screenshots are kept under test-results/browser/ (TEST_ARTIFACTS_DIR overrides).
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
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
  seed,
  startApiFixture,
  visit,
  type ApiFixture,
} from '../integration/api-fixture.js';
import { publishYardStays } from '../integration/customs-day-fixture.js';
import { countRows, publishDecision, publishEvents } from '../integration/sink-fixture.js';
import { launchChromium } from './launch.js';

const ARTIFACTS = process.env.TEST_ARTIFACTS_DIR ?? path.resolve('test-results/browser');

/** Each chart's query window in seconds. */
const SPANS: Record<string, number> = {
  received: 3600,
  throughput: 3600,
  latency: 86_400,
  channels: 86_400,
  dwell: 86_400,
  lag: 600,
};

/** What the page exposes for this test: each chart's uPlot x scale and data, and the window it asked for. */
interface ChartView {
  id: string;
  min: number | null;
  max: number | null;
  xs: number[];
  window: { start: number; end: number; bucket: number };
  emptyShown: boolean;
}

// A string, not a function: the test is compiled without the DOM library.
const CHART_VIEWS = `Object.entries(window.portstreamCharts.charts).map(([id, c]) => ({
  id,
  min: c.plot.scales.x.min,
  max: c.plot.scales.x.max,
  xs: Array.from(c.plot.data[0]),
  window: window.portstreamCharts.windows[id],
  emptyShown: !document.querySelector('#' + id + ' .empty').hidden,
}))`;

function events(prefix: string, n: number, ageMs = 3 * 60_000): ReturnType<typeof equipmentEvent>[] {
  const t0 = Date.now() - ageMs;
  return Array.from({ length: n }, (_, i) => ({
    ...equipmentEvent(`${prefix}-${i}`, 900_001),
    eventTime: new Date(t0 + i * 1000),
  }));
}

describe('dashboard', () => {
  let fx: ApiFixture;
  let browser: Browser;
  let page: Page;
  /** Console errors, page errors and failed requests, as the browser reported them. */
  const problems: string[] = [];

  const total = async (id = 'throughput'): Promise<number> =>
    Number(await page.locator(`#${id}`).getAttribute('data-total'));
  const views = async (): Promise<ChartView[]> => page.evaluate<ChartView[]>(CHART_VIEWS);

  beforeAll(async () => {
    fx = await startApiFixture();
    await seed(fx);
    await fx.putVisit(visit('VNHPH-HICT-9811000-0001W', VesselVisitStatus.BERTHED));
    await publishEvents(fx.natsFx.js, events('ui', 3));
    await waitFor(async () => (await countRows(fx.chFx.ch, 'events')) >= 3, { timeoutMs: 20_000 });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
    });
    await mkdir(ARTIFACTS, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await browser.close();
    await fx.close();
  });

  it('logs in, shows charts and vessels at berth, and finds a container with its timeline', async () => {
    await page.goto(`${fx.api.httpUrl}/dashboard/?refresh=300`);
    await page.fill('#token', TOKENS.admin);
    await page.click('#login button');
    expect(await page.evaluate('sessionStorage.getItem("portstream.token")')).toBe(TOKENS.admin);
    await waitFor(async () => (await total()) === 3, { what: 'throughput chart with 3 events' });
    await waitFor(async () => (await total('received')) === 3, { what: 'arrivals chart with 3 events' });
    expect(await page.locator('#throughput canvas').count()).toBeGreaterThan(0);
    await waitFor(async () => (await page.locator('#berth').textContent())?.includes('berth LH1'), {
      what: 'vessel at berth',
    });
    // Its progress: no moves yet of the 10 containers on its manifest.
    expect(await page.locator('#berth progress').getAttribute('max')).toBe('10');
    expect(await page.locator('#berth').textContent()).toContain('0 moves');
    await page.fill('#container', MINE);
    await page.click('#search button');
    await page.locator('#timeline li').nth(2).waitFor();
    expect(await page.locator('#timeline li').count()).toBe(3);
    expect(await page.locator('#status').textContent()).toContain('customs PENDING');
  });

  it('updates the live throughput chart after new events arrive', async () => {
    const before = await total();
    await publishEvents(fx.natsFx.js, events('ui-live', 4));
    await waitFor(async () => (await total()) === before + 4, { timeoutMs: 20_000, what: 'chart update' });
  });

  it('counts late events as arrived now, not as happened now', async () => {
    // Every event so far arrived within the hour: wait until the arrivals chart shows them all (its refresh may
    // trail the event-time chart's), then add events whose own time is two days back.
    const arrived = await countRows(fx.chFx.ch, 'events');
    await waitFor(async () => (await total('received')) === arrived, { what: 'arrivals chart to catch up' });
    const happened = await total();
    await publishEvents(fx.natsFx.js, events('ui-late', 5, 2 * 86_400_000));
    await waitFor(async () => (await total('received')) === arrived + 5, {
      timeoutMs: 20_000,
      what: 'arrivals chart to count the late events',
    });
    expect(await total()).toBe(happened);
  });

  it('binds every chart’s x-axis to its query window, with empty-state text where there is no data', async () => {
    const check = async (wantEmpty: string[]): Promise<void> => {
      const now = Date.now() / 1000;
      const got = await views();
      expect(got.map((v) => v.id).sort()).toEqual([
        'channels',
        'dwell',
        'lag',
        'latency',
        'received',
        'throughput',
      ]);
      for (const v of got) {
        const span = SPANS[v.id] ?? 0;
        // The window is the last `span` seconds up to the end of the current bucket...
        expect({ id: v.id, span: v.window.end - v.window.start }).toEqual({ id: v.id, span });
        expect(v.window.end).toBeGreaterThan(now - 2 * v.window.bucket);
        expect(v.window.end).toBeLessThanOrEqual(now + 2 * v.window.bucket);
        // ...the axis spans exactly it, and every point lies inside.
        expect({ id: v.id, min: v.min, max: v.max }).toEqual({
          id: v.id,
          min: v.window.start,
          max: v.window.end,
        });
        for (const x of v.xs) {
          expect(x).toBeGreaterThanOrEqual(v.window.start);
          expect(x).toBeLessThan(v.window.end);
        }
        expect({ id: v.id, emptyShown: v.emptyShown }).toEqual({
          id: v.id,
          emptyShown: wantEmpty.includes(v.id),
        });
        expect({ id: v.id, empty: v.xs.length === 0 }).toEqual({ id: v.id, empty: wantEmpty.includes(v.id) });
      }
    };
    // No decisions and no finished yard stays yet: those charts say so. Lag has its samples from the start.
    await check(['latency', 'channels', 'dwell']);
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-no-decisions.png'), fullPage: true });
    expect(await page.locator('#latency .empty').textContent()).toContain('No clearance decisions');

    await publishDecision(fx.natsFx.js, decision(MY_DECL, 1, Channel.YELLOW, 4000));
    await publishYardStays(fx);
    await page.reload();
    await waitFor(async () => (await views()).find((v) => v.id === 'latency')?.xs.length === 1, {
      timeoutMs: 20_000,
      what: 'the clearance charts to show the decision',
    });
    await waitFor(async () => ((await views()).find((v) => v.id === 'dwell')?.xs.length ?? 0) > 0, {
      what: 'the dwell chart to show the stays',
    });
    // After the reload each chart is drawn when its own query answers: wait for the six, not only those two.
    await waitFor(async () => (await views()).length === 6, { what: 'every chart drawn after the reload' });
    await check([]);
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    expect(problems).toEqual([]);
  });

  it('shows the API error when the token is wrong', async () => {
    await page.fill('#container', MINE);
    // A string, not a function: the test is compiled without the DOM library.
    await page.evaluate('sessionStorage.setItem("portstream.token", "wrong-token-0123456789")');
    await page.click('#search button');
    await waitFor(async () => (await page.locator('#status').textContent())?.includes('UNAUTHENTICATED'));
  });
});
