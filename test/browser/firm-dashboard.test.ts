// The firm dashboard (/dashboard/firm.html) in headless Debian Chromium against the whole system (gateway,
// processor, sink, API on a real nats-server and embedded ClickHouse): before any data, a firm's page says it
// has none; after a small simulated set (a carrier's manifest, discharges, a gate-out, both firms' declarations)
// firm A's page lists exactly A's containers with their status and what blocks release, and A's declarations
// with their channels; the console stays free of errors; and firm B's token shows none of A's containers.
// Screenshots are kept under test-results/browser/ (TEST_ARTIFACTS_DIR overrides).
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel } from '../../proto/gen/portstream/v1/customs.js';
import { EquipmentEventType } from '../../proto/gen/portstream/v1/events.js';
import { CargoFlow } from '../../proto/gen/portstream/v1/manifest.js';
import { ReleasedFilter } from '../../proto/gen/portstream/v1/tracking.js';
import { TOKENS } from '../../test-kit/auth.js';
import { numberSequence, sampleDeclaration } from '../helpers/declarations.js';
import { containerNumber } from '../../test-kit/events.js';
import { bill, FIRM_A, FIRM_B, manifest, party, VESSEL_IN, VESSEL_OUT } from '../helpers/manifests.js';
import { waitFor } from '../../test-kit/poll.js';
import { unary } from '../helpers/rpc.js';
import {
  allAccepted,
  move,
  startPartiesFixture,
  type PartiesFixture,
} from '../integration/parties-fixture.js';
import { launchChromium } from './launch.js';

const ARTIFACTS = process.env.TEST_ARTIFACTS_DIR ?? path.resolve('test-results/browser');
const nextImport = numberSequence(108700000000);

describe('firm dashboard', () => {
  let fx: PartiesFixture;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const A = [1, 2, 3, 4].map((i) => containerNumber('HLX', 400_000 + i));
  const A_NEXT = containerNumber('HLX', 400_005);
  const B = [containerNumber('HLX', 400_006), containerNumber('HLX', 400_007)];
  const declared: string[] = [];

  const count = async (id: string): Promise<number> =>
    Number(await page.locator(`#${id}`).getAttribute('data-count'));
  const column = async (table: string): Promise<string[]> =>
    page.locator(`#${table} tbody tr td:first-child`).allTextContents();
  const logIn = async (token: string): Promise<void> => {
    await page.goto(`${fx.httpUrl}/dashboard/firm.html?refresh=500`);
    await page.fill('#token', token);
    await page.click('#login button');
  };

  beforeAll(async () => {
    fx = await startPartiesFixture();
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

  it('says so when the firm has no containers and no declarations', async () => {
    await logIn(TOKENS.firm);
    await waitFor(async () => (await page.locator('#updated').textContent()) !== 'never', {
      what: 'a first refresh',
    });
    expect(await page.locator('#containers-empty').isVisible()).toBe(true);
    expect(await page.locator('#declarations-empty').isVisible()).toBe(true);
    expect(await page.locator('#container-summary .empty').isVisible()).toBe(true);
    expect(await page.locator('#channel-summary .empty').textContent()).toContain('No declarations');
    await page.screenshot({ path: path.join(ARTIFACTS, 'firm-dashboard-empty.png'), fullPage: true });
  });

  it('after a small port day shows the firm’s containers, what blocks them, and its declarations', async () => {
    // A simulated set: HLCU's manifests for two calls, discharges, one gate-out, both firms' declarations.
    await fx.file(
      'carrier',
      manifest('HLCU', VESSEL_IN, [
        bill('HLCUHPH7000001', CargoFlow.IMPORT, [A[0] as string, A[1] as string], {
          consignee: party(FIRM_A),
        }),
        bill('HLCUHPH7000002', CargoFlow.IMPORT, [A[2] as string], { consignee: party(FIRM_A) }),
        bill('HLCUHPH7000003', CargoFlow.IMPORT, [A[3] as string], { consignee: party(FIRM_A) }),
        bill('HLCUHPH7000004', CargoFlow.IMPORT, B, { consignee: party(FIRM_B) }),
      ]),
    );
    await fx.file(
      'carrier',
      manifest('HLCU', VESSEL_OUT, [
        bill('HLCUHPH7000005', CargoFlow.IMPORT, [A_NEXT], { consignee: party(FIRM_A) }),
      ]),
    );
    allAccepted(
      await fx.publish(
        'operator',
        [...A, ...B].map((c) => move(EquipmentEventType.DISC, c, { vessel: VESSEL_IN })),
      ),
    );
    for (const [who, kind, bills, tax] of [
      ['firm', 'green', ['HLCUHPH7000001'], FIRM_A],
      ['firm', 'yellow', ['HLCUHPH7000002'], FIRM_A],
      ['firm', 'red', ['HLCUHPH7000003'], FIRM_A],
      ['otherFirm', 'red', ['HLCUHPH7000004'], FIRM_B],
    ] as const) {
      const r = await fx.declare(
        who,
        sampleDeclaration(kind, nextImport(), {
          declarantTaxCode: tax,
          traderTaxCode: tax,
          billNumbers: [...bills],
          vessel: VESSEL_IN,
        }),
      );
      declared.push(r.declarationNumber);
    }

    const mine = [...A, A_NEXT].sort();
    await waitFor(
      async () => (await count('containers')) === mine.length && (await count('declarations')) === 3,
      {
        timeoutMs: 20_000,
        what: 'A’s containers and declarations on the page',
      },
    );
    expect(await column('containers')).toEqual(mine);
    expect((await column('declarations')).sort()).toEqual(declared.slice(0, 3).sort());
    // Each container's row says what the API says of it: held ones name their blocker.
    const t = fx.as('firm').tracking;
    const held = await unary(t.listContainers.bind(t), {
      locations: [],
      customsStatuses: [],
      callId: '',
      released: ReleasedFilter.HELD,
      pageSize: 0,
      pageToken: '',
    });
    expect(held.containers.length).toBeGreaterThan(0);
    for (const c of held.containers) {
      const row = page.locator('#containers tbody tr', { hasText: c.containerNumber });
      expect(await row.locator('td.held').textContent()).toBe(c.releaseBlocker || 'not released');
    }
    // The channel chart shows the channels of A's declarations as the API gives them, and the tiles the totals.
    const decls = await unary(t.listDeclarations.bind(t), {
      statuses: [],
      callId: '',
      released: ReleasedFilter.UNSPECIFIED,
      pageSize: 0,
      pageToken: '',
    });
    const byChannel = new Map<string, number>();
    for (const d of decls.declarations) {
      const ch = d.channel === Channel.UNSPECIFIED ? 'undecided' : Channel[d.channel].toLowerCase();
      byChannel.set(ch, (byChannel.get(ch) ?? 0) + 1);
    }
    const bar = await page.locator('#channel-summary .bar span').allTextContents();
    expect(bar.sort()).toEqual([...byChannel].map(([ch, n]) => `${ch} ${n}`).sort());
    expect(await count('container-summary')).toBe(mine.length);
    expect(await page.locator('#container-summary .tile').count()).toBe(4);
    // Filters: the call not arrived yet holds only the upcoming container.
    await page.fill('#call', `VNHPH-HICT-${VESSEL_OUT.imoNumber}-${VESSEL_OUT.voyage}`);
    await page.click('#filters button');
    await waitFor(async () => (await count('containers')) === 1, { what: 'the call filter' });
    expect(await column('containers')).toEqual([A_NEXT]);
    await page.fill('#call', '');
    await page.click('#filters button');
    await waitFor(async () => (await count('containers')) === mine.length, { what: 'the filter cleared' });
    await page.screenshot({ path: path.join(ARTIFACTS, 'firm-dashboard.png'), fullPage: true });
    expect(problems).toEqual([]);
  });

  it('with firm B’s token shows none of A’s containers or declarations', async () => {
    await page.evaluate('sessionStorage.clear()');
    await logIn(TOKENS.otherFirm);
    await waitFor(async () => (await count('containers')) === B.length, { what: 'B’s containers' });
    await waitFor(async () => (await count('declarations')) === 1, { what: 'B’s declaration' });
    const shown = await column('containers');
    expect(shown).toEqual([...B].sort());
    for (const c of [...A, A_NEXT]) expect(await page.content()).not.toContain(c);
    expect(await column('declarations')).toEqual([declared[3]]);
    await page.screenshot({ path: path.join(ARTIFACTS, 'firm-dashboard-other-firm.png'), fullPage: true });
    expect(problems).toEqual([]);
  });
});
