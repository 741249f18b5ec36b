// Translation between the ClickHouse read helpers' rows and the proto types, and the opaque page tokens. The
// history token wraps the ClickHouse keyset cursor together with the container it belongs to, so a token from
// one container's history cannot page through another's.
import type { ClearanceRow, HistoryEvent, ThroughputRow } from '../../core/clickhouse/index.js';
import { invalidArgument } from '../../core/errors.js';
import {
  emptyIndicatorFromJSON,
  equipmentEventTypeFromJSON,
  eventClassifierFromJSON,
  sealSourceFromJSON,
  transportCallLocationFromJSON,
  transportEventTypeFromJSON,
  type Event,
} from '../../proto/gen/portstream/v1/events.js';
import type { VesselRef } from '../../proto/gen/portstream/v1/common.js';
import type { ClearancePoint, ThroughputPoint } from '../../proto/gen/portstream/v1/tracking.js';

/** "2026-01-10 08:00:00[.123]" (ClickHouse DateTime text, UTC) -> Date. */
export function fromChTime(t: string): Date {
  return new Date(`${t.replace(' ', 'T')}Z`);
}

/** Date -> ClickHouse DateTime text in UTC, whole seconds. */
export function toChTime(d: Date): string {
  return d.toISOString().slice(0, 19).replace('T', ' ');
}

/** The vessel an event names; validation requires an IMO number whenever a vessel is given. */
function vesselOf(r: HistoryEvent): VesselRef | undefined {
  return r.imo_number === '' ? undefined : { imoNumber: r.imo_number, name: r.vessel_name, voyage: r.voyage };
}

/**
 * A history row back into the event that was accepted. The sink stores enums by their short names; a yard
 * position always has a block (validation requires one), so an empty block means the event had none.
 */
export function historyToEvent(r: HistoryEvent): Event {
  const head = {
    eventId: r.event_id,
    eventTime: fromChTime(r.event_time),
    classifier: eventClassifierFromJSON(`EVENT_CLASSIFIER_${r.classifier}`),
    facility: { unLocode: r.un_locode, terminalCode: r.terminal_code },
  };
  if (r.kind === 'transport') {
    return {
      ...head,
      payload: {
        $case: 'transport',
        value: {
          type: transportEventTypeFromJSON(`TRANSPORT_EVENT_TYPE_${r.event_type}`),
          vessel: vesselOf(r),
          location: transportCallLocationFromJSON(`TRANSPORT_CALL_LOCATION_${r.transport_location}`),
          berth: r.berth,
          manifestContainerNumbers: r.manifest_container_numbers,
        },
      },
    };
  }
  return {
    ...head,
    payload: {
      $case: 'equipment',
      value: {
        type: equipmentEventTypeFromJSON(`EQUIPMENT_EVENT_TYPE_${r.event_type}`),
        containerNumber: r.container_number,
        isoSizeType: r.iso_size_type,
        emptyIndicator: emptyIndicatorFromJSON(`EMPTY_INDICATOR_${r.empty_indicator}`),
        // Rows written before seal sources were kept have none: those seals read back UNSPECIFIED.
        seals: r.seals.map((number, i) => ({
          number,
          source: sealSourceFromJSON(`SEAL_SOURCE_${r.seal_sources[i] ?? 'UNSPECIFIED'}`),
        })),
        vessel: vesselOf(r),
        yardPosition:
          r.yard_block === ''
            ? undefined
            : { block: r.yard_block, bay: num(r.yard_bay), row: num(r.yard_row), tier: num(r.yard_tier) },
        truckPlate: r.truck_plate,
      },
    },
  };
}

/** ClickHouse sends UInt64 as JSON strings, whatever the row type says; this makes them numbers. */
export function num(v: unknown): number {
  return Number(v);
}

export function throughputPoint(r: ThroughputRow): ThroughputPoint {
  // The per-minute rollup counts events only; TEU per terminal is not rolled up yet.
  return {
    bucketStart: fromChTime(r.bucket),
    terminalCode: r.terminal_code,
    kind: r.kind,
    events: num(r.events),
    teu: 0,
  };
}

export function clearancePoint(r: ClearanceRow): ClearancePoint {
  const [p50, p90, p99] = r.latency_us.map((us) => (Number.isFinite(us) ? us / 1000 : 0));
  return {
    bucketStart: fromChTime(r.bucket),
    decisions: num(r.decisions),
    green: num(r.green),
    yellow: num(r.yellow),
    red: num(r.red),
    latencyP50Ms: p50 ?? 0,
    latencyP90Ms: p90 ?? 0,
    latencyP99Ms: p99 ?? 0,
    // The hourly rollup keeps quantile states, not the maximum.
    latencyMaxMs: 0,
  };
}

interface Token {
  /** What the token pages through (container number, or "visits"). */
  s: string;
  /** Position: the ClickHouse cursor, or the last visit id served. */
  p: string;
}

export function encodeToken(scope: string, position: string): string {
  return Buffer.from(JSON.stringify({ s: scope, p: position } satisfies Token)).toString('base64url');
}

/** A token we did not issue for this scope is INVALID_ARGUMENT at field page_token. */
export function decodeToken(token: string, scope: string): string {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    v = undefined;
  }
  if (
    typeof v === 'object' &&
    v !== null &&
    's' in v &&
    'p' in v &&
    v.s === scope &&
    typeof v.p === 'string'
  ) {
    return v.p;
  }
  throw invalidArgument('page_token', 'not a page token issued for this request');
}
