// The dashboard in headless Chromium against the real API, NATS, sink and ClickHouse: log in, search a
// container and see its timeline and customs status, then see the throughput chart grow after new events.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VesselVisitStatus } from '../../proto/gen/portstream/v1/tracking.js';
import { TOKENS } from '../helpers/auth.js';
import { equipmentEvent } from '../helpers/events.js';
import { waitFor } from '../helpers/poll.js';
import { MINE, seed, startApiFixture, visit, type ApiFixture } from '../integration/api-fixture.js';
import { countRows, publishEvents } from '../integration/sink-fixture.js';
import { launchChromium } from './launch.js';

function events(prefix: string, n: number): ReturnType<typeof equipmentEvent>[] {
  const t0 = Date.now() - 3 * 60_000;
  return Array.from({ length: n }, (_, i) => ({
    ...equipmentEvent(`${prefix}-${i}`, 900_001),
    eventTime: new Date(t0 + i * 1000),
  }));
}

describe('dashboard', () => {
  let fx: ApiFixture;
  let browser: Browser;
  let page: Page;

  const total = async (): Promise<number> =>
    Number(await page.locator('#throughput').getAttribute('data-total'));

  beforeAll(async () => {
    fx = await startApiFixture();
    await seed(fx);
    await fx.putVisit(visit('VNHPH-HICT-9811000-0001W', VesselVisitStatus.BERTHED));
    await publishEvents(fx.natsFx.js, events('ui', 3));
    await waitFor(async () => (await countRows(fx.chFx.ch, 'events')) >= 3, { timeoutMs: 20_000 });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
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
    expect(await page.locator('#throughput canvas').count()).toBeGreaterThan(0);
    await waitFor(async () => (await page.locator('#berth').textContent())?.includes('berth LH1'), {
      what: 'vessel at berth',
    });
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

  it('shows the API error when the token is wrong', async () => {
    await page.fill('#container', MINE);
    // A string, not a function: the test is compiled without the DOM library.
    await page.evaluate('sessionStorage.setItem("portstream.token", "wrong-token-0123456789")');
    await page.click('#search button');
    await waitFor(async () => (await page.locator('#status').textContent())?.includes('UNAUTHENTICATED'));
  });
});
