// Synthetic but valid event traffic for the bench: each container is discharged, moved in the yard and gated
// out, in that order, so downstream state machines see realistic sequences. Ids are unique per run.
import { containerCheckDigit } from '../../core/identifiers/index.js';
import {
  EmptyIndicator,
  EquipmentEventType,
  EventClassifier,
  type Event,
} from '../../proto/gen/portstream/v1/events.js';

const OWNERS = ['MSC', 'MAE', 'CMA', 'CSN', 'ONE', 'EGH', 'TGH', 'WHS'];
const TERMINALS = ['HICT', 'TVCT', 'DVCT', 'NDVT'];
const STEPS = [EquipmentEventType.DISC, EquipmentEventType.RMVD, EquipmentEventType.GTOT] as const;

export function benchContainer(n: number): string {
  const first10 = `${OWNERS[n % OWNERS.length] ?? 'MSC'}U${String(Math.floor(n / OWNERS.length) % 1_000_000).padStart(6, '0')}`;
  return `${first10}${containerCheckDigit(first10)}`;
}

/** Containers discharged per vessel call: a large call at Hai Phong, so visits stay realistic in size. */
const CONTAINERS_PER_CALL = 2000;

/** The vessel call a bench container arrives on: one voyage per CONTAINERS_PER_CALL containers. */
export function benchVessel(containerNo: number): { imoNumber: string; name: string; voyage: string } {
  const call = Math.floor(containerNo / CONTAINERS_PER_CALL);
  return { imoNumber: '9811000', name: 'BENCH', voyage: `${String(call % 10_000).padStart(4, '0')}N` };
}

/** Event number `seq` of a run: container seq/3, step seq%3. */
export function benchEvent(runId: string, seq: number, baseTimeMs: number): Event {
  const containerNo = Math.floor(seq / STEPS.length);
  const type = STEPS[seq % STEPS.length] ?? EquipmentEventType.DISC;
  return {
    eventId: `${runId}-${seq}`,
    eventTime: new Date(baseTimeMs + seq),
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

export function benchBatch(runId: string, firstSeq: number, size: number, baseTimeMs: number): Event[] {
  return Array.from({ length: size }, (_, i) => benchEvent(runId, firstSeq + i, baseTimeMs));
}
