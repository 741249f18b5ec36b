// Turns JetStream messages (protobuf records) into ClickHouse rows, each with the key that identifies it
// across copies: the event id, the command id, (declaration, revision, status) for a decision. The sink
// dedupes by these keys; the column names match core/clickhouse/migrations.
import { STREAM_CUSTOMS, STREAM_DECISIONS, STREAM_EVENTS } from '../../core/nats/topology.js';
import {
  channelToJSON,
  clearanceStatusToJSON,
  declarationTypeToJSON,
  enterprisePriorityToJSON,
  inspectionOutcomeToJSON,
  Decision,
} from '../../proto/gen/portstream/v1/customs.js';
import {
  emptyIndicatorToJSON,
  equipmentEventTypeToJSON,
  eventClassifierToJSON,
  transportCallLocationToJSON,
  transportEventTypeToJSON,
  type Event,
} from '../../proto/gen/portstream/v1/events.js';
import {
  declarationActionToJSON,
  DeclarationCommand,
  EventGroup,
} from '../../proto/gen/portstream/v1/records.js';

export interface KeyedRow {
  key: string;
  row: Record<string, unknown>;
}

/** How one stream's messages become rows of one table. */
export interface RecordMapping {
  stream: string;
  table: string;
  /** The `kind` under which keys are recorded in sink_keys. */
  kind: string;
  /** Throws on bytes that are not a valid record (a poison message). */
  toRows(data: Uint8Array, streamSeq: number): KeyedRow[];
}

/** ClickHouse DateTime64 text in UTC; the epoch for a missing time. */
export function chTime(d: Date | undefined): string {
  return (d ?? new Date(0)).toISOString().replace('T', ' ').replace('Z', '');
}

/** "EQUIPMENT_EVENT_TYPE_LOAD" -> "LOAD": the short names read better in SQL and cost less. */
function short(name: string, prefix: string): string {
  return name.startsWith(prefix) ? name.slice(prefix.length) : name;
}

export function eventRow(e: Event, receivedTime: Date | undefined, source: string, seq: number): KeyedRow {
  const base = {
    event_id: e.eventId,
    event_time: chTime(e.eventTime),
    received_time: chTime(receivedTime),
    classifier: short(eventClassifierToJSON(e.classifier), 'EVENT_CLASSIFIER_'),
    un_locode: e.facility?.unLocode ?? '',
    terminal_code: e.facility?.terminalCode ?? '',
    source,
    stream_seq: seq,
  };
  const p = e.payload;
  if (p?.$case === 'equipment') {
    const q = p.value;
    return {
      key: e.eventId,
      row: {
        ...base,
        kind: 'equipment',
        event_type: short(equipmentEventTypeToJSON(q.type), 'EQUIPMENT_EVENT_TYPE_'),
        container_number: q.containerNumber,
        iso_size_type: q.isoSizeType,
        empty_indicator: short(emptyIndicatorToJSON(q.emptyIndicator), 'EMPTY_INDICATOR_'),
        seals: q.seals.map((s) => s.number),
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
    key: e.eventId,
    row: {
      ...base,
      kind: 'transport',
      event_type: t ? short(transportEventTypeToJSON(t.type), 'TRANSPORT_EVENT_TYPE_') : 'UNSPECIFIED',
      imo_number: t?.vessel?.imoNumber ?? '',
      vessel_name: t?.vessel?.name ?? '',
      voyage: t?.vessel?.voyage ?? '',
      transport_location: t ? short(transportCallLocationToJSON(t.location), 'TRANSPORT_CALL_LOCATION_') : '',
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
      return g.events.map((e) => eventRow(e, g.receivedTime, g.source, seq));
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
