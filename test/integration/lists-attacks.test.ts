// ListContainers and ListDeclarations through the public gRPC and HTTP APIs of the real services, with firm B
// as the attacker: B lists and never sees A's containers, bills or declarations (not even of a container both
// share), filters and page tokens cannot reach another party's rows (a token not issued to the caller for these
// filters is INVALID_ARGUMENT), every row is what GetContainerStatus tells that caller, and paging returns every
// visible row exactly once. A's own list is asserted equal before and after B's attempts.
import { status as grpc } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClearanceStatus } from '../../proto/gen/portstream/v1/customs.js';
import { EquipmentEventType } from '../../proto/gen/portstream/v1/events.js';
import { CargoFlow } from '../../proto/gen/portstream/v1/manifest.js';
import {
  ReleasedFilter,
  type ContainerLocation,
  type ContainerStatus,
  type DeclarationSummary,
  type ListContainersRequest,
  type ListDeclarationsRequest,
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
import { waitFor } from '../../test-kit/poll.js';
import { refusal, unary } from '../helpers/rpc.js';
import {
  allAccepted,
  move,
  startPartiesFixture,
  type PartiesFixture,
  type Party,
} from './parties-fixture.js';

const nextImport = numberSequence(108900000000);

const LIST: ListContainersRequest = {
  locations: [],
  customsStatuses: [],
  callId: '',
  released: ReleasedFilter.UNSPECIFIED,
  pageSize: 0,
  pageToken: '',
};
const DECLS: ListDeclarationsRequest = {
  statuses: [],
  callId: '',
  released: ReleasedFilter.UNSPECIFIED,
  pageSize: 0,
  pageToken: '',
};

describe('firm lists', () => {
  let fx: PartiesFixture;
  // A's: two discharged on their own bills, one shared with B (LCL), one on a call not arrived yet.
  const A1 = containerNumber('HLX', 300_001);
  const A2 = containerNumber('HLX', 300_002);
  const A3 = containerNumber('HLX', 300_003);
  const A_NEXT = containerNumber('HLX', 300_004);
  const SHARED = containerNumber('HLX', 300_005);
  const B1 = containerNumber('HLX', 300_006);
  let aDecl = '';
  let bDecl = '';

  const listAll = async (
    who: Party,
    req: Partial<ListContainersRequest> = {},
  ): Promise<ContainerStatus[]> => {
    const t = fx.as(who).tracking;
    const out: ContainerStatus[] = [];
    let token = '';
    for (let i = 0; i < 100; i++) {
      const r = await unary(t.listContainers.bind(t), { ...LIST, ...req, pageToken: token });
      out.push(...r.containers);
      token = r.nextPageToken;
      if (token === '') return out;
    }
    throw new Error('no last page');
  };
  const declsAll = async (
    who: Party,
    req: Partial<ListDeclarationsRequest> = {},
  ): Promise<DeclarationSummary[]> => {
    const t = fx.as(who).tracking;
    const out: DeclarationSummary[] = [];
    let token = '';
    for (let i = 0; i < 100; i++) {
      const r = await unary(t.listDeclarations.bind(t), { ...DECLS, ...req, pageToken: token });
      out.push(...r.declarations);
      token = r.nextPageToken;
      if (token === '') return out;
    }
    throw new Error('no last page');
  };
  const numbers = (rows: readonly ContainerStatus[]): string[] => rows.map((r) => r.containerNumber);
  const http = (token: string, path: string): Promise<Response> =>
    fetch(`${fx.httpUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
  const aView = async (): Promise<{ containers: ContainerStatus[]; declarations: DeclarationSummary[] }> => ({
    containers: await listAll('firm'),
    declarations: await declsAll('firm'),
  });

  beforeAll(async () => {
    fx = await startPartiesFixture();
    await fx.file(
      'carrier',
      manifest('HLCU', VESSEL_IN, [
        bill('HLCUHPH6000001', CargoFlow.IMPORT, [A1], { consignee: party(FIRM_A) }),
        bill('HLCUHPH6000002', CargoFlow.IMPORT, [A2, A3], { consignee: party(FIRM_A) }),
        bill('HLCUHPH6000003', CargoFlow.IMPORT, [SHARED], { consignee: party(FIRM_A) }),
        bill('HLCUHPH6000004', CargoFlow.IMPORT, [SHARED], { consignee: party(FIRM_B) }),
        bill('HLCUHPH6000005', CargoFlow.IMPORT, [B1], { consignee: party(FIRM_B) }),
      ]),
    );
    await fx.file(
      'carrier',
      manifest('HLCU', VESSEL_OUT, [
        bill('HLCUHPH6000006', CargoFlow.IMPORT, [A_NEXT], { consignee: party(FIRM_A) }),
      ]),
    );
    allAccepted(
      await fx.publish(
        'operator',
        [A1, A2, A3, SHARED, B1].map((c) => move(EquipmentEventType.DISC, c, { vessel: VESSEL_IN })),
      ),
    );
    aDecl = (
      await fx.declare(
        'firm',
        sampleDeclaration('yellow', nextImport(), {
          declarantTaxCode: FIRM_A,
          traderTaxCode: FIRM_A,
          billNumbers: ['HLCUHPH6000001'],
          vessel: VESSEL_IN,
        }),
      )
    ).declarationNumber;
    bDecl = (
      await fx.declare(
        'otherFirm',
        sampleDeclaration('red', nextImport(), {
          declarantTaxCode: FIRM_B,
          traderTaxCode: FIRM_B,
          billNumbers: ['HLCUHPH6000005'],
          vessel: VESSEL_IN,
        }),
      )
    ).declarationNumber;
    await fx.until(A1, (s) => s.declarationNumbers.includes(aDecl), 'A declared');
    await fx.until(B1, (s) => s.declarationNumbers.includes(bDecl), 'B declared');
    // The index follows the state: wait until it has projected every change (customs' lists read the buckets'
    // own keys, so they show the state has all of it).
    await waitFor(
      async () => {
        const all = new Set(numbers(await listAll('customs')));
        const decls = await declsAll('customs');
        return [A1, A2, A3, A_NEXT, SHARED, B1].every((c) => all.has(c)) && decls.length === 2;
      },
      { timeoutMs: 20_000, what: 'the state to hold everything' },
    );
    await fx.untilIndexed();
  }, 120_000);
  afterAll(async () => {
    await fx.close();
  });

  it('a firm lists its own containers, each exactly as GetContainerStatus shows it', async () => {
    const a = await listAll('firm');
    expect(numbers(a).sort()).toEqual([A1, A2, A3, A_NEXT, SHARED].sort());
    for (const s of a) expect(s).toEqual(await fx.status('firm', s.containerNumber));
    // The shared container shows A only A's bill.
    expect(a.find((s) => s.containerNumber === SHARED)?.billNumbers).toEqual(['HLCUHPH6000003']);
    // A broker acting for A sees A's containers too.
    expect(numbers(await listAll('broker')).sort()).toEqual([A1, A2, A3, A_NEXT, SHARED].sort());
  });

  it('firm B never sees A’s containers, nor A’s bill on a container both share', async () => {
    const before = await aView();
    const b = await listAll('otherFirm');
    expect(numbers(b).sort()).toEqual([B1, SHARED].sort());
    for (const s of b) {
      expect(s).toEqual(await fx.status('otherFirm', s.containerNumber));
      expect(s.billNumbers).not.toContain('HLCUHPH6000003');
      expect(s.declarationNumbers).not.toContain(aDecl);
    }
    // No filter widens the list: A's call, A's customs status, either release state.
    for (const req of [
      { callId: callIdOf(VESSEL_IN) },
      { callId: callIdOf(VESSEL_OUT) },
      { released: ReleasedFilter.RELEASED },
      { released: ReleasedFilter.HELD },
      { customsStatuses: [1, 2, 3, 4, 5, 6] },
      { locations: [1, 2, 3, 4] },
    ]) {
      for (const s of await listAll('otherFirm', req)) expect([B1, SHARED]).toContain(s.containerNumber);
    }
    expect(await listAll('otherFirm', { callId: callIdOf(VESSEL_OUT) })).toEqual([]);
    expect(await aView()).toEqual(before);
  });

  it('pages return every visible row exactly once, whatever the page size', async () => {
    for (const pageSize of [1, 2, 3, 500]) {
      const rows = await listAll('firm', { pageSize });
      expect(numbers(rows)).toEqual([A1, A2, A3, A_NEXT, SHARED].sort());
    }
    // Filters split the list without overlap.
    const released = numbers(await listAll('firm', { released: ReleasedFilter.RELEASED, pageSize: 1 }));
    const held = numbers(await listAll('firm', { released: ReleasedFilter.HELD, pageSize: 1 }));
    expect([...released, ...held].sort()).toEqual([A1, A2, A3, A_NEXT, SHARED].sort());
    expect(numbers(await listAll('firm', { callId: callIdOf(VESSEL_OUT) }))).toEqual([A_NEXT]);
  });

  it('a page token works only for the caller and the filters it was issued for', async () => {
    const before = await aView();
    const t = fx.as('firm').tracking;
    const first = await unary(t.listContainers.bind(t), { ...LIST, pageSize: 1 });
    expect(first.nextPageToken).not.toBe('');
    const b = fx.as('otherFirm').tracking;
    const forged = [
      first.nextPageToken, // A's token
      Buffer.from(JSON.stringify({ s: 'containers:x', p: A1 })).toString('base64url'),
      'not-a-token',
      '%%%',
    ];
    for (const pageToken of forged) {
      const r = await refusal(unary(b.listContainers.bind(b), { ...LIST, pageToken }));
      expect(r.code).toBe(grpc.INVALID_ARGUMENT);
      expect(r.details).toContain('page_token');
      const d = await refusal(unary(b.listDeclarations.bind(b), { ...DECLS, pageToken }));
      expect(d.code).toBe(grpc.INVALID_ARGUMENT);
    }
    // A's own token with other filters.
    const other = await refusal(
      unary(t.listContainers.bind(t), {
        ...LIST,
        released: ReleasedFilter.HELD,
        pageToken: first.nextPageToken,
      }),
    );
    expect(other.code).toBe(grpc.INVALID_ARGUMENT);
    // Over HTTP as well: 400 naming page_token, nothing of A's.
    const res = await http(TOKENS.otherFirm, `/v1/containers?page_token=${first.nextPageToken}`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { field: string } }).error.field).toBe('page_token');
    expect(await aView()).toEqual(before);
  });

  it('bad filters are INVALID_ARGUMENT naming the field', async () => {
    const t = fx.as('firm').tracking;
    const cases: [Partial<ListContainersRequest>, string][] = [
      [{ pageSize: 501 }, 'page_size'],
      [{ callId: 'VNHPH-HICT-*' }, 'call_id'],
      [{ locations: [99 as ContainerLocation] }, 'locations'],
      [{ customsStatuses: [0] }, 'customs_statuses'],
      [{ released: 7 as ReleasedFilter }, 'released'],
    ];
    for (const [req, field] of cases) {
      const r = await refusal(unary(t.listContainers.bind(t), { ...LIST, ...req }));
      expect({ field, code: r.code }).toEqual({ field, code: grpc.INVALID_ARGUMENT });
      expect(r.details).toContain(field);
    }
    for (const [q, field] of [
      ['released=maybe', 'released'],
      ['location=NOWHERE', 'locations'],
      ['customs_status=x', 'customs_statuses'],
      ['page_size=-1', 'page_size'],
    ]) {
      const res = await http(TOKENS.firm, `/v1/containers?${q}`);
      expect({ q, status: res.status }).toEqual({ q, status: 400 });
      expect(((await res.json()) as { error: { field: string } }).error.field).toBe(field);
    }
  });

  it('over HTTP, B’s list holds none of A’s containers and pages through every one of its own', async () => {
    const got: string[] = [];
    let token = '';
    for (;;) {
      const res = await http(
        TOKENS.otherFirm,
        `/v1/containers?page_size=1${token === '' ? '' : `&page_token=${token}`}`,
      );
      expect(res.status).toBe(200);
      const body = (await res.json()) as {
        containers?: { containerNumber: string }[];
        nextPageToken?: string;
      };
      got.push(...(body.containers ?? []).map((c) => c.containerNumber));
      token = body.nextPageToken ?? '';
      if (token === '') break;
    }
    expect(got).toEqual([B1, SHARED].sort());
    const a = (await (await http(TOKENS.firm, '/v1/containers?location=ON_VESSEL,IN_YARD')).json()) as {
      containers: { containerNumber: string }[];
    };
    expect(a.containers.map((c) => c.containerNumber)).toEqual([A1, A2, A3, SHARED].sort());
  });

  it('declarations: each firm lists its own, with the decision a firm may read', async () => {
    const a = await declsAll('firm');
    expect(a.map((d) => d.declarationNumber)).toEqual([aDecl]);
    const d = a[0] as DeclarationSummary;
    expect(d.status).toBe(ClearanceStatus.DOCUMENT_CHECK);
    expect(d.decision?.rules).toEqual([]);
    expect(d.decision?.ruleSetVersion).toBe('');
    expect(d.decision?.nextSteps.length).toBeGreaterThan(0);
    const b = await declsAll('otherFirm');
    expect(b.map((x) => x.declarationNumber)).toEqual([bDecl]);
    for (const req of [
      { callId: callIdOf(VESSEL_IN) },
      { statuses: [ClearanceStatus.DOCUMENT_CHECK] },
      { released: ReleasedFilter.HELD },
    ]) {
      expect((await declsAll('otherFirm', req)).map((x) => x.declarationNumber)).not.toContain(aDecl);
    }
    expect((await declsAll('firm', { statuses: [ClearanceStatus.CLEARED] })).length).toBe(0);
    expect((await declsAll('firm', { callId: callIdOf(VESSEL_IN) })).length).toBe(1);
    expect((await declsAll('firm', { callId: callIdOf(VESSEL_OUT) })).length).toBe(0);
    // Customs sees both, whole.
    const all = await declsAll('customs');
    expect(all.map((x) => x.declarationNumber).sort()).toEqual([aDecl, bDecl].sort());
    expect(all.find((x) => x.declarationNumber === aDecl)?.decision?.rules.length).toBeGreaterThan(0);
    const res = await http(TOKENS.otherFirm, '/v1/declarations?status=DOCUMENT_CHECK,PHYSICAL_INSPECTION');
    const body = (await res.json()) as { declarations: { declarationNumber: string }[] };
    expect(body.declarations.map((x) => x.declarationNumber)).toEqual([bDecl]);
  });

  it('operators list their terminals’ containers; carriers and operators may not list declarations', async () => {
    expect(numbers(await listAll('operator')).sort()).toEqual([A1, A2, A3, SHARED, B1].sort());
    expect(await listAll('otherOperator')).toEqual([]);
    const c = fx.as('carrier').tracking;
    expect((await refusal(unary(c.listContainers.bind(c), LIST))).code).toBe(grpc.PERMISSION_DENIED);
    const o = fx.as('operator').tracking;
    expect((await refusal(unary(o.listDeclarations.bind(o), DECLS))).code).toBe(grpc.PERMISSION_DENIED);
    expect((await http(TOKENS.carrier, '/v1/declarations')).status).toBe(403);
  });

  it('a container that leaves the firm’s shipment leaves its list, as GetContainerStatus says', async () => {
    // Gate-out ends A2's shipment: A still sees it (its history window) as GetContainerStatus does.
    allAccepted(await fx.publish('operator', [move(EquipmentEventType.GTOT, A2)]));
    await fx.until(A2, (s) => s.lastEventType === EquipmentEventType.GTOT, 'gated out');
    await waitFor(
      async () => {
        const row = (await listAll('firm')).find((s) => s.containerNumber === A2);
        const st = await fx.status('firm', A2).catch(() => undefined);
        return JSON.stringify(row) === JSON.stringify(st);
      },
      { timeoutMs: 10_000, what: 'the list to agree with GetContainerStatus' },
    );
    expect(numbers(await listAll('otherFirm')).sort()).toEqual([B1, SHARED].sort());
  });
});
