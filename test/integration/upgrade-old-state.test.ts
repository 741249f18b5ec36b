// State the previous version wrote stays readable and nothing trips on it: a vessel visit under the old id
// "<UN/LOCODE>-<IMO>-<voyage>" and a container record whose applied ids are plain event ids. New events go to
// the per-terminal call and move the container as usual (README: Upgrading).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeContainerRecord } from '../../core/state/container.js';
import { EmptyIndicator, EquipmentEventType } from '../../proto/gen/portstream/v1/events.js';
import { EventStatus } from '../../proto/gen/portstream/v1/ingest.js';
import { ContainerBookkeeping } from '../../proto/gen/portstream/v1/records.js';
import { ContainerLocation, VesselVisitStatus } from '../../proto/gen/portstream/v1/tracking.js';
import { arrivalEvent, containerNumber, equipmentEvent, FACILITY, VESSEL } from '../../test-kit/events.js';
import { status, visit } from './api-fixture.js';
import { startTerminals, type TerminalsFixture } from './terminal-fixture.js';

const OLD_VISIT = `VNHPH-${VESSEL.imoNumber}-${VESSEL.voyage}`;
const NEW_VISIT = `VNHPH-HICT-${VESSEL.imoNumber}-${VESSEL.voyage}`;
const O = containerNumber('MSC', 740_001);

describe('state written by the previous version', () => {
  let p: TerminalsFixture;

  beforeAll(async () => {
    p = await startTerminals();
    await p.fx.putVisit(visit(OLD_VISIT, VesselVisitStatus.BERTHED));
    await p.buckets.containers.put(
      O,
      encodeContainerRecord({
        status: status(O, 'HICT', [], { lastEventId: 'OLD-DISC' }),
        bookkeeping: ContainerBookkeeping.fromPartial({
          recentEventIds: ['OLD-DISC'],
          watermarkTime: new Date(Date.now() - 3_600_000),
        }),
      }),
    );
  }, 60_000);

  afterAll(async () => {
    await p.close();
  });

  it('is read as it is, and new events apply on top of it', async () => {
    const gtot = equipmentEvent('NEW-GTOT', 740_001, { facility: FACILITY });
    if (gtot.payload?.$case === 'equipment') {
      gtot.payload.value.type = EquipmentEventType.GTOT;
      gtot.payload.value.emptyIndicator = EmptyIndicator.EMPTY;
      gtot.payload.value.yardPosition = undefined;
    }
    const arri = arrivalEvent('NEW-ARRI');
    const res = await p.send('operator', [gtot, arri]);
    expect(res.map((r) => r.status)).toEqual([EventStatus.ACCEPTED, EventStatus.ACCEPTED]);
    await p.settle();

    expect(await p.status('operator', O)).toMatchObject({
      location: ContainerLocation.LEFT_TERMINAL,
      lastEventId: 'NEW-GTOT',
    });
    expect((await p.record(O))?.bookkeeping.recentEventIds).toEqual(['OLD-DISC', 'hict-operator/NEW-GTOT']);
    expect(await p.visit('admin', OLD_VISIT)).toMatchObject({ visitId: OLD_VISIT });
    expect(await p.visit('admin', NEW_VISIT)).toMatchObject({
      visitId: NEW_VISIT,
      facility: FACILITY,
      status: VesselVisitStatus.BERTHED,
    });
  });
});
