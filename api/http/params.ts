// Query-string parsing for the HTTP routes into the proto request types. Errors name the query parameter
// (snake_case, as in the proto), so HTTP and gRPC clients see the same field paths.
import { invalidArgument } from '../../core/errors.js';
import { Channel, channelFromJSON } from '../../proto/gen/portstream/v1/customs.js';
import {
  ThroughputTime,
  throughputTimeFromJSON,
  vesselVisitStatusFromJSON,
  VesselVisitStatus,
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

/** ?status=BERTHED&status=ARRIVED (short or full enum names). */
export function statuses(q: Query): VesselVisitStatus[] {
  const raw = q.status;
  const list = raw === undefined ? [] : Array.isArray(raw) ? raw : raw.split(',');
  return list.map((s) => {
    const full = s.startsWith('VESSEL_VISIT_STATUS_') ? s : `VESSEL_VISIT_STATUS_${s}`;
    const v = vesselVisitStatusFromJSON(full);
    if (v === VesselVisitStatus.UNRECOGNIZED || v === VesselVisitStatus.UNSPECIFIED) {
      throw invalidArgument('status', `unknown status ${s}`);
    }
    return v;
  });
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
