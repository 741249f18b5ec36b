// The per-visit value kept in the ps_vessel_visits KV bucket (key: visit id
// "<UN/LOCODE>-<terminal>-<IMO>-<voyage>", one per terminal call, so one terminal's events never touch another
// terminal's call of the same voyage),
// written by the processor's state consumer and read by the tracking API and the customs rules. Like
// core/state/container.ts: VesselVisit's encoding followed by VisitBookkeeping's (field numbers 100 and up).
import type { VesselRef } from '../../proto/gen/portstream/v1/common.js';
import { VisitBookkeeping } from '../../proto/gen/portstream/v1/records.js';
import { VesselVisit } from '../../proto/gen/portstream/v1/tracking.js';
import { encodeWith } from '../proto/writer.js';

export interface VisitRecord {
  visit: VesselVisit;
  bookkeeping: VisitBookkeeping;
}

/** Transport event ids remembered per visit for deduplication. */
export const VISIT_RECENT_EVENT_IDS = 64;

/**
 * Most containers a visit lists per list (manifest, discharged, loaded). The largest ships carry about 24,000
 * TEU (some 15,000 boxes); three full lists stay under NATS's default 1 MiB message size.
 */
export const VISIT_MAX_CONTAINERS = 20_000;

/** KV keys allow [-/_=.a-zA-Z0-9]. */
const KEY = /^[-_=.a-zA-Z0-9]{1,128}$/;

/**
 * "<UN/LOCODE>-<terminal>-<IMO>-<voyage>" (a vessel's call at one terminal), or undefined when a part is missing
 * or not usable as a KV key.
 */
export function visitIdOf(
  unLocode: string,
  terminalCode: string,
  vessel: VesselRef | undefined,
): string | undefined {
  if (!vessel || unLocode === '' || terminalCode === '' || vessel.imoNumber === '' || vessel.voyage === '')
    return undefined;
  const id = `${unLocode}-${terminalCode}-${vessel.imoNumber}-${vessel.voyage}`;
  return KEY.test(id) ? id : undefined;
}

export function encodeVisitRecord(r: VisitRecord): Uint8Array {
  return encodeWith((w) => {
    VesselVisit.encode(r.visit, w);
    VisitBookkeeping.encode(r.bookkeeping, w);
  });
}

export function decodeVisitRecord(bytes: Uint8Array): VisitRecord {
  return { visit: VesselVisit.decode(bytes), bookkeeping: VisitBookkeeping.decode(bytes) };
}

export function newVisitRecord(visitId: string): VisitRecord {
  return {
    visit: VesselVisit.fromPartial({ visitId }),
    bookkeeping: VisitBookkeeping.fromPartial({}),
  };
}
