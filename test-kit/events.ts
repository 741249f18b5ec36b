// Valid terminal events for tests, built from the real identifier rules (check digits computed, not copied).
import { containerCheckDigit } from '../core/identifiers/index.js';
import {
  EmptyIndicator,
  EquipmentEventType,
  EventClassifier,
  TransportCallLocation,
  TransportEventType,
  type EquipmentEvent,
  type Event,
} from '../proto/gen/portstream/v1/events.js';

/** A valid ISO 6346 container number for owner code + serial number. */
export function containerNumber(owner: string, serial: number): string {
  const first10 = `${owner}U${String(serial).padStart(6, '0')}`;
  return `${first10}${containerCheckDigit(first10)}`;
}

export const VESSEL = { imoNumber: '9811000', name: 'EVER GIVEN', voyage: '1234W' };
export const FACILITY = { unLocode: 'VNHPH', terminalCode: 'HICT' };

export function equipmentEvent(id: string, serial: number, overrides: Partial<Event> = {}): Event {
  return {
    eventId: id,
    eventTime: new Date(Date.now() - 60_000),
    classifier: EventClassifier.ACTUAL,
    facility: FACILITY,
    payload: {
      $case: 'equipment',
      value: {
        type: EquipmentEventType.DISC,
        containerNumber: containerNumber('MSC', serial),
        isoSizeType: '45G1',
        emptyIndicator: EmptyIndicator.LADEN,
        seals: [],
        vessel: VESSEL,
        yardPosition: { block: 'A1', bay: 12, row: 3, tier: 2 },
        truckPlate: '',
      },
    },
    ...overrides,
  };
}

export function arrivalEvent(id: string, manifest: string[] = []): Event {
  return {
    eventId: id,
    eventTime: new Date(Date.now() - 120_000),
    classifier: EventClassifier.ACTUAL,
    facility: FACILITY,
    payload: {
      $case: 'transport',
      value: {
        type: TransportEventType.ARRI,
        vessel: VESSEL,
        location: TransportCallLocation.BERTH,
        berth: 'LH1',
        manifestContainerNumbers: manifest,
      },
    },
  };
}

/** n valid DISC events with ids `${prefix}-${i}`. */
export function discBatch(prefix: string, n: number, serialBase = 0): Event[] {
  return Array.from({ length: n }, (_, i) => equipmentEvent(`${prefix}-${i}`, serialBase + i));
}

/**
 * An equipment event of `type` for `container` at `time`, at FACILITY: discharges and loads name VESSEL, a
 * discharge puts it in the yard; `over` replaces any of the equipment fields.
 */
export function containerMove(
  id: string,
  type: EquipmentEventType,
  container: string,
  time: Date,
  classifier = EventClassifier.ACTUAL,
  over: Partial<EquipmentEvent> = {},
): Event {
  const onVessel = type === EquipmentEventType.DISC || type === EquipmentEventType.LOAD;
  return {
    eventId: id,
    eventTime: time,
    classifier,
    facility: FACILITY,
    payload: {
      $case: 'equipment',
      value: {
        type,
        containerNumber: container,
        isoSizeType: '45G1',
        emptyIndicator: EmptyIndicator.LADEN,
        seals: [],
        vessel: onVessel ? VESSEL : undefined,
        yardPosition: type === EquipmentEventType.DISC ? { block: 'A1', bay: 1, row: 1, tier: 1 } : undefined,
        truckPlate: '',
        ...over,
      },
    },
  };
}
