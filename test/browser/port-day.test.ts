// Each audience's dashboard after a simulated Hai Phong day, in headless Debian Chromium against the whole system
// (gateway, processor, sink, API on a real nats-server and embedded ClickHouse): the simulator plays a compressed
// day of carriers, terminals and customs over gRPC, as `portstream up` runs it; then the operator's page, the
// customs page and the firm page (the simulator's trading firm, simulator/model/catalog.ts DEV_FIRM) each show
// data in every chart and table (the customs queue lists exactly what the API holds, which after a finished day
// may be nothing), every chart's x-axis is its query window with every point inside, and the
// browser reports no console error and no failed request. Screenshots go to test-results/browser/.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ReleasedFilter } from '../../proto/gen/portstream/v1/tracking.js';
import { silentLogger } from '../../core/logger.js';
import { runSimulation } from '../../simulator/driver.js';
import { DEV_FIRM } from '../../simulator/model/catalog.js';
import type { SimulationStats } from '../../simulator/stats.js';
import { testAuth, TOKENS } from '../../test-kit/auth.js';
import { waitFor } from '../../test-kit/poll.js';
import { unary } from '../helpers/rpc.js';
import { startPartiesFixture, type PartiesFixture } from '../integration/parties-fixture.js';
import { launchChromium } from './launch.js';

const ARTIFACTS = process.env.TEST_ARTIFACTS_DIR ?? path.resolve('test-results/browser');

/** Each page's charts, as the page's own tests name them. */
const OPERATOR_CHARTS = ['channels', 'dwell', 'lag', 'latency', 'received', 'throughput'];
const CUSTOMS_CHARTS = ['decisions', 'latency', 'outcomes'];

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

describe('every audience’s dashboard after a simulated port day', () => {
  let fx: PartiesFixture;
  let browser: Browser;
  let stats: SimulationStats;

  beforeAll(async () => {
    fx = await startPartiesFixture();
    stats = await runSimulation(
      {
        endpoint: fx.ingestAddress,
        token: TOKENS.admin,
        customsToken: TOKENS.customs,
        carrierToken: TOKENS.portCarriers,
        seed: 14,
        // A day in six seconds, ending now: its last hour is the operator's event-time window.
        durationMs: 6000,
        timeScale: 14_400,
        callsPerDay: 8,
        containersPerCall: [20, 40],
      },
      silentLogger(),
    );
    expect(stats.rejected).toBe(0);
    expect(stats.declarationsFailed).toBe(0);
    expect(stats.manifestsFailed).toBe(0);
    expect(stats.inspectionsRecorded).toBeGreaterThan(0);
    browser = await launchChromium();
    await mkdir(ARTIFACTS, { recursive: true });
  }, 90_000);

  afterAll(async () => {
    await browser.close();
    await fx.close();
  });

  /** A page logged in with the token; `problems` collects console errors, page errors and failed requests. */
  const open = async (url: string, token: string): Promise<{ page: Page; problems: string[] }> => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`);
    });
    await page.goto(url);
    await page.fill('#token', token);
    await page.click('#login button');
    return { page, problems };
  };

  /** Every chart has data, its axis is exactly its query window (ending now) and every point lies inside. */
  const checkCharts = async (page: Page, ids: string[]): Promise<void> => {
    const views = await waitFor(
      async () => {
        const vs = await page.evaluate<ChartView[]>(CHART_VIEWS);
        return vs.length === ids.length && vs.every((v) => v.xs.length > 0) ? vs : undefined;
      },
      { timeoutMs: 20_000, what: `data in every chart of ${page.url()}` },
    );
    const now = Date.now() / 1000;
    expect(views.map((v) => v.id).sort()).toEqual(ids);
    for (const v of views) {
      expect(v.window.end).toBeGreaterThan(now - 2 * v.window.bucket);
      expect(v.window.end).toBeLessThanOrEqual(now + 2 * v.window.bucket);
      expect({ id: v.id, min: v.min, max: v.max }).toEqual({
        id: v.id,
        min: v.window.start,
        max: v.window.end,
      });
      for (const x of v.xs) {
        expect(x).toBeGreaterThanOrEqual(v.window.start);
        expect(x).toBeLessThan(v.window.end);
      }
      expect({ id: v.id, emptyShown: v.emptyShown }).toEqual({ id: v.id, emptyShown: false });
    }
  };

  it('the operator’s page: every event of the day arrived in the last hour, and every chart has data', async () => {
    const { page, problems } = await open(`${fx.httpUrl}/dashboard/?refresh=500`, TOKENS.admin);
    // Everything the simulator sent arrived within the hour, whatever its own time.
    await waitFor(
      async () => Number(await page.locator('#received').getAttribute('data-total')) === stats.eventsSent,
      { timeoutMs: 30_000, what: `the arrivals chart to count the ${stats.eventsSent} events sent` },
    );
    // The day ends now: its last hour is in the event-time chart, and only a part of the day.
    const happened = await waitFor(
      async () => {
        const n = Number(await page.locator('#throughput').getAttribute('data-total'));
        return n > 0 ? n : undefined;
      },
      { timeoutMs: 30_000, what: 'the event-time chart to count the last hour of the day' },
    );
    expect(happened).toBeLessThan(stats.eventsSent);
    await checkCharts(page, OPERATOR_CHARTS);
    await page.screenshot({ path: path.join(ARTIFACTS, 'port-day-operator.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('the customs page: every chart has data, and the held queue is the API’s', async () => {
    const { page, problems } = await open(`${fx.httpUrl}/dashboard/customs.html?refresh=500`, TOKENS.customs);
    await checkCharts(page, CUSTOMS_CHARTS);
    // The queue lists what the API holds: the yellow and red declarations whose check or inspection is pending.
    const res = await fetch(`${fx.httpUrl}/v1/customs/held-declarations?page_size=200`, {
      headers: { authorization: `Bearer ${TOKENS.customs}` },
    });
    expect(res.status).toBe(200);
    const held =
      ((await res.json()) as { declarations?: { declarationNumber: string }[] }).declarations ?? [];
    const rows = (): Promise<string[]> =>
      page.evaluate<string[]>(
        `Array.from(document.querySelectorAll('#queue tbody tr')).map((tr) => tr.dataset.declaration)`,
      );
    // The model clears every check and inspection within its day, so a finished day may hold none: then the
    // page says so.
    await waitFor(
      async () =>
        (await rows()).length === held.length &&
        (await page.locator('#queue-empty').isHidden()) === held.length > 0,
      { what: 'the held queue on the page' },
    );
    expect((await rows()).sort()).toEqual(held.map((d) => d.declarationNumber).sort());
    await page.screenshot({ path: path.join(ARTIFACTS, 'port-day-customs.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('the firm page of the simulator’s trading firm: its containers and declarations as the API lists them', async () => {
    // The firm token's tax code is the trader the simulator declares for (DEV_FIRM).
    expect([...testAuth.authenticate(`Bearer ${TOKENS.firm}`).taxCodes]).toEqual([DEV_FIRM.taxCode]);
    const t = fx.as('firm').tracking;
    const containers = await unary(t.listContainers.bind(t), {
      locations: [],
      customsStatuses: [],
      callId: '',
      released: ReleasedFilter.UNSPECIFIED,
      pageSize: 0,
      pageToken: '',
    });
    const declarations = await unary(t.listDeclarations.bind(t), {
      statuses: [],
      callId: '',
      released: ReleasedFilter.UNSPECIFIED,
      pageSize: 0,
      pageToken: '',
    });
    expect(containers.containers.length).toBeGreaterThan(0);
    expect(declarations.declarations.length).toBeGreaterThan(0);
    const { page, problems } = await open(`${fx.httpUrl}/dashboard/firm.html?refresh=500`, TOKENS.firm);
    const count = async (id: string): Promise<number> =>
      Number(await page.locator(`#${id}`).getAttribute('data-count'));
    await waitFor(async () => (await count('containers')) > 0 && (await count('declarations')) > 0, {
      timeoutMs: 20_000,
      what: 'the firm’s containers and declarations on the page',
    });
    expect((await page.locator('#containers tbody tr td:first-child').allTextContents()).sort()).toEqual(
      containers.containers.map((c) => c.containerNumber).sort(),
    );
    expect((await page.locator('#declarations tbody tr td:first-child').allTextContents()).sort()).toEqual(
      declarations.declarations.map((d) => d.declarationNumber).sort(),
    );
    expect(await count('container-summary')).toBe(containers.containers.length);
    expect(await page.locator('#channel-summary .bar span').count()).toBeGreaterThan(0);
    expect(await page.locator('#containers-empty').isHidden()).toBe(true);
    expect(await page.locator('#declarations-empty').isHidden()).toBe(true);
    await page.screenshot({ path: path.join(ARTIFACTS, 'port-day-firm.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });
});
