// History is what was accepted: one event of every kind, every field set, sent through the real gateway, stored
// in JetStream, written by the real sink to embedded ClickHouse and read back through ListContainerEvents over
// gRPC and HTTP, equal field for field. A yard position that was not sent comes back missing, not as 0/0/0.
import { Metadata } from '@grpc/grpc-js';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { silentLogger } from '../../core/logger.js';
import { startIngest, type IngestHandle } from '../../ingest/main.js';
import {
  EmptyIndicator,
  EquipmentEventType,
  EventClassifier,
  SealSource,
  TransportCallLocation,
  TransportEventType,
  type Event,
} from '../../proto/gen/portstream/v1/events.js';
import { EventStatus, IngestServiceClient } from '../../proto/gen/portstream/v1/ingest.js';
import {
  ListContainerEventsResponse,
  TrackingServiceClient,
} from '../../proto/gen/portstream/v1/tracking.js';
import { clientAs, testAuth, TOKENS } from '../../test-kit/auth.js';
import { containerNumber, FACILITY } from '../../test-kit/events.js';
import { publish } from '../helpers/gateway.js';
import { waitFor } from '../../test-kit/poll.js';
import { declaration, FIRM_TAX, startApiFixture, status, type ApiFixture } from './api-fixture.js';

const BOX = containerNumber('OOL', 731_204);
const OTHER_BOX = containerNumber('OOL', 731_205);
const VESSEL = { imoNumber: '9811000', name: 'EVER GIVEN', voyage: '2346W' };
const EQUIPMENT_TYPES = [
  EquipmentEventType.LOAD,
  EquipmentEventType.DISC,
  EquipmentEventType.GTIN,
  EquipmentEventType.GTOT,
  EquipmentEventType.STUF,
  EquipmentEventType.STRP,
  EquipmentEventType.PICK,
  EquipmentEventType.DROP,
  EquipmentEventType.INSP,
  EquipmentEventType.RSEA,
  EquipmentEventType.RMVD,
];
const CLASSIFIERS = [EventClassifier.ACTUAL, EventClassifier.ESTIMATED, EventClassifier.PLANNED];
const SOURCES = [SealSource.CARRIER, SealSource.SHIPPER, SealSource.CUSTOMS, SealSource.TERMINAL];

/** Distinct, millisecond-precise times in the past (ClickHouse keeps milliseconds), in sending order. */
const base = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
const at = (i: number): Date => new Date(base + i * 60_123);

function sent(): Event[] {
  const transport = (
    i: number,
    type: TransportEventType,
    location: TransportCallLocation,
    berth: string,
  ): Event => ({
    eventId: `HICT:rt-transport-${i}`,
    eventTime: at(i),
    classifier: CLASSIFIERS[i % CLASSIFIERS.length] ?? EventClassifier.ACTUAL,
    facility: FACILITY,
    payload: {
      $case: 'transport',
      value: { type, vessel: VESSEL, location, berth, manifestContainerNumbers: [OTHER_BOX, BOX] },
    },
  });
  const equipment = EQUIPMENT_TYPES.map((type, k): Event => ({
    eventId: `HICT:rt-equipment-${k}`,
    eventTime: at(4 + k),
    classifier: CLASSIFIERS[k % CLASSIFIERS.length] ?? EventClassifier.ACTUAL,
    facility: FACILITY,
    payload: {
      $case: 'equipment',
      value: {
        type,
        containerNumber: BOX,
        isoSizeType: k % 2 === 0 ? '45G1' : '22R1',
        emptyIndicator: k % 2 === 0 ? EmptyIndicator.EMPTY : EmptyIndicator.LADEN,
        seals: [
          { number: `SEAL-${k}A`, source: SOURCES[k % SOURCES.length] ?? SealSource.CARRIER },
          { number: `SEAL-${k}B`, source: SealSource.UNSPECIFIED },
        ],
        vessel: VESSEL,
        // bay/row/tier 1/1/1 and a varied slot: both must come back as sent.
        yardPosition: { block: `B${k}`, bay: k === 0 ? 1 : 100 + k, row: k === 0 ? 1 : 7, tier: 1 + (k % 5) },
        truckPlate: `15C-${String(10_000 + k)}`,
      },
    },
  }));
  // The same kind with the optional parts left out: no yard position, no vessel, no seals, no size-type.
  const bare: Event = {
    eventId: 'HICT:rt-bare',
    eventTime: at(20),
    classifier: EventClassifier.ACTUAL,
    facility: FACILITY,
    payload: {
      $case: 'equipment',
      value: {
        type: EquipmentEventType.GTOT,
        containerNumber: BOX,
        isoSizeType: '',
        emptyIndicator: EmptyIndicator.UNSPECIFIED,
        seals: [],
        vessel: undefined,
        yardPosition: undefined,
        truckPlate: '',
      },
    },
  };
  // A yard position whose numbers are all 0 is a slot too (block A, bay 0, row 0, tier 0).
  const zeroSlot: Event = {
    ...bare,
    eventId: 'HICT:rt-zero-slot',
    eventTime: at(21),
    payload: {
      $case: 'equipment',
      value: {
        type: EquipmentEventType.RMVD,
        containerNumber: BOX,
        isoSizeType: 'L5G1',
        emptyIndicator: EmptyIndicator.LADEN,
        seals: [],
        vessel: undefined,
        yardPosition: { block: 'A', bay: 0, row: 0, tier: 0 },
        truckPlate: '',
      },
    },
  };
  return [
    transport(0, TransportEventType.ARRI, TransportCallLocation.PORT, ''),
    transport(1, TransportEventType.ARRI, TransportCallLocation.BERTH, 'TC-HICT-1'),
    ...equipment,
    bare,
    zeroSlot,
    transport(22, TransportEventType.DEPA, TransportCallLocation.BERTH, 'TC-HICT-1'),
    transport(23, TransportEventType.DEPA, TransportCallLocation.PORT, ''),
  ];
}

describe('container history round trip', () => {
  let fx: ApiFixture;
  let ingest: IngestHandle;
  let ingestClient: IngestServiceClient;
  let tracking: TrackingServiceClient;
  const events = sent();

  beforeAll(async () => {
    fx = await startApiFixture();
    ingest = await startIngest({
      config: loadConfig({ INGEST_PORT: '0' }),
      log: silentLogger(),
      nc: fx.natsFx.nc,
      registry: new Registry(),
      auth: testAuth,
    });
    ingestClient = clientAs(IngestServiceClient, ingest.address, TOKENS.operator);
    tracking = clientAs(TrackingServiceClient, fx.api.grpcAddress, TOKENS.admin);
    await fx.putContainer(status(BOX, 'HICT', []));
  });

  afterAll(async () => {
    ingestClient.close();
    tracking.close();
    await ingest.stop();
    await fx.close();
  });

  const grpcHistory = (pageSize: number, pageToken = ''): Promise<ListContainerEventsResponse> =>
    new Promise((resolve, reject) => {
      tracking.listContainerEvents(
        { containerNumber: BOX, pageSize, pageToken },
        new Metadata(),
        { deadline: Date.now() + 10_000 },
        (err, res) => {
          if (err) reject(err);
          else resolve(res);
        },
      );
    });

  it('returns every field of every event kind as accepted, over gRPC and HTTP', async () => {
    const res = await publish(ingestClient, events);
    expect(res.results.map((r) => [r.eventId, r.status])).toEqual(
      events.map((e) => [e.eventId, EventStatus.ACCEPTED]),
    );

    const history = await waitFor(
      async () => {
        const r = await grpcHistory(1000);
        return r.events.length === events.length ? r : undefined;
      },
      { timeoutMs: 20_000, what: 'the sink to write every event' },
    );
    expect(history.events).toEqual(events);
    expect(history.nextPageToken).toBe('');

    // Paging walks the same list, the vessel's transport events included.
    const paged: Event[] = [];
    let token = '';
    do {
      const page = await grpcHistory(4, token);
      paged.push(...page.events);
      token = page.nextPageToken;
    } while (token !== '');
    expect(paged).toEqual(events);

    const http = await fetch(`${fx.api.httpUrl}/v1/containers/${BOX}/events?page_size=1000`, {
      headers: { authorization: `Bearer ${TOKENS.admin}` },
    });
    expect(http.status).toBe(200);
    const body: unknown = await http.json();
    expect(body).toEqual(ListContainerEventsResponse.toJSON({ events, nextPageToken: '' }));
    // The JSON a client sees, spelled out for the case the mapping is easiest to get wrong: no slot vs slot 0/0/0.
    const json = body as { events: { eventId: string; equipment?: Record<string, unknown> }[] };
    expect(json.events.find((e) => e.eventId === 'HICT:rt-bare')?.equipment).not.toHaveProperty(
      'yardPosition',
    );
    // proto3 JSON leaves zero numbers out: the slot is there, its numbers read as 0.
    expect(json.events.find((e) => e.eventId === 'HICT:rt-zero-slot')?.equipment?.yardPosition).toEqual({
      block: 'A',
    });
    expect(ListContainerEventsResponse.fromJSON(body).events).toEqual(events);
  });

  it('shows a firm only its own container in a vessel manifest', async () => {
    // The firm may see BOX once it is on one of its declarations.
    await fx.putDeclaration(declaration('300000000731', FIRM_TAX, [BOX]));
    await fx.putContainer(status(BOX, 'HICT', ['300000000731']));
    const res = await fetch(`${fx.api.httpUrl}/v1/containers/${BOX}/events?page_size=1000`, {
      headers: { authorization: `Bearer ${TOKENS.firm}` },
    });
    expect(res.status).toBe(200);
    const got = ListContainerEventsResponse.fromJSON(await res.json()).events;
    expect(got.map((e) => e.eventId)).toEqual(events.map((e) => e.eventId));
    for (const e of got) {
      if (e.payload?.$case === 'transport') expect(e.payload.value.manifestContainerNumbers).toEqual([BOX]);
    }
  });
});
