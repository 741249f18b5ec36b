// Validation of terminal events at the ingest edge. Runs on every event, so it returns the first problem as a
// (field path, reason) pair instead of throwing, and allocates nothing for valid events.
import {
  EmptyIndicator,
  EquipmentEventType,
  EventClassifier,
  SealSource,
  TransportCallLocation,
  TransportEventType,
  type EquipmentEvent,
  type Event,
  type TransportEvent,
} from '../../proto/gen/portstream/v1/events.js';
import type { VesselRef } from '../../proto/gen/portstream/v1/common.js';
import {
  checkContainerNumber,
  checkImoNumber,
  checkSizeTypeCode,
  checkUnLocode,
} from '../identifiers/index.js';

export interface Problem {
  /** Path of the offending field, in proto (snake_case) names, e.g. "equipment.container_number". */
  field: string;
  reason: string;
}

export interface EventLimits {
  /** ACTUAL events may be this far in the future (clock skew), in ms. */
  maxFutureSkewMs: number;
  /** PLANNED/ESTIMATED events may be this far in the future, in ms. */
  maxPlanAheadMs: number;
  /** No event may be older than this, in ms. */
  maxAgeMs: number;
}

const EVENT_ID = /^[A-Za-z0-9._:-]{1,64}$/;
const TERMINAL_CODE = /^[A-Z0-9]{2,6}$/;
const VOYAGE = /^[A-Z0-9][A-Z0-9/-]{0,19}$/;
const SEAL_NUMBER = /^[A-Za-z0-9-]{1,35}$/;
const YARD_BLOCK = /^[A-Z0-9-]{1,8}$/;
const MAX_SEALS = 10;
const MAX_MANIFEST = 20_000;
const MAX_TEXT = 100;

function problem(field: string, reason: string): Problem {
  return { field, reason };
}

/** Numeric enum check that also rejects UNSPECIFIED (0) and values unknown to this version. */
function inEnum(value: number, max: number): boolean {
  return Number.isInteger(value) && value >= 1 && value <= max;
}

export function validateVessel(v: VesselRef | undefined, path: string): Problem | undefined {
  if (!v) return problem(path, 'is required');
  const imo = checkImoNumber(v.imoNumber);
  if (imo !== undefined) return problem(`${path}.imo_number`, imo);
  if (!VOYAGE.test(v.voyage)) return problem(`${path}.voyage`, 'must be 1-20 of A-Z, 0-9, "/", "-"');
  if (v.name.length > MAX_TEXT) return problem(`${path}.name`, `must be at most ${MAX_TEXT} characters`);
  return undefined;
}

function validateEquipment(e: EquipmentEvent): Problem | undefined {
  if (!inEnum(e.type, EquipmentEventType.RMVD))
    return problem('equipment.type', 'must be a known event type');
  const cn = checkContainerNumber(e.containerNumber);
  if (cn !== undefined) return problem('equipment.container_number', cn);
  if (e.isoSizeType !== '') {
    const st = checkSizeTypeCode(e.isoSizeType);
    if (st !== undefined) return problem('equipment.iso_size_type', st);
  }
  if (e.emptyIndicator !== EmptyIndicator.UNSPECIFIED && !inEnum(e.emptyIndicator, EmptyIndicator.LADEN)) {
    return problem('equipment.empty_indicator', 'must be EMPTY or LADEN');
  }
  if (e.seals.length > MAX_SEALS) return problem('equipment.seals', `at most ${MAX_SEALS} seals`);
  for (let i = 0; i < e.seals.length; i++) {
    const s = e.seals[i];
    if (!s || !SEAL_NUMBER.test(s.number))
      return problem(`equipment.seals[${i}].number`, 'must be 1-35 letters, digits or "-"');
    if (s.source !== SealSource.UNSPECIFIED && !inEnum(s.source, SealSource.TERMINAL)) {
      return problem(`equipment.seals[${i}].source`, 'unknown seal source');
    }
  }
  const needsVessel = e.type === EquipmentEventType.LOAD || e.type === EquipmentEventType.DISC;
  if (needsVessel || e.vessel !== undefined) {
    const v = validateVessel(e.vessel, 'equipment.vessel');
    if (v) return needsVessel && !e.vessel ? problem('equipment.vessel', 'is required for LOAD and DISC') : v;
  }
  const y = e.yardPosition;
  if (y) {
    if (!YARD_BLOCK.test(y.block))
      return problem('equipment.yard_position.block', 'must be 1-8 of A-Z, 0-9, "-"');
    if (y.bay > 999 || y.row > 999 || y.tier > 99) {
      return problem('equipment.yard_position', 'bay and row must be at most 999, tier at most 99');
    }
  }
  if (e.truckPlate.length > 16) return problem('equipment.truck_plate', 'must be at most 16 characters');
  return undefined;
}

function validateTransport(t: TransportEvent): Problem | undefined {
  if (!inEnum(t.type, TransportEventType.DEPA)) return problem('transport.type', 'must be ARRI or DEPA');
  const v = validateVessel(t.vessel, 'transport.vessel');
  if (v) return v;
  if (!inEnum(t.location, TransportCallLocation.BERTH))
    return problem('transport.location', 'must be PORT or BERTH');
  if (t.location === TransportCallLocation.BERTH && t.berth === '') {
    return problem('transport.berth', 'is required when location is BERTH');
  }
  if (t.berth.length > 64) return problem('transport.berth', 'must be at most 64 characters');
  if (t.manifestContainerNumbers.length > MAX_MANIFEST) {
    return problem('transport.manifest_container_numbers', `at most ${MAX_MANIFEST} containers`);
  }
  for (let i = 0; i < t.manifestContainerNumbers.length; i++) {
    const r = checkContainerNumber(t.manifestContainerNumbers[i] ?? '');
    if (r !== undefined) return problem(`transport.manifest_container_numbers[${i}]`, r);
  }
  return undefined;
}

/** The first problem with an event, or undefined when it may be persisted. nowMs is the server's clock. */
export function validateEvent(ev: Event, nowMs: number, limits: EventLimits): Problem | undefined {
  if (!EVENT_ID.test(ev.eventId))
    return problem('event_id', 'must be 1-64 of A-Z, a-z, 0-9, ".", "_", ":", "-"');
  if (!inEnum(ev.classifier, EventClassifier.ACTUAL)) {
    return problem('classifier', 'must be PLANNED, ESTIMATED or ACTUAL');
  }
  const t = ev.eventTime?.getTime();
  if (t === undefined || Number.isNaN(t)) return problem('event_time', 'is required');
  const ahead = ev.classifier === EventClassifier.ACTUAL ? limits.maxFutureSkewMs : limits.maxPlanAheadMs;
  if (t > nowMs + ahead) {
    return problem(
      'event_time',
      ev.classifier === EventClassifier.ACTUAL
        ? 'an ACTUAL event cannot be in the future'
        : 'is too far in the future',
    );
  }
  if (t < nowMs - limits.maxAgeMs) return problem('event_time', 'is too far in the past');
  const f = ev.facility;
  if (!f) return problem('facility', 'is required');
  const loc = checkUnLocode(f.unLocode);
  if (loc !== undefined) return problem('facility.un_locode', loc);
  if (!TERMINAL_CODE.test(f.terminalCode))
    return problem('facility.terminal_code', 'must be 2-6 of A-Z, 0-9');
  const p = ev.payload;
  if (!p) return problem('payload', 'one of equipment or transport is required');
  return p.$case === 'equipment' ? validateEquipment(p.value) : validateTransport(p.value);
}
