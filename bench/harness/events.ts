// Synthetic but valid event traffic for the bench: each container is discharged, moved in the yard and gated
// out, in that order, so downstream state machines see realistic sequences.
//
// The load must stay valid however long and fast a run is, so event number `seq` of a load maps to its event by
// pure functions with no wrap-around inside a load's range:
// - ids are `${runId}-${seq}`;
// - each load has its own range of containers (`slot`), event `seq` is step seq%3 of the load's container
//   seq/3, and container numbers are a bijection of the container index (owner code and serial), with the ISO
//   6346 check digit computed: no two containers of a run share a number;
// - event times lie in a fixed span that ends TIME_LEAD_MS before the load started, so they never drift into
//   the future (the gateway refuses ACTUAL events ahead of its clock) and stay within the accepted age for a
//   year. Times cycle through the span, container by container; a container's three steps keep their order.
// A sequence number beyond the load's range is a RangeError, never a silent collision.
import { containerCheckDigit } from '../../core/identifiers/index.js';
import {
  EmptyIndicator,
  EquipmentEventType,
  EventClassifier,
  type Event,
} from '../../proto/gen/portstream/v1/events.js';

const TERMINALS = ['HICT', 'TVCT', 'DVCT', 'NDVT'];
const STEPS = [EquipmentEventType.DISC, EquipmentEventType.RMVD, EquipmentEventType.GTOT] as const;
export const STEPS_PER_CONTAINER = STEPS.length;

const SERIALS = 1_000_000;
const OWNER_CODES = 26 ** 3;
/** Distinct container numbers: owner codes AAA-ZZZ (category U) times six-digit serials. */
export const CONTAINER_SPACE = OWNER_CODES * SERIALS;

/** Loads one run can hold apart (ingest, fixed-rate, background, soak), each with its own containers. */
export const LOAD_SLOTS = 4;
/** Containers of one load: 4 billion, so 12 billion events (over a day at 125,000 events/s). */
export const CONTAINERS_PER_LOAD = 4_000_000_000;
export const EVENTS_PER_LOAD = CONTAINERS_PER_LOAD * STEPS_PER_CONTAINER;

/** Event times of a load lie in the TIME_SPAN_MS that ends TIME_LEAD_MS before the load started. */
export const TIME_SPAN_MS = 6 * 3600_000;
export const TIME_LEAD_MS = 60_000;
/** Containers one pass through the time span holds: one millisecond per step. */
const TIME_SLOTS = TIME_SPAN_MS / STEPS_PER_CONTAINER;

/** Containers discharged per vessel call: a large call at Hai Phong, so visits stay realistic in size. */
const CONTAINERS_PER_CALL = 2000;

/** One load of a run: its ids, its containers and when it started. */
export interface BenchLoad {
  runId: string;
  /** Which of the LOAD_SLOTS container ranges it uses. */
  slot: number;
  /** When the load started (ms since the epoch); every event time lies before it. */
  startedAtMs: number;
}

export function benchLoad(runId: string, slot: number, startedAtMs = Date.now()): BenchLoad {
  if (!Number.isInteger(slot) || slot < 0 || slot >= LOAD_SLOTS) {
    throw new RangeError(`load slot must be 0-${LOAD_SLOTS - 1}, got ${slot}`);
  }
  return { runId, slot, startedAtMs };
}

function checkSeq(seq: number): void {
  if (!Number.isSafeInteger(seq) || seq < 0 || seq >= EVENTS_PER_LOAD) {
    throw new RangeError(`event sequence number must be 0-${EVENTS_PER_LOAD - 1}, got ${seq}`);
  }
}

/** The container index (argument of benchContainer) of event `seq` of a load. */
export function containerIndex(load: BenchLoad, seq: number): number {
  checkSeq(seq);
  return load.slot * CONTAINERS_PER_LOAD + Math.floor(seq / STEPS_PER_CONTAINER);
}

/** The event time of event `seq` of a load, in ms since the epoch. */
export function eventTimeMs(load: BenchLoad, seq: number): number {
  checkSeq(seq);
  const inSpan = Math.floor(seq / STEPS_PER_CONTAINER) % TIME_SLOTS;
  return (
    load.startedAtMs -
    TIME_LEAD_MS -
    TIME_SPAN_MS +
    inSpan * STEPS_PER_CONTAINER +
    (seq % STEPS_PER_CONTAINER)
  );
}

function ownerCode(k: number): string {
  const a = Math.floor(k / 676);
  const b = Math.floor(k / 26) % 26;
  const c = k % 26;
  return String.fromCharCode(65 + a, 65 + b, 65 + c);
}

/** Container number `n` (0 <= n < CONTAINER_SPACE): owner code n / 10^6, serial n mod 10^6, check digit. */
export function benchContainer(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0 || n >= CONTAINER_SPACE) {
    throw new RangeError(`container index must be 0-${CONTAINER_SPACE - 1}, got ${n}`);
  }
  const first10 = `${ownerCode(Math.floor(n / SERIALS))}U${String(n % SERIALS).padStart(6, '0')}`;
  return `${first10}${containerCheckDigit(first10)}`;
}

/** The vessel call a bench container arrives on: one voyage per CONTAINERS_PER_CALL containers. */
export function benchVessel(containerNo: number): { imoNumber: string; name: string; voyage: string } {
  const call = Math.floor(containerNo / CONTAINERS_PER_CALL);
  return { imoNumber: '9811000', name: 'BENCH', voyage: `${String(call).padStart(4, '0')}N` };
}

/** Event number `seq` of a load. */
export function benchEvent(load: BenchLoad, seq: number): Event {
  const containerNo = containerIndex(load, seq);
  const type = STEPS[seq % STEPS_PER_CONTAINER] ?? EquipmentEventType.DISC;
  return {
    eventId: `${load.runId}-${seq}`,
    eventTime: new Date(eventTimeMs(load, seq)),
    classifier: EventClassifier.ACTUAL,
    facility: { unLocode: 'VNHPH', terminalCode: TERMINALS[containerNo % TERMINALS.length] ?? 'HICT' },
    payload: {
      $case: 'equipment',
      value: {
        type,
        containerNumber: benchContainer(containerNo),
        isoSizeType: containerNo % 3 === 0 ? '22G1' : '45G1',
        emptyIndicator: EmptyIndicator.LADEN,
        seals: [],
        vessel: type === EquipmentEventType.DISC ? benchVessel(containerNo) : undefined,
        yardPosition: {
          block: `B${containerNo % 20}`,
          bay: containerNo % 60,
          row: containerNo % 8,
          tier: 1 + (containerNo % 5),
        },
        truckPlate: type === EquipmentEventType.GTOT ? '15C-123.45' : '',
      },
    },
  };
}

export function benchBatch(load: BenchLoad, firstSeq: number, size: number): Event[] {
  return Array.from({ length: size }, (_, i) => benchEvent(load, firstSeq + i));
}
