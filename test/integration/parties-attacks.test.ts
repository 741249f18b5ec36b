// Each party played as an attacker against another through the public gRPC and HTTP APIs of the real services:
// firm B against firm A (declare A's bill or container, claim A as trader, guess numbers, read after its own
// shipment ended) and carrier MAEU against carrier HLCU (file, amend or withdraw HLCU's manifest, take over its
// bill or container). Each attack gets a clear status, and the victim's view (status, history, manifest, bill)
// is asserted equal before and after.
import { status as grpc } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Channel, ClearanceStatus, DeclarationType } from '../../proto/gen/portstream/v1/customs.js';
import { EquipmentEventType } from '../../proto/gen/portstream/v1/events.js';
import { CargoFlow, type GetManifestResponse } from '../../proto/gen/portstream/v1/manifest.js';
import {
  ContainerLocation,
  type ContainerStatus,
  type ListContainerEventsResponse,
} from '../../proto/gen/portstream/v1/tracking.js';
import { TOKENS } from '../../test-kit/auth.js';
import { numberSequence, sampleDeclaration } from '../helpers/declarations.js';
import { containerNumber } from '../../test-kit/events.js';
import {
  bill,
  callIdOf,
  FIRM_A,
  FIRM_B,
  manifest,
  party,
  VESSEL_IN,
  VESSEL_OUT,
} from '../helpers/manifests.js';
import { refusal, unary } from '../helpers/rpc.js';
import { allAccepted, move, startPartiesFixture, type PartiesFixture } from './parties-fixture.js';

const nextImport = numberSequence(108800000000);
const A_BILL = 'HLCUHPH5000001';
const B_BILL = 'HLCUHPH5000002';

describe('parties as attackers', () => {
  let fx: PartiesFixture;
  const CA = containerNumber('HLX', 200_001);
  const CB = containerNumber('HLX', 200_002);
  let aDeclaration = '';

  interface VictimView {
    admin: ContainerStatus;
    firm: ContainerStatus;
    history: ListContainerEventsResponse;
    manifest: GetManifestResponse;
  }
  const victimView = async (): Promise<VictimView> => {
    const m = fx.as('carrier').manifests;
    return {
      admin: await fx.status('admin', CA),
      firm: await fx.status('firm', CA),
      history: await fx.history('firm', CA),
      manifest: await unary(m.getManifest.bind(m), { callId: callIdOf(VESSEL_IN), carrierCode: 'HLCU' }),
    };
  };
  const http = (token: string, path: string): Promise<Response> =>
    fetch(`${fx.httpUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });

  beforeAll(async () => {
    fx = await startPartiesFixture();
    await fx.file(
      'carrier',
      manifest('HLCU', VESSEL_IN, [
        bill(A_BILL, CargoFlow.IMPORT, [CA], { consignee: party(FIRM_A) }),
        bill(B_BILL, CargoFlow.IMPORT, [CB], { consignee: party(FIRM_B) }),
      ]),
    );
    allAccepted(
      await fx.publish('operator', [
        move(EquipmentEventType.DISC, CA, { vessel: VESSEL_IN }),
        move(EquipmentEventType.DISC, CB, { vessel: VESSEL_IN }),
      ]),
    );
    const r = await fx.declare(
      'firm',
      sampleDeclaration('yellow', nextImport(), {
        declarantTaxCode: FIRM_A,
        traderTaxCode: FIRM_A,
        billNumbers: [A_BILL],
      }),
    );
    aDeclaration = r.declarationNumber;
    await fx.until(CA, (s) => s.declarationNumbers.includes(aDeclaration), 'declared');
    await fx.untilHistory(CA, 1);
  }, 120_000);
  afterAll(async () => {
    await fx.close();
  });

  describe('firm B against firm A', () => {
    it('cannot declare A’s bill', async () => {
      const before = await victimView();
      const r = await refusal(
        fx.declare(
          'otherFirm',
          sampleDeclaration('green', nextImport(), {
            declarantTaxCode: FIRM_B,
            traderTaxCode: FIRM_B,
            billNumbers: [A_BILL],
          }),
        ),
      );
      expect(r.code).toBe(grpc.PERMISSION_DENIED);
      expect(r.details).toContain('declaration.bill_numbers[0]');
      expect(await victimView()).toEqual(before);
    });

    it('cannot name A as its trader on its own bill', async () => {
      const before = await victimView();
      const r = await refusal(
        fx.declare(
          'otherFirm',
          sampleDeclaration('green', nextImport(), {
            declarantTaxCode: FIRM_B,
            traderTaxCode: FIRM_A,
            billNumbers: [B_BILL],
          }),
        ),
      );
      expect(r.code).toBe(grpc.INVALID_ARGUMENT);
      expect(r.details).toContain('declaration.trader_tax_code');
      expect(await victimView()).toEqual(before);
    });

    it('listing A’s container in its own declaration covers only its own bill’s container', async () => {
      const before = await victimView();
      const r = await fx.declare(
        'otherFirm',
        sampleDeclaration('red', nextImport(), {
          declarantTaxCode: FIRM_B,
          traderTaxCode: FIRM_B,
          billNumbers: [B_BILL],
          containerNumbers: [CA],
        }),
      );
      const c = fx.as('otherFirm').customs;
      const got = await unary(c.getDeclaration.bind(c), { declarationNumber: r.declarationNumber });
      expect(got.declaration?.containerNumbers).toEqual([CB]);
      await fx.until(CB, (s) => s.declarationNumbers.includes(r.declarationNumber), 'B declared');
      expect(await victimView()).toEqual(before);
    });

    it('a bill on no manifest is decided by the rules and covers no container', async () => {
      const before = await victimView();
      const r = await fx.declare(
        'otherFirm',
        sampleDeclaration('green', nextImport(), {
          declarantTaxCode: FIRM_B,
          traderTaxCode: FIRM_B,
          billNumbers: ['FAKEHPH0000001'],
          containerNumbers: [CA],
        }),
      );
      // The firm learns the channel, not the rule book; customs sees why.
      expect(r.decision?.channel).toBe(Channel.RED);
      expect(r.decision?.rules).toEqual([]);
      const c = fx.as('customs').customs;
      const got = await unary(c.getDeclaration.bind(c), { declarationNumber: r.declarationNumber });
      expect(got.decision?.rules.map((h) => h.code)).toContain('CARGO_NOT_MANIFESTED');
      expect(got.declaration?.containerNumbers).toEqual([]);
      expect(await victimView()).toEqual(before);
    });

    it('cannot see A’s container, history, bill, manifest part or declaration, over gRPC or HTTP', async () => {
      const before = await victimView();
      const t = fx.as('otherFirm').tracking;
      for (const call of [
        () => unary(t.getContainerStatus.bind(t), { containerNumber: CA }),
        () => unary(t.listContainerEvents.bind(t), { containerNumber: CA, pageSize: 10, pageToken: '' }),
        () => unary(t.listDecisions.bind(t), { declarationNumber: aDeclaration }),
      ]) {
        expect((await refusal(call())).code).toBe(grpc.NOT_FOUND);
      }
      const m = fx.as('otherFirm').manifests;
      expect((await refusal(unary(m.getBillOfLading.bind(m), { billNumber: A_BILL }))).code).toBe(
        grpc.NOT_FOUND,
      );
      const part = await unary(m.getManifest.bind(m), { callId: callIdOf(VESSEL_IN), carrierCode: 'HLCU' });
      expect(part.record?.manifest?.bills.map((b) => b.billNumber)).toEqual([B_BILL]);
      const c = fx.as('otherFirm').customs;
      expect((await refusal(unary(c.getDeclaration.bind(c), { declarationNumber: aDeclaration }))).code).toBe(
        grpc.NOT_FOUND,
      );
      for (const path of [
        `/v1/containers/${CA}`,
        `/v1/containers/${CA}/events`,
        `/v1/declarations/${aDeclaration}/decisions`,
      ]) {
        expect((await http(TOKENS.otherFirm, path)).status).toBe(404);
      }
      // Its own container, over HTTP, shows only its own bill.
      const own = (await (await http(TOKENS.otherFirm, `/v1/containers/${CB}`)).json()) as {
        status: { bill_numbers?: string[]; billNumbers?: string[] };
      };
      expect(own.status.billNumbers ?? own.status.bill_numbers).toEqual([B_BILL]);
      expect(await victimView()).toEqual(before);
    });

    it('loses sight of its container once its shipment ended and another party’s began', async () => {
      const t = fx.as('otherFirm').tracking;
      // B's cargo is cleared and leaves; the empty box comes back for A's export.
      const c = fx.as('customs').customs;
      const b = await fx.declare(
        'otherFirm',
        sampleDeclaration('green', nextImport(), {
          declarantTaxCode: FIRM_B,
          traderTaxCode: FIRM_B,
          billNumbers: [B_BILL],
          declarationNumber: nextImport(),
        }),
      );
      for (const no of (await fx.status('admin', CB)).declarationNumbers) {
        const d = await unary(c.getDeclaration.bind(c), { declarationNumber: no });
        if (d.status !== ClearanceStatus.CLEARED) {
          await unary(c.recordInspectionResult.bind(c), {
            declarationNumber: no,
            outcome: 1,
            inspector: 'team 3',
            remarks: '',
          });
        }
      }
      expect(b.declarationNumber).not.toBe('');
      await fx.until(CB, (s) => s.released, 'released');
      const gateOut = new Date(Date.now() - 30_000);
      allAccepted(await fx.publish('operator', [move(EquipmentEventType.GTOT, CB, { at: gateOut })]));
      await fx.until(CB, (s) => s.location === ContainerLocation.LEFT_TERMINAL, 'gated out');
      expect((await fx.status('otherFirm', CB)).location).toBe(ContainerLocation.LEFT_TERMINAL);

      await fx.file(
        'carrier',
        manifest('HLCU', VESSEL_OUT, [
          bill('HLCUHPH6000001', CargoFlow.EXPORT, [CB], { shipper: party(FIRM_A) }),
        ]),
      );
      const gateIn = new Date(Date.now() - 10_000);
      allAccepted(await fx.publish('operator', [move(EquipmentEventType.GTIN, CB, { at: gateIn })]));
      await fx.until(
        CB,
        (s) => s.flow === CargoFlow.EXPORT && s.location === ContainerLocation.IN_YARD,
        'back for export',
      );
      await fx.untilHistory(CB, 3);
      expect((await refusal(unary(t.getContainerStatus.bind(t), { containerNumber: CB }))).code).toBe(
        grpc.NOT_FOUND,
      );
      expect(
        (
          await refusal(
            unary(t.listContainerEvents.bind(t), { containerNumber: CB, pageSize: 10, pageToken: '' }),
          )
        ).code,
      ).toBe(grpc.NOT_FOUND);
      expect((await http(TOKENS.otherFirm, `/v1/containers/${CB}`)).status).toBe(404);
      // A, the shipper now, sees the export from its gate-in on, nothing of B's import.
      const a = await fx.history('firm', CB);
      expect(a.events.length).toBe(1);
      expect(a.events[0]?.eventTime?.getTime()).toBe(gateIn.getTime());
      expect((await fx.status('firm', CB)).declarationNumbers).toEqual([]);
    });
  });

  it('firm B cannot grow a container record by declaring its own bill over and over', async () => {
    const before = await victimView();
    let refused: { code: number; details: string } | undefined;
    let accepted = 0;
    for (let i = 0; i < 40 && refused === undefined; i++) {
      try {
        await fx.declare(
          'otherFirm',
          sampleDeclaration('green', nextImport(), {
            declarantTaxCode: FIRM_B,
            traderTaxCode: FIRM_B,
            billNumbers: [B_BILL],
          }),
        );
        accepted++;
        // The count is read from the container's record: let the decider link each one first.
        await fx.until(CB, (s) => s.declarationNumbers.length >= accepted, 'linked');
      } catch (err) {
        refused = { code: (err as { code: number }).code, details: (err as { details: string }).details };
      }
    }
    expect(refused?.code).toBe(grpc.FAILED_PRECONDITION);
    expect(refused?.details).toContain('declaration.bill_numbers[0]');
    const entry = await fx.buckets.containers.get(CB);
    expect(entry?.value.length).toBeLessThan(4096);
    expect(await victimView()).toEqual(before);
  });

  describe('carrier MAEU against carrier HLCU', () => {
    const hlcuBill = async (): Promise<unknown> => {
      const m = fx.as('carrier').manifests;
      return unary(m.getBillOfLading.bind(m), { billNumber: A_BILL });
    };

    it('cannot file, amend or withdraw HLCU’s manifest', async () => {
      const before = await victimView();
      const billBefore = await hlcuBill();
      const forged = manifest('HLCU', VESSEL_IN, [
        bill(A_BILL, CargoFlow.IMPORT, [CA], { consignee: party(FIRM_B) }),
      ]);
      for (const v of [0, before.manifest.record?.version ?? 1]) {
        const r = await refusal(fx.file('otherCarrier', forged, v));
        expect(r.code).toBe(grpc.PERMISSION_DENIED);
        expect(r.details).toContain('manifest.carrier_code');
      }
      const m = fx.as('otherCarrier').manifests;
      const w = await refusal(
        unary(m.withdrawManifest.bind(m), {
          callId: callIdOf(VESSEL_IN),
          carrierCode: 'HLCU',
          expectedVersion: before.manifest.record?.version ?? 1,
          reason: 'x',
        }),
      );
      expect(w.code).toBe(grpc.PERMISSION_DENIED);
      expect(await victimView()).toEqual(before);
      expect(await hlcuBill()).toEqual(billBefore);
    });

    it('cannot take over HLCU’s bill or container with a manifest of its own on the same call', async () => {
      const before = await victimView();
      const billBefore = await hlcuBill();
      const sameBill = await refusal(
        fx.file(
          'otherCarrier',
          manifest('MAEU', VESSEL_IN, [
            bill(A_BILL, CargoFlow.IMPORT, [containerNumber('MAE', 1)], { consignee: party(FIRM_B) }),
          ]),
        ),
      );
      expect(sameBill.code).toBe(grpc.ALREADY_EXISTS);
      expect(sameBill.details).toContain('manifest.bills[0].bill_number');
      const sameBox = await refusal(
        fx.file(
          'otherCarrier',
          manifest('MAEU', VESSEL_IN, [
            bill('MAEUHPH0000001', CargoFlow.IMPORT, [CA], { consignee: party(FIRM_B) }),
          ]),
        ),
      );
      expect(sameBox.code).toBe(grpc.ALREADY_EXISTS);
      expect(sameBox.details).toContain('manifest.bills[0].containers[0]');
      // Neither half-filing left a trace: HLCU's bill, the container and the firm's view are as they were.
      expect(await victimView()).toEqual(before);
      expect(await hlcuBill()).toEqual(billBefore);
      expect((await refusal(fx.status('otherFirm', CA))).code).toBe(grpc.NOT_FOUND);
    });

    it('cannot read HLCU’s manifest or bills', async () => {
      const m = fx.as('otherCarrier').manifests;
      expect(
        (await refusal(unary(m.getManifest.bind(m), { callId: callIdOf(VESSEL_IN), carrierCode: 'HLCU' })))
          .code,
      ).toBe(grpc.NOT_FOUND);
      expect((await refusal(unary(m.getBillOfLading.bind(m), { billNumber: A_BILL }))).code).toBe(
        grpc.NOT_FOUND,
      );
    });

    it('HLCU itself amends only from the current version; a stale one is refused', async () => {
      const before = await victimView();
      const r = await refusal(
        fx.file(
          'carrier',
          manifest('HLCU', VESSEL_IN, [bill(A_BILL, CargoFlow.IMPORT, [CA], { consignee: party(FIRM_B) })]),
          0,
        ),
      );
      expect(r.code).toBe(grpc.FAILED_PRECONDITION);
      expect(await victimView()).toEqual(before);
    });
  });

  it('firms and operators may not file manifests; an invalid manifest names its field', async () => {
    for (const p of ['firm', 'operator'] as const) {
      const r = await refusal(
        fx.file(
          p,
          manifest('HLCU', VESSEL_IN, [
            bill('HLCUHPH7000001', CargoFlow.IMPORT, [containerNumber('HLX', 1)], {
              consignee: party(FIRM_A),
            }),
          ]),
        ),
      );
      expect(r.code).toBe(grpc.PERMISSION_DENIED);
    }
    const bad = manifest('HLCU', VESSEL_IN, [
      bill('HLCUHPH7000001', CargoFlow.IMPORT, ['HLXU1234560'], { consignee: party(FIRM_A) }),
    ]);
    const r = await refusal(fx.file('carrier', bad));
    expect(r.code).toBe(grpc.INVALID_ARGUMENT);
    expect(r.details).toContain('manifest.bills[0].containers[0].container_number');
    const wrongFlow = manifest('HLCU', VESSEL_IN, [
      bill('HLCUHPH7000002', CargoFlow.EXPORT, [containerNumber('HLX', 2)], { shipper: party(FIRM_A) }),
    ]);
    wrongFlow.bills[0] = { ...(wrongFlow.bills[0] as (typeof wrongFlow.bills)[0]), portOfLoading: 'CNSHA' };
    const f = await refusal(fx.file('carrier', wrongFlow));
    expect(f.code).toBe(grpc.INVALID_ARGUMENT);
    expect(f.details).toContain('manifest.bills[0].port_of_loading');
    // The declaration type must match the bill's flow.
    const t = await refusal(
      fx.declare(
        'firm',
        sampleDeclaration('green', '308800000001', {
          type: DeclarationType.EXPORT,
          declarantTaxCode: FIRM_A,
          traderTaxCode: FIRM_A,
          billNumbers: [A_BILL],
        }),
      ),
    );
    expect(t.code).toBe(grpc.INVALID_ARGUMENT);
    expect(t.details).toContain('declaration.bill_numbers[0]');
  });
});
