// Turns JetStream messages (protobuf records) into ClickHouse rows, each with the key that identifies it
// across copies: the sourced event id (core/event-key.ts), the command id, (declaration, revision, status) for a decision. The sink
// dedupes by these keys; the column names match core/clickhouse/migrations.
import { sourcedEventId } from '../core/event-key.js';
import { STREAM_CUSTOMS, STREAM_DECISIONS, STREAM_EVENTS } from '../core/nats/topology.js';
import {
  channelToJSON,
  clearanceStatusToJSON,
  declarationTypeToJSON,
  enterprisePriorityToJSON,
  inspectionOutcomeToJSON,
  Decision,
} from '../proto/gen/portstream/v1/customs.js';
import {
  emptyIndicatorToJSON,
  equipmentEventTypeToJSON,
  eventClassifierToJSON,
  sealSourceToJSON,
  transportCallLocationToJSON,
  transportEventTypeToJSON,
  type Event,
} from '../proto/gen/portstream/v1/events.js';
import {
  declarationActionToJSON,
  DeclarationCommand,
  EventGroup,
} from '../proto/gen/portstream/v1/records.js';

export interface KeyedRow {
  key: string;
  row: Record<string, unknown>;
}

/** The `kind` under which a table's keys are recorded in sink_keys. */
export type RecordKind = 'event' | 'declaration' | 'decision';

/** How one stream's messages become rows of one table. */
export interface RecordMapping {
  stream: string;
  table: string;
  kind: RecordKind;
  /** Throws on bytes that are not a valid record (a poison message). */
  toRows(data: Uint8Array, streamSeq: number): KeyedRow[];
}

/**
 * A time as ClickHouse DateTime64 text: Unix seconds with milliseconds ("1795748645.678"). ClickHouse reads it into
 * any DateTime64 column as the same instant, and it costs a quarter of formatting the calendar text (toISOString
 * and slicing, about 1.6 us, once per event on the sink's path). Only ten-digit seconds (2001-09-09 to 2286-11-20)
 * take that form: ClickHouse reads shorter numbers as parts of a date. Other times, and the epoch for a missing
 * one, go as calendar text ("1970-01-01 00:00:00.000").
 */
export function chTime(d: Date | undefined): string {
  const ms = d === undefined ? 0 : d.getTime();
  if (ms >= 1e12 && ms < 1e13) {
    const s = Math.floor(ms / 1000);
    const f = ms - s * 1000;
    return `${s}.${f < 10 ? '00' : f < 100 ? '0' : ''}${f}`;
  }
  const iso = new Date(Number.isFinite(ms) ? ms : 0).toISOString();
  // Years 0-9999 print as "YYYY-MM-DDTHH:MM:SS.mmmZ"; others (which validation refuses) keep the generic form.
  return iso.length === 24
    ? `${iso.slice(0, 10)} ${iso.slice(11, 23)}`
    : iso.replace('T', ' ').replace('Z', '');
}

/** "EQUIPMENT_EVENT_TYPE_LOAD" -> "LOAD": the short names read better in SQL and cost less. */
function short(name: string, prefix: string): string {
  return name.startsWith(prefix) ? name.slice(prefix.length) : name;
}

/**
 * An enum's short names, computed once per value: the generated toJSON switch and the slicing cost about a
 * microsecond per field on the sink's hot path, for a handful of distinct answers.
 */
function shortNames<T extends number>(toJSON: (v: T) => string, prefix: string): (v: T) => string {
  const cache = new Map<number, string>();
  return (v) => {
    let name = cache.get(v);
    if (name === undefined) {
      name = short(toJSON(v), prefix);
      cache.set(v, name);
    }
    return name;
  };
}

const classifierName = shortNames(eventClassifierToJSON, 'EVENT_CLASSIFIER_');
const equipmentTypeName = shortNames(equipmentEventTypeToJSON, 'EQUIPMENT_EVENT_TYPE_');
const emptyName = shortNames(emptyIndicatorToJSON, 'EMPTY_INDICATOR_');
const sealSourceName = shortNames(sealSourceToJSON, 'SEAL_SOURCE_');
const transportTypeName = shortNames(transportEventTypeToJSON, 'TRANSPORT_EVENT_TYPE_');
const locationName = shortNames(transportCallLocationToJSON, 'TRANSPORT_CALL_LOCATION_');

/**
 * One row of `events`. Each kind's row is one object literal (no spread), so every row of a kind has the same
 * shape: V8 builds and JSON.stringify walks them fast, and far less garbage is made per event.
 */
export function eventRow(e: Event, receivedTime: Date | undefined, source: string, seq: number): KeyedRow {
  return eventRowAt(e, chTime(receivedTime), source, seq);
}

/** eventRow with the group's receive time already formatted (one format per group, not per event). */
function eventRowAt(e: Event, received: string, source: string, seq: number): KeyedRow {
  const p = e.payload;
  if (p?.$case === 'equipment') {
    const q = p.value;
    return {
      key: sourcedEventId(source, e.eventId),
      row: {
        event_id: e.eventId,
        event_time: chTime(e.eventTime),
        received_time: received,
        classifier: classifierName(e.classifier),
        un_locode: e.facility?.unLocode ?? '',
        terminal_code: e.facility?.terminalCode ?? '',
        source,
        dedupe_source: source,
        stream_seq: seq,
        kind: 'equipment',
        event_type: equipmentTypeName(q.type),
        container_number: q.containerNumber,
        iso_size_type: q.isoSizeType,
        empty_indicator: emptyName(q.emptyIndicator),
        seals: q.seals.map((s) => s.number),
        seal_sources: q.seals.map((s) => sealSourceName(s.source)),
        imo_number: q.vessel?.imoNumber ?? '',
        vessel_name: q.vessel?.name ?? '',
        voyage: q.vessel?.voyage ?? '',
        yard_block: q.yardPosition?.block ?? '',
        yard_bay: q.yardPosition?.bay ?? 0,
        yard_row: q.yardPosition?.row ?? 0,
        yard_tier: q.yardPosition?.tier ?? 0,
        truck_plate: q.truckPlate,
      },
    };
  }
  const t = p?.$case === 'transport' ? p.value : undefined;
  return {
    key: sourcedEventId(source, e.eventId),
    row: {
      event_id: e.eventId,
      event_time: chTime(e.eventTime),
      received_time: received,
      classifier: classifierName(e.classifier),
      un_locode: e.facility?.unLocode ?? '',
      terminal_code: e.facility?.terminalCode ?? '',
      source,
      dedupe_source: source,
      stream_seq: seq,
      kind: 'transport',
      event_type: t ? transportTypeName(t.type) : 'UNSPECIFIED',
      imo_number: t?.vessel?.imoNumber ?? '',
      vessel_name: t?.vessel?.name ?? '',
      voyage: t?.vessel?.voyage ?? '',
      transport_location: t ? locationName(t.location) : '',
      berth: t?.berth ?? '',
      manifest_container_numbers: t?.manifestContainerNumbers ?? [],
    },
  };
}

export function declarationRow(c: DeclarationCommand, seq: number): KeyedRow {
  const d = c.declaration;
  return {
    key: c.commandId,
    row: {
      command_id: c.commandId,
      action: short(declarationActionToJSON(c.action), 'DECLARATION_ACTION_'),
      received_time: chTime(c.receivedTime),
      source: c.source,
      declaration_number: d?.declarationNumber || c.declarationNumber,
      declaration_type: d ? short(declarationTypeToJSON(d.type), 'DECLARATION_TYPE_') : '',
      declarant_tax_code: d?.declarantTaxCode ?? '',
      trader_tax_code: d?.traderTaxCode ?? '',
      trader_name: d?.traderName ?? '',
      priority: d ? short(enterprisePriorityToJSON(d.priority), 'ENTERPRISE_PRIORITY_') : '',
      hs_codes: d?.goods.map((g) => g.hsCode) ?? [],
      goods_items: d?.goods.length ?? 0,
      container_numbers: d?.containerNumbers ?? [],
      imo_number: d?.vessel?.imoNumber ?? '',
      voyage: d?.vessel?.voyage ?? '',
      port_of_loading: d?.portOfLoading ?? '',
      port_of_discharge: d?.portOfDischarge ?? '',
      customs_office: d?.customsOffice ?? '',
      declared_time: chTime(d?.declaredTime),
      reason: c.reason,
      outcome: short(inspectionOutcomeToJSON(c.outcome), 'INSPECTION_OUTCOME_'),
      inspector: c.inspector,
      stream_seq: seq,
    },
  };
}

export function decisionRow(d: Decision, seq: number): KeyedRow {
  const status = short(clearanceStatusToJSON(d.status), 'CLEARANCE_STATUS_');
  return {
    key: `${d.declarationNumber}/${d.revision}/${status}`,
    row: {
      declaration_number: d.declarationNumber,
      revision: d.revision,
      channel: short(channelToJSON(d.channel), 'CHANNEL_'),
      status,
      rules: d.rules.map((r) => r.code),
      rule_set_version: d.ruleSetVersion,
      decided_time: chTime(d.decidedTime),
      decision_latency_us: d.decisionLatencyUs,
      // The stream sequence is the position (the processor may not have stamped it in the payload).
      position: d.position || seq,
      note: d.note,
    },
  };
}

export const MAPPINGS: readonly RecordMapping[] = [
  {
    stream: STREAM_EVENTS,
    table: 'events',
    kind: 'event',
    toRows: (data, seq) => {
      const g = EventGroup.decode(data);
      const received = chTime(g.receivedTime);
      return g.events.map((e) => eventRowAt(e, received, g.source, seq));
    },
  },
  {
    stream: STREAM_CUSTOMS,
    table: 'declarations',
    kind: 'declaration',
    toRows: (data, seq) => [declarationRow(DeclarationCommand.decode(data), seq)],
  },
  {
    stream: STREAM_DECISIONS,
    table: 'decisions',
    kind: 'decision',
    toRows: (data, seq) => [decisionRow(Decision.decode(data), seq)],
  },
];
