// Builders for the proto Event messages the terminals send, so the call model reads as a schedule.
import type { VesselRef } from '../../proto/gen/portstream/v1/common.js';
import {
  EmptyIndicator,
  EventClassifier,
  SealSource,
  TransportCallLocation,
} from '../../proto/gen/portstream/v1/events.js';
import type {
  EquipmentEventType,
  Event,
  TransportEventType,
  YardPosition,
} from '../../proto/gen/portstream/v1/events.js';
import { PORT } from './catalog.js';
import type { SimEventItem } from './types.js';

export interface BoxState {
  readonly number: string;
  readonly sizeType: string;
  laden: boolean;
  seal: string;
}

export interface Emitter {
  readonly terminal: string;
  /** Next event id; ids are stable for a given seed and anchor so re-sent batches deduplicate. */
  nextId(): string;
  readonly out: SimEventItem[];
}

function push(
  em: Emitter,
  at: number,
  classifier: EventClassifier,
  eventTime: number,
  payload: Event['payload'],
): void {
  const event: Event = {
    eventId: em.nextId(),
    eventTime: new Date(eventTime),
    classifier,
    facility: { unLocode: PORT, terminalCode: em.terminal },
    payload,
  };
  em.out.push({ kind: 'event', at, event });
}

export interface BoxMove {
  readonly vessel?: VesselRef;
  readonly yard?: YardPosition;
  readonly truckPlate?: string;
}

export function equipment(
  em: Emitter,
  at: number,
  type: EquipmentEventType,
  box: BoxState,
  move: BoxMove,
): void {
  push(em, at, EventClassifier.ACTUAL, at, {
    $case: 'equipment',
    value: {
      type,
      containerNumber: box.number,
      isoSizeType: box.sizeType,
      emptyIndicator: box.laden ? EmptyIndicator.LADEN : EmptyIndicator.EMPTY,
      seals: box.laden && box.seal !== '' ? [{ number: box.seal, source: SealSource.CARRIER }] : [],
      vessel: move.vessel,
      yardPosition: move.yard,
      truckPlate: move.truckPlate ?? '',
    },
  });
}

export interface TransportMove {
  readonly type: TransportEventType;
  readonly location: TransportCallLocation;
  readonly berth: string;
  readonly manifest?: readonly string[];
}

/** A transport event released at `at` about `eventTime` (equal for ACTUAL, ahead for ETA/plan). */
export function transport(
  em: Emitter,
  at: number,
  classifier: EventClassifier,
  eventTime: number,
  vessel: VesselRef,
  move: TransportMove,
): void {
  push(em, at, classifier, eventTime, {
    $case: 'transport',
    value: {
      type: move.type,
      vessel,
      location: move.location,
      berth: move.location === TransportCallLocation.BERTH ? move.berth : '',
      manifestContainerNumbers: [...(move.manifest ?? [])],
    },
  });
}
