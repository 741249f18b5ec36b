import { describe, expect, it } from 'vitest';
import { validateEvent, type EventLimits } from '../../core/validation/event.js';
import type { EmptyIndicator } from '../../proto/gen/portstream/v1/events.js';
import {
  EquipmentEventType,
  EventClassifier,
  SealSource,
  TransportCallLocation,
  type EquipmentEvent,
  type Event,
  type TransportEvent,
} from '../../proto/gen/portstream/v1/events.js';
import { arrivalEvent, containerNumber, equipmentEvent } from '../../test-kit/events.js';

const NOW = Date.now();
const limits: EventLimits = {
  maxFutureSkewMs: 300_000,
  maxPlanAheadMs: 30 * 86_400_000,
  maxAgeMs: 365 * 86_400_000,
};

function withEquipment(patch: Partial<EquipmentEvent>): Event {
  const e = equipmentEvent('e1', 1);
  if (e.payload?.$case !== 'equipment') throw new Error('fixture');
  return { ...e, payload: { $case: 'equipment', value: { ...e.payload.value, ...patch } } };
}

function withTransport(patch: Partial<TransportEvent>): Event {
  const e = arrivalEvent('t1');
  if (e.payload?.$case !== 'transport') throw new Error('fixture');
  return { ...e, payload: { $case: 'transport', value: { ...e.payload.value, ...patch } } };
}

describe('validateEvent', () => {
  it.each([
    ['a discharge', equipmentEvent('e1', 1)],
    ['an arrival at berth with a manifest', arrivalEvent('t1', [containerNumber('MSC', 7)])],
    [
      'an ETA next week',
      {
        ...arrivalEvent('t2'),
        classifier: EventClassifier.ESTIMATED,
        eventTime: new Date(NOW + 7 * 86_400_000),
      },
    ],
    [
      'a gate-out without vessel',
      withEquipment({ type: EquipmentEventType.GTOT, vessel: undefined, truckPlate: '15C-123.45' }),
    ],
    [
      'an event 4 minutes ahead (clock skew)',
      { ...equipmentEvent('e2', 2), eventTime: new Date(NOW + 240_000) },
    ],
    ['empty size-type (optional)', withEquipment({ isoSizeType: '' })],
  ])('accepts %s', (_name, ev) => {
    expect(validateEvent(ev, NOW, limits)).toBeUndefined();
  });

  it.each<[string, Event, string]>([
    ['empty id', { ...equipmentEvent('', 1) }, 'event_id'],
    ['id with a space', { ...equipmentEvent('a b', 1) }, 'event_id'],
    ['id of 65 chars', { ...equipmentEvent('x'.repeat(65), 1) }, 'event_id'],
    ['no time', { ...equipmentEvent('e', 1), eventTime: undefined }, 'event_time'],
    ['ACTUAL tomorrow', { ...equipmentEvent('e', 1), eventTime: new Date(NOW + 86_400_000) }, 'event_time'],
    [
      'ESTIMATED in two years',
      {
        ...arrivalEvent('t'),
        classifier: EventClassifier.ESTIMATED,
        eventTime: new Date(NOW + 730 * 86_400_000),
      },
      'event_time',
    ],
    [
      'two years old',
      { ...equipmentEvent('e', 1), eventTime: new Date(NOW - 730 * 86_400_000) },
      'event_time',
    ],
    [
      'unspecified classifier',
      { ...equipmentEvent('e', 1), classifier: EventClassifier.UNSPECIFIED },
      'classifier',
    ],
    ['unknown classifier', { ...equipmentEvent('e', 1), classifier: 9 as EventClassifier }, 'classifier'],
    ['no facility', { ...equipmentEvent('e', 1), facility: undefined }, 'facility'],
    [
      'bad UN/LOCODE country',
      { ...equipmentEvent('e', 1), facility: { unLocode: 'QQHPH', terminalCode: 'HICT' } },
      'facility.un_locode',
    ],
    [
      'lower-case UN/LOCODE',
      { ...equipmentEvent('e', 1), facility: { unLocode: 'vnhph', terminalCode: 'HICT' } },
      'facility.un_locode',
    ],
    [
      'bad terminal code',
      { ...equipmentEvent('e', 1), facility: { unLocode: 'VNHPH', terminalCode: 'h' } },
      'facility.terminal_code',
    ],
    ['no payload', { ...equipmentEvent('e', 1), payload: undefined }, 'payload'],
    ['unknown equipment type', withEquipment({ type: 42 as EquipmentEventType }), 'equipment.type'],
    ['wrong check digit', withEquipment({ containerNumber: 'MSCU0000010' }), 'equipment.container_number'],
    [
      'lower-case container',
      withEquipment({ containerNumber: containerNumber('MSC', 1).toLowerCase() }),
      'equipment.container_number',
    ],
    ['letters in serial', withEquipment({ containerNumber: 'MSCU00A0011' }), 'equipment.container_number'],
    ['bad size-type', withEquipment({ isoSizeType: '4XG1' }), 'equipment.iso_size_type'],
    [
      'unknown empty indicator',
      withEquipment({ emptyIndicator: 7 as EmptyIndicator }),
      'equipment.empty_indicator',
    ],
    [
      'bad seal number',
      withEquipment({ seals: [{ number: 'seal #1', source: SealSource.CARRIER }] }),
      'equipment.seals[0].number',
    ],
    ['DISC without vessel', withEquipment({ vessel: undefined }), 'equipment.vessel'],
    [
      'bad IMO check digit',
      withEquipment({ vessel: { imoNumber: '9456789', name: '', voyage: '1W' } }),
      'equipment.vessel.imo_number',
    ],
    [
      'bad voyage',
      withEquipment({ vessel: { imoNumber: '9811000', name: '', voyage: 'voy 1' } }),
      'equipment.vessel.voyage',
    ],
    [
      'tier 100',
      withEquipment({ yardPosition: { block: 'A1', bay: 1, row: 1, tier: 100 } }),
      'equipment.yard_position',
    ],
    [
      'bad yard block',
      withEquipment({ yardPosition: { block: '', bay: 1, row: 1, tier: 1 } }),
      'equipment.yard_position.block',
    ],
    ['berth missing', withTransport({ location: TransportCallLocation.BERTH, berth: '' }), 'transport.berth'],
    ['unknown location', withTransport({ location: 5 as TransportCallLocation }), 'transport.location'],
    ['transport without vessel', withTransport({ vessel: undefined }), 'transport.vessel'],
    [
      'bad manifest entry',
      withTransport({ manifestContainerNumbers: [containerNumber('MSC', 1), 'MSCU1234565'] }),
      'transport.manifest_container_numbers[1]',
    ],
  ])('rejects %s at %s', (_name, ev, field) => {
    const p = validateEvent(ev, NOW, limits);
    expect(p?.field).toBe(field);
    expect(p?.reason.length).toBeGreaterThan(3);
  });
});
