// Records to rows: the identity keys the sink dedupes by, short enum names, ClickHouse time text.
import { describe, expect, it } from 'vitest';
import { chTime, decisionRow, MAPPINGS } from '../../sink/rows.js';
import { Channel, ClearanceStatus } from '../../proto/gen/portstream/v1/customs.js';
import { EventGroup } from '../../proto/gen/portstream/v1/records.js';
import { arrivalEvent, equipmentEvent } from '../../test-kit/events.js';

describe('sink rows', () => {
  it('maps an event group to one row per event, keyed by source and event id', () => {
    const data = EventGroup.encode({
      receivedTime: new Date('2026-01-10T08:00:00.123Z'),
      source: 'tos',
      events: [equipmentEvent('a', 1), arrivalEvent('b', ['X'])],
    }).finish();
    const events = MAPPINGS.find((m) => m.table === 'events');
    const rows = events?.toRows(data, 42) ?? [];
    expect(rows.map((r) => r.key)).toEqual(['tos/a', 'tos/b']);
    expect(rows[0]?.row).toMatchObject({
      event_id: 'a',
      source: 'tos',
      dedupe_source: 'tos',
      kind: 'equipment',
      event_type: 'DISC',
      classifier: 'ACTUAL',
      received_time: '1768032000.123',
      terminal_code: 'HICT',
      stream_seq: 42,
    });
    expect(rows[1]?.row).toMatchObject({
      kind: 'transport',
      event_type: 'ARRI',
      transport_location: 'BERTH',
    });
  });

  it('keys a decision by declaration, revision and status, and takes the stream sequence as position', () => {
    const r = decisionRow(
      {
        declarationNumber: '100000000001',
        revision: 2,
        channel: Channel.RED,
        status: ClearanceStatus.PHYSICAL_INSPECTION,
        rules: [{ code: 'HS_HIGH_RISK', reason: '', channel: Channel.RED }],
        ruleSetVersion: 'v3',
        decidedTime: undefined,
        decisionLatencyUs: 1200,
        position: 0,
        note: '',
        nextSteps: [],
        selectionSecretVersion: '',
      },
      7,
    );
    expect(r.key).toBe('100000000001/2/PHYSICAL_INSPECTION');
    expect(r.row).toMatchObject({ channel: 'RED', rules: ['HS_HIGH_RISK'], position: 7 });
    expect(chTime(undefined)).toBe('1970-01-01 00:00:00.000');
    expect(chTime(new Date('2026-11-27T03:04:05.678Z'))).toBe('1795748645.678');
    expect(chTime(new Date('2026-11-27T03:04:05.008Z'))).toBe('1795748645.008');
    expect(chTime(new Date('2026-11-27T03:04:05.070Z'))).toBe('1795748645.070');
    expect(chTime(new Date('2026-11-27T03:04:05Z'))).toBe('1795748645.000');
    expect(chTime(new Date('1969-12-31T23:59:59.500Z'))).toBe('1969-12-31 23:59:59.500');
    expect(chTime(new Date('2001-09-09T01:46:39.999Z'))).toBe('2001-09-09 01:46:39.999');
    expect(chTime(new Date('2001-09-09T01:46:40.000Z'))).toBe('1000000000.000');
    expect(chTime(new Date(Date.UTC(12_000, 0, 1)))).toBe('+012000-01-01 00:00:00.000');
  });

  it('throws on bytes that are not a record, so the sink can dead-letter them', () => {
    const customs = MAPPINGS.find((m) => m.table === 'declarations');
    expect(() => customs?.toRows(new Uint8Array([0xff, 0xff, 0xff]), 1)).toThrow();
  });
});
