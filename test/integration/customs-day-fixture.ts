// A small customs day for the customs dashboard tests: decisions of every channel published on the decision
// stream (the real sink writes them to ClickHouse), with document-check and inspection outcomes, a cancellation
// and an amendment, spread over the last hours; two declarations stay held. Plus yard stays that ended within
// the day, for the operator's dwell chart.
import { EquipmentEventType } from '../../proto/gen/portstream/v1/events.js';
import {
  Channel,
  ClearanceStatus,
  Declaration,
  type Decision,
} from '../../proto/gen/portstream/v1/customs.js';
import { containerNumber, equipmentEvent } from '../../test-kit/events.js';
import { waitFor } from '../../test-kit/poll.js';
import type { ApiFixture } from './api-fixture.js';
import { countRows, publishDecision, publishEvents } from './sink-fixture.js';

const H = 3_600_000;

/** Held for a document check since 5 hours ago: the oldest in the queue. */
export const HELD_YELLOW = '310000000001';
/** Held for a physical inspection since 2 hours ago. */
export const HELD_RED = '310000000002';
export const HELD_YELLOW_TRADER = 'Hai Phong Textiles JSC';
export const HELD_YELLOW_CONTAINER = containerNumber('MSC', 900_010);

/** What the day adds up to in the customs activity read. */
export const DAY_TOTALS = {
  decisions: 11,
  green: 2,
  yellow: 3,
  red: 3,
  documentChecksPassed: 1,
  documentChecksFailed: 0,
  inspectionsPassed: 0,
  inspectionsFailed: 1,
  cancelled: 1,
};

function d(
  no: string,
  agoMs: number,
  channel: Channel,
  status: ClearanceStatus,
  extra: Partial<Decision> = {},
): Decision {
  return {
    declarationNumber: no,
    revision: 1,
    channel,
    status,
    rules:
      channel === Channel.GREEN || extra.note
        ? []
        : [
            {
              code: channel === Channel.RED ? 'HS_HIGH_RISK_CHAPTER' : 'VALUE_ANOMALY',
              reason: 'test',
              channel,
            },
          ],
    ruleSetVersion: 'test',
    decidedTime: new Date(Date.now() - agoMs),
    decisionLatencyUs: 2000 + Math.round(agoMs / 1000),
    position: 0,
    note: '',
    nextSteps: [],
    selectionSecretVersion: '',
    ...extra,
  };
}

export async function publishCustomsDay(fx: ApiFixture): Promise<void> {
  const { YELLOW, RED, GREEN } = Channel;
  const S = ClearanceStatus;
  const decisions = [
    d(HELD_YELLOW, 5 * H, YELLOW, S.DOCUMENT_CHECK),
    d(HELD_RED, 2 * H, RED, S.PHYSICAL_INSPECTION),
    d('310000000003', 3 * H, GREEN, S.CLEARED),
    // A document check that passed.
    d('310000000004', 4 * H, YELLOW, S.DOCUMENT_CHECK),
    d('310000000004', 1 * H, YELLOW, S.CLEARED, { note: 'inspection passed by officer-7' }),
    // A physical inspection that failed.
    d('310000000005', 3 * H, RED, S.PHYSICAL_INSPECTION),
    d('310000000005', 0.5 * H, RED, S.REFUSED, { note: 'inspection failed by officer-9: undeclared goods' }),
    // Cancelled while held.
    d('310000000006', 6 * H, YELLOW, S.DOCUMENT_CHECK),
    d('310000000006', 5.5 * H, YELLOW, S.CANCELLED, { note: 'cancelled: wrong office' }),
    // Held, then amended and cleared.
    d('310000000007', 7 * H, RED, S.PHYSICAL_INSPECTION),
    d('310000000007', 6.5 * H, GREEN, S.CLEARED, { revision: 2 }),
  ];
  await fx.putDeclaration({
    declaration: Declaration.fromPartial({
      declarationNumber: HELD_YELLOW,
      declarantTaxCode: '0100109106',
      traderTaxCode: '0100109106',
      traderName: HELD_YELLOW_TRADER,
      customsOffice: '03CC',
      containerNumbers: [HELD_YELLOW_CONTAINER],
    }),
    revision: 1,
    appliedCommands: [],
    decisions: [],
  });
  for (const x of decisions) await publishDecision(fx.natsFx.js, x);
  await waitFor(async () => (await countRows(fx.chFx.ch, 'decisions')) >= decisions.length, {
    timeoutMs: 20_000,
    what: 'the day’s decisions in ClickHouse',
  });
}

/** Two yard stays at HICT that ended within the day: 28 h and 10 h in the yard. */
export async function publishYardStays(fx: ApiFixture): Promise<void> {
  const at = (agoMs: number): Date => new Date(Date.now() - agoMs);
  const ev = (id: string, serial: number, type: EquipmentEventType, agoMs: number) => {
    const e = equipmentEvent(id, serial, { eventTime: at(agoMs) });
    if (e.payload?.$case === 'equipment') e.payload.value.type = type;
    return e;
  };
  const events = [
    ev('dwell-1-in', 910_001, EquipmentEventType.DISC, 30 * H),
    ev('dwell-1-out', 910_001, EquipmentEventType.GTOT, 2 * H),
    ev('dwell-2-in', 910_002, EquipmentEventType.DISC, 13 * H),
    ev('dwell-2-out', 910_002, EquipmentEventType.LOAD, 3 * H),
  ];
  await publishEvents(fx.natsFx.js, events);
  await waitFor(async () => (await countRows(fx.chFx.ch, 'events', "event_id LIKE 'dwell-%'")) >= 4, {
    timeoutMs: 20_000,
    what: 'the yard stays in ClickHouse',
  });
}
