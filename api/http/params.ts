// Query-string parsing for the HTTP routes into the proto request types. Errors name the query parameter
// (snake_case, as in the proto), so HTTP and gRPC clients see the same field paths.
import { invalidArgument } from '../../core/errors.js';
import { Channel, channelFromJSON } from '../../proto/gen/portstream/v1/customs.js';
import {
  ReleasedFilter,
  ThroughputTime,
  throughputTimeFromJSON,
  vesselVisitStatusFromJSON,
  type VesselVisitStatus,
  type TimeRange,
} from '../../proto/gen/portstream/v1/tracking.js';

export type Query = Record<string, string | string[] | undefined>;

export function str(q: Query, name: string): string {
  const v = q[name];
  if (Array.isArray(v)) throw invalidArgument(name, 'given more than once');
  return v ?? '';
}

export function uint(q: Query, name: string): number {
  const v = str(q, name);
  if (v === '') return 0;
  if (!/^\d{1,9}$/.test(v)) throw invalidArgument(name, 'not a non-negative integer');
  return Number(v);
}

function time(q: Query, name: string): Date | undefined {
  const v = str(q, name);
  if (v === '') return undefined;
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw invalidArgument(name, 'not an RFC 3339 time');
  return d;
}

/** start_time and end_time (RFC 3339) into the proto TimeRange, named as the gRPC fields are. */
export function range(q: Query): TimeRange {
  return { startTime: time(q, 'start_time'), endTime: time(q, 'end_time') };
}

/**
 * A repeated enum parameter (?status=A&status=B or ?status=A,B), short or full enum names; UNSPECIFIED and
 * unknown names are INVALID_ARGUMENT naming `field` (the proto field, where it differs from the parameter).
 */
export function enumList<T extends number>(
  q: Query,
  name: string,
  enumPrefix: string,
  fromJSON: (v: string) => T,
  field = name,
): T[] {
  const raw = q[name];
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : raw.split(',');
  return list.map((s) => {
    const v = fromJSON(s.startsWith(enumPrefix) ? s : `${enumPrefix}${s}`);
    // UNRECOGNIZED is -1, UNSPECIFIED 0 in every generated enum.
    if (v <= 0) throw invalidArgument(field, `unknown value ${s}`);
    return v;
  });
}

/** ?status=BERTHED&status=ARRIVED (short or full enum names). */
export function statuses(q: Query): VesselVisitStatus[] {
  return enumList(q, 'status', 'VESSEL_VISIT_STATUS_', vesselVisitStatusFromJSON);
}

/** ?released=true (RELEASED) or false (HELD); absent: both. */
export function released(q: Query): ReleasedFilter {
  const v = str(q, 'released');
  if (v === '') return ReleasedFilter.UNSPECIFIED;
  if (v === 'true') return ReleasedFilter.RELEASED;
  if (v === 'false') return ReleasedFilter.HELD;
  throw invalidArgument('released', 'must be true or false');
}

/** ?time=RECEIVE_TIME or EVENT_TIME (short or full enum names); absent: event time. */
export function throughputTime(q: Query): ThroughputTime {
  const v = str(q, 'time');
  if (v === '') return ThroughputTime.UNSPECIFIED;
  const t = throughputTimeFromJSON(v.startsWith('THROUGHPUT_TIME_') ? v : `THROUGHPUT_TIME_${v}`);
  if (t === ThroughputTime.UNRECOGNIZED || t === ThroughputTime.UNSPECIFIED) {
    throw invalidArgument('time', 'must be EVENT_TIME or RECEIVE_TIME');
  }
  return t;
}

/** ?channel=YELLOW&channel=RED (short or full enum names). */
export function channels(q: Query): Channel[] {
  const raw = q.channel;
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : raw.split(',');
  return list.map((s) => {
    const c = channelFromJSON(s.startsWith('CHANNEL_') ? s : `CHANNEL_${s}`);
    if (c === Channel.UNRECOGNIZED || c === Channel.UNSPECIFIED) {
      throw invalidArgument('channel', `unknown channel ${s}`);
    }
    return c;
  });
}
