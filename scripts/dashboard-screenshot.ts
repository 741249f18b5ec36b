// Writes a PNG of the dashboard with a little port traffic in it: starts nats-server, embedded ClickHouse, the
// sink and the API (as the tests do), publishes an hour of events on three terminals and a day of decisions,
// logs in as admin, searches a container, and screenshots the page with headless Chromium.
//   npx tsx scripts/dashboard-screenshot.ts [out.png]
import { Channel } from '../proto/gen/portstream/v1/customs.js';
import { EquipmentEventType, type Event } from '../proto/gen/portstream/v1/events.js';
import { VesselVisitStatus } from '../proto/gen/portstream/v1/tracking.js';
import { launchChromium } from '../test/browser/launch.js';
import { TOKENS } from '../test-kit/auth.js';
import { equipmentEvent } from '../test-kit/events.js';
import { waitFor } from '../test-kit/poll.js';
import { decision, MINE, MY_DECL, seed, startApiFixture, visit } from '../test/integration/api-fixture.js';
import { countRows, publishDecision, publishEvents } from '../test/integration/sink-fixture.js';

const out = process.argv[2] ?? 'dashboard.png';
const TERMINALS = ['HICT', 'TVCT', 'NDV'];
const TYPES = [EquipmentEventType.DISC, EquipmentEventType.LOAD, EquipmentEventType.GTOT];

function traffic(): Event[] {
  const now = Date.now();
  const events: Event[] = [];
  let k = 0;
  for (let minute = 55; minute >= 1; minute--) {
    for (const [ti, terminal] of TERMINALS.entries()) {
      // A smooth, different rhythm per terminal so the lines are told apart.
      const n = Math.round(4 + 3 * Math.sin(minute / 6 + ti) + ti * 2);
      for (let i = 0; i < n; i++) {
        const base = equipmentEvent(`shot-${k++}`, 100_000 + (k % 5000));
        const type = TYPES[(i + ti) % TYPES.length] ?? EquipmentEventType.DISC;
        events.push({
          ...base,
          eventTime: new Date(now - minute * 60_000 + i * 500),
          facility: { unLocode: 'VNHPH', terminalCode: terminal },
          payload:
            base.payload?.$case === 'equipment'
              ? { $case: 'equipment', value: { ...base.payload.value, type } }
              : base.payload,
        });
      }
    }
  }
  const mine = [0, 1, 2, 3].map((i) => ({
    ...equipmentEvent(`shot-mine-${i}`, 900_001),
    eventTime: new Date(now - (40 - i * 10) * 60_000),
  }));
  return [...events, ...mine];
}

const fx = await startApiFixture();
try {
  await seed(fx);
  await fx.putVisit(visit('VNHPH-9811000-2346W', VesselVisitStatus.BERTHED, 'HICT-1'));
  await fx.putVisit(visit('VNHPH-9811012-0117E', VesselVisitStatus.BERTHED, 'TVCT-2'));
  const events = traffic();
  for (let i = 0; i < events.length; i += 500) await publishEvents(fx.natsFx.js, events.slice(i, i + 500));
  const channels = [Channel.GREEN, Channel.GREEN, Channel.GREEN, Channel.YELLOW, Channel.RED];
  for (let i = 0; i < 60; i++) {
    const d = decision(
      `3000000001${String(i).padStart(2, '0')}`,
      1,
      channels[i % 5] ?? Channel.GREEN,
      800 + i * 90,
    );
    await publishDecision(fx.natsFx.js, { ...d, decidedTime: new Date(Date.now() - (i % 6) * 3_600_000) });
  }
  await publishDecision(fx.natsFx.js, decision(MY_DECL, 1, Channel.YELLOW, 2300));
  await waitFor(async () => (await countRows(fx.chFx.ch, 'events')) >= events.length, { timeoutMs: 60_000 });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(`${fx.api.httpUrl}/dashboard/`);
    await page.fill('#token', TOKENS.admin);
    await page.click('#login button');
    await page.fill('#container', MINE);
    await page.click('#search button');
    await page.locator('#timeline li').nth(3).waitFor();
    await page.locator('#throughput canvas').waitFor();
    await page.screenshot({ path: out, fullPage: true });
    process.stdout.write(`wrote ${out}\n`);
  } finally {
    await browser.close();
  }
} finally {
  await fx.close();
}
