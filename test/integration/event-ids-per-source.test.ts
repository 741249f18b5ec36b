// Event ids are unique per source, not per port: two operators (two tokens, two terminals) sending the same
// event id both get their event persisted, applied to container state and written to ClickHouse once each,
// through the real gateway, processor and sink; a re-send by either is a duplicate and changes nothing.
import { jetstream } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subjects } from '../../core/nats/topology.js';
import { EventStatus } from '../../proto/gen/portstream/v1/ingest.js';
import { EventGroup } from '../../proto/gen/portstream/v1/records.js';
import { containerNumber, equipmentEvent } from '../../test-kit/events.js';
import { waitFor } from '../../test-kit/poll.js';
import { startTerminals, type TerminalsFixture } from './terminal-fixture.js';
import { countRows } from './sink-fixture.js';

const ID = 'SHARED-0001';
const HICT = { unLocode: 'VNHPH', terminalCode: 'HICT' };
const TVCT = { unLocode: 'VNHPH', terminalCode: 'TVCT' };
const A = containerNumber('MSC', 710_001);
const B = containerNumber('MSC', 710_002);
const atHict = equipmentEvent(ID, 710_001, { facility: HICT });
const atTvct = equipmentEvent(ID, 710_002, { facility: TVCT });

describe('event ids are unique per source', () => {
  let p: TerminalsFixture;
  const rowsOf = (source: string): Promise<number> =>
    countRows(p.fx.chFx.ch, 'events', `event_id = '${ID}' AND source = '${source}'`);

  beforeAll(async () => {
    p = await startTerminals();
  }, 60_000);

  afterAll(async () => {
    await p.close();
  });

  it('two operators using the same id both get their event persisted, applied and stored once', async () => {
    expect((await p.send('operator', [atHict])).map((r) => r.status)).toEqual([EventStatus.ACCEPTED]);
    expect((await p.send('otherOperator', [atTvct])).map((r) => r.status)).toEqual([EventStatus.ACCEPTED]);
    await p.settle();

    const a = await waitFor(async () => (await p.record(A))?.status, { what: `state of ${A}` });
    const b = await waitFor(async () => (await p.record(B))?.status, { what: `state of ${B}` });
    expect(a).toMatchObject({ lastEventId: ID, facility: HICT });
    expect(b).toMatchObject({ lastEventId: ID, facility: TVCT });
    expect(await rowsOf('hict-operator')).toBe(1);
    expect(await rowsOf('tvct-operator')).toBe(1);
    // History answers with the client's own id.
    expect(await p.history('admin', A)).toMatchObject([{ eventId: ID, facility: HICT }]);
    expect(await p.history('admin', B)).toMatchObject([{ eventId: ID, facility: TVCT }]);
  });

  it('a re-send by either operator is a duplicate and changes nothing downstream', async () => {
    await p.settle();
    const before = { a: await p.record(A), b: await p.record(B) };

    // The gateway's cache answers the re-send of each.
    expect((await p.send('operator', [atHict])).map((r) => r.status)).toEqual([EventStatus.DUPLICATE]);
    expect((await p.send('otherOperator', [atTvct])).map((r) => r.status)).toEqual([EventStatus.DUPLICATE]);

    // A second gateway has an empty cache: JetStream's Nats-Msg-Id (subject, source and ids) answers it.
    const other = await p.startOtherGateway();
    try {
      expect((await other.send('operator', [atHict])).map((r) => r.status)).toEqual([EventStatus.DUPLICATE]);
    } finally {
      await other.close();
    }

    // Past both (a copy the gateway regrouped, or one sent after the duplicate window): the processor and the
    // sink recognise the sourced id.
    const js = jetstream(p.fx.natsFx.nc);
    for (const [source, ev, f] of [
      ['hict-operator', atHict, HICT],
      ['tvct-operator', atTvct, TVCT],
    ] as const) {
      const data = EventGroup.encode({ receivedTime: new Date(), source, events: [ev] }).finish();
      await js.publish(subjects.events(f.unLocode, f.terminalCode, 'equipment'), data);
    }
    await p.settle();

    expect(await p.record(A)).toEqual(before.a);
    expect(await p.record(B)).toEqual(before.b);
    expect(await rowsOf('hict-operator')).toBe(1);
    expect(await rowsOf('tvct-operator')).toBe(1);
    expect(await p.history('admin', A)).toHaveLength(1);
  });
});
