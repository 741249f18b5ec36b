// The per-container value kept in the ps_containers KV bucket (key: container number), written by the processor's
// state consumer and read by the tracking API. The value is the protobuf encoding of the API's ContainerStatus
// immediately followed by the encoding of the processor's ContainerBookkeeping (field numbers 100 and up):
// protobuf concatenation is a merge, so decoding the value as ContainerStatus gives the status (the bookkeeping
// fields are skipped as unknown) and decoding it as ContainerBookkeeping gives the bookkeeping.
import type { Facility } from '../../proto/gen/portstream/v1/common.js';
import { ContainerBookkeeping } from '../../proto/gen/portstream/v1/records.js';
import { ContainerLocation, ContainerStatus, CustomsStatus } from '../../proto/gen/portstream/v1/tracking.js';
import { encodeWith } from '../proto/writer.js';

export interface ContainerRecord {
  status: ContainerStatus;
  bookkeeping: ContainerBookkeeping;
}

/** Event ids remembered per container for deduplication (the newest this many). */
export const CONTAINER_RECENT_EVENT_IDS = 64;
/**
 * Seals kept per container and stay (the newest this many distinct numbers): a stay starts with the seals of the
 * event that brings the container in, later events add theirs, a reseal (RSEA) replaces them.
 */
export const CONTAINER_MAX_SEALS = 16;
/** Flags kept per container (the newest this many). */
export const CONTAINER_MAX_FLAGS = 32;

export function encodeContainerRecord(r: ContainerRecord): Uint8Array {
  return encodeWith((w) => {
    ContainerStatus.encode(r.status, w);
    ContainerBookkeeping.encode(r.bookkeeping, w);
  });
}

export function decodeContainerRecord(bytes: Uint8Array): ContainerRecord {
  return { status: ContainerStatus.decode(bytes), bookkeeping: ContainerBookkeeping.decode(bytes) };
}

/** A container nothing is known about yet. */
export function newContainerRecord(containerNumber: string): ContainerRecord {
  return {
    status: ContainerStatus.fromPartial({
      containerNumber,
      location: ContainerLocation.UNSPECIFIED,
      customsStatus: CustomsStatus.NO_DECLARATION,
      releaseBlocker: 'not discharged from a vessel',
    }),
    bookkeeping: ContainerBookkeeping.fromPartial({}),
  };
}

/** "<UN/LOCODE>:<terminal>", as operators' tokens name facilities. */
export function facilityName(f: Facility | undefined): string {
  return f ? `${f.unLocode}:${f.terminalCode}` : 'no facility';
}

/**
 * Operators act on their own terminal: the facility holding the container when it is in a yard or at a gate
 * there and `at` is another facility (an event there would take it over); undefined when an event at `at` may
 * apply: same terminal, on a vessel (discharge at any terminal the vessel calls), gone, or unknown.
 */
export function heldAtOtherTerminal(s: ContainerStatus, at: Facility | undefined): Facility | undefined {
  if (s.location !== ContainerLocation.IN_YARD && s.location !== ContainerLocation.AT_GATE) return undefined;
  const held = s.facility;
  if (!held || (held.unLocode === '' && held.terminalCode === '')) return undefined;
  if (at && at.unLocode === held.unLocode && at.terminalCode === held.terminalCode) return undefined;
  return held;
}

/**
 * What a retired container's delete marker carries (processor/state/retention.ts): a container that left the port
 * long enough ago is removed from ps_containers with a KV delete marker (every reader takes it as absent) whose
 * body says up to when its events were applied. The state consumer drops an event for it at or before that time
 * (a late or replayed event of the stay that ended) and starts a new record only with a newer actual event (the
 * container came back). History stays in ClickHouse.
 */
export interface RetiredContainer {
  /** The newest event time applied to the record removed. */
  watermarkTime: Date;
  /** When it left the port. */
  leftTime: Date;
  /** When it was removed. */
  retiredTime: Date;
}

export function encodeRetiredContainer(r: RetiredContainer): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({
      v: 1,
      watermarkTime: r.watermarkTime.toISOString(),
      leftTime: r.leftTime.toISOString(),
      retiredTime: r.retiredTime.toISOString(),
    }),
  );
}

/** The marker's body, or undefined for a delete marker that is no retirement (an operator's delete). */
export function decodeRetiredContainer(bytes: Uint8Array): RetiredContainer | undefined {
  if (bytes.length === 0) return undefined;
  try {
    const w = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
    if (w.v !== 1 || typeof w.watermarkTime !== 'string') return undefined;
    const time = (x: unknown): Date => new Date(typeof x === 'string' ? x : 0);
    const watermarkTime = time(w.watermarkTime);
    if (Number.isNaN(watermarkTime.getTime())) return undefined;
    return { watermarkTime, leftTime: time(w.leftTime), retiredTime: time(w.retiredTime) };
  } catch {
    return undefined;
  }
}
