// The customs dashboard in headless Chromium against the real API, NATS, sink and ClickHouse: with no decisions
// every chart and the queue say so; after a customs day (decisions of every channel, a passed document check, a
// failed inspection, a cancellation, an amendment) the queue lists the two held declarations oldest first with
// their age, every chart has data inside its query window, and the console stays free of errors and failed
// requests. An operator's token is refused the customs data. Screenshots go to test-results/browser/.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TOKENS } from '../../test-kit/auth.js';
import { waitFor } from '../../test-kit/poll.js';
import { startApiFixture, type ApiFixture } from '../integration/api-fixture.js';
import {
  HELD_RED,
  HELD_YELLOW,
  HELD_YELLOW_TRADER,
  publishCustomsDay,
} from '../integration/customs-day-fixture.js';
import { launchChromium } from './launch.js';

const ARTIFACTS = process.env.TEST_ARTIFACTS_DIR ?? path.resolve('test-results/browser');
const CHARTS = ['decisions', 'latency', 'outcomes'];

interface ChartView {
  id: string;
  min: number | null;
  max: number | null;
  xs: number[];
  series: number;
  window: { start: number; end: number; bucket: number };
  emptyShown: boolean;
}

// A string, not a function: the test is compiled without the DOM library.
const CHART_VIEWS = `Object.entries(window.portstreamCharts.charts).map(([id, c]) => ({
  id,
  min: c.plot.scales.x.min,
  max: c.plot.scales.x.max,
  xs: Array.from(c.plot.data[0]),
  series: c.plot.data.length - 1,
  window: window.portstreamCharts.windows[id],
  emptyShown: !document.querySelector('#' + id + ' .empty').hidden,
}))`;

describe('customs dashboard', () => {
  let fx: ApiFixture;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const views = async (): Promise<ChartView[]> => page.evaluate<ChartView[]>(CHART_VIEWS);
  const rows = async (): Promise<string[]> =>
    page.evaluate<string[]>(
      `Array.from(document.querySelectorAll('#queue tbody tr')).map((tr) => tr.dataset.declaration)`,
    );

  /** Every chart's x-axis is exactly its window (the last 24 h in hourly buckets), every point inside it. */
  const checkAxes = async (wantEmpty: boolean): Promise<void> => {
    const now = Date.now() / 1000;
    const got = await views();
    expect(got.map((v) => v.id).sort()).toEqual(CHARTS);
    for (const v of got) {
      expect({ id: v.id, span: v.window.end - v.window.start, bucket: v.window.bucket }).toEqual({
        id: v.id,
        span: 86_400,
        bucket: 3600,
      });
      expect(v.window.end).toBeGreaterThan(now - 2 * 3600);
      expect(v.window.end).toBeLessThanOrEqual(now + 2 * 3600);
      expect({ id: v.id, min: v.min, max: v.max }).toEqual({
        id: v.id,
        min: v.window.start,
        max: v.window.end,
      });
      for (const x of v.xs) {
        expect(x).toBeGreaterThanOrEqual(v.window.start);
        expect(x).toBeLessThan(v.window.end);
      }
      expect({ id: v.id, empty: v.xs.length === 0, emptyShown: v.emptyShown }).toEqual({
        id: v.id,
        empty: wantEmpty,
        emptyShown: wantEmpty,
      });
    }
  };

  beforeAll(async () => {
    fx = await startApiFixture();
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

  it('says so when nothing is held and nothing was decided', async () => {
    await page.goto(`${fx.api.httpUrl}/dashboard/customs.html?refresh=300`);
    await page.fill('#token', TOKENS.customs);
    await page.click('#login button');
    await waitFor(async () => (await views()).length === CHARTS.length, { what: 'the three charts' });
    await waitFor(async () => !(await page.locator('#queue-empty').isHidden()), {
      what: 'the empty queue text',
    });
    await checkAxes(true);
    expect(await page.locator('#outcomes .empty').textContent()).toContain('No document check or inspection');
    await page.screenshot({ path: path.join(ARTIFACTS, 'customs-empty.png'), fullPage: true });
  });

  it('after a customs day: the queue oldest first with ages, and data in every chart inside its window', async () => {
    await publishCustomsDay(fx);
    await page.reload();
    await waitFor(async () => (await rows()).length === 2, {
      timeoutMs: 20_000,
      what: 'two held declarations',
    });
    expect(await rows()).toEqual([HELD_YELLOW, HELD_RED]);
    const first = page.locator('#queue tbody tr').first();
    expect(await first.textContent()).toContain(HELD_YELLOW_TRADER);
    // Held five hours ago, two hours ago.
    expect(await first.locator('td').nth(3).textContent()).toMatch(/^(4h 5\dm|5h \dm)$/);
    expect(await page.locator('#queue tbody tr').nth(1).locator('td').nth(3).textContent()).toMatch(
      /^(1h 5\dm|2h \dm)$/,
    );
    expect(await page.locator('#yellow-total').textContent()).toBe('1 yellow');
    expect(await page.locator('#red-total').textContent()).toBe('1 red');
    expect(await page.locator('#queue-empty').isHidden()).toBe(true);
    await waitFor(
      async () => {
        const vs = await views();
        return vs.length === CHARTS.length && vs.every((v) => v.xs.length > 0);
      },
      {
        timeoutMs: 20_000,
        what: 'every chart to have data',
      },
    );
    await checkAxes(false);
    const byId = Object.fromEntries((await views()).map((v) => [v.id, v]));
    expect({
      decisions: byId.decisions?.series,
      outcomes: byId.outcomes?.series,
      latency: byId.latency?.series,
    }).toEqual({
      decisions: 3,
      outcomes: 4,
      latency: 2,
    });
    // The failed inspection 30 minutes ago and the passed document check an hour ago: one hourly point each,
    // or one for both when they fall in the same clock hour (in the first half of every hour).
    const hourOf = (agoMs: number): number => Math.floor((Date.now() - agoMs) / 3_600_000);
    expect(byId.outcomes?.xs.length).toBe(new Set([hourOf(1_800_000), hourOf(3_600_000)]).size);
    await page.screenshot({ path: path.join(ARTIFACTS, 'customs.png'), fullPage: true });
    expect(problems).toEqual([]);
  });

  it('shows an operator that the customs data is not theirs', async () => {
    await page.evaluate(`sessionStorage.setItem("portstream.token", ${JSON.stringify(TOKENS.operator)})`);
    await page.reload();
    await waitFor(async () => (await page.locator('#error').textContent())?.includes('PERMISSION_DENIED'), {
      what: 'the refusal on the page',
    });
    expect(await rows()).toEqual([]);
  });
});
