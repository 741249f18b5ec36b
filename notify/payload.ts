// What a delivery says, per payload format, built from what the subscriber may see: the event as accepted (the
// tracking API's history shows the same) with the subscriber's own bills of the container, or the decision as
// decisionFor() shows it to that party (a firm never reads rule codes, reasons or notes).
import { createHash } from 'node:crypto';
import type { Decision } from '../proto/gen/portstream/v1/customs.js';
import { Decision as DecisionMessage } from '../proto/gen/portstream/v1/customs.js';
import type { EquipmentEventType } from '../proto/gen/portstream/v1/events.js';
import {
  EmptyIndicator,
  EventClassifier,
  Event as EventMessage,
  equipmentEventTypeToJSON,
  type EquipmentEvent,
  type Event,
} from '../proto/gen/portstream/v1/events.js';
import { WebhookPayloadFormat } from '../proto/gen/portstream/v1/notify.js';

export const EVENT_TYPE = 'container.event';
export const DECISION_TYPE = 'customs.decision';

/**
 * The webhook-id of a delivery: the same for every attempt and every redelivery of one message to one webhook
 * (derived from the webhook and the source-qualified event id, or the decision's position), so a subscriber
 * deduplicates on it.
 */
export function messageId(webhookId: string, what: string): string {
  return `msg_${createHash('sha256').update(`${webhookId}\n${what}`).digest('base64url').slice(0, 32)}`;
}

/** A UUID (v4 layout) derived from the message id: DCSA event ids are UUIDs, and stable across redeliveries. */
function uuidOf(id: string): string {
  const h = createHash('sha256').update(id).digest('hex');
  const variant = ((parseInt(h[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const CLASSIFIER: Record<EventClassifier, string> = {
  [EventClassifier.UNSPECIFIED]: 'ACT',
  [EventClassifier.PLANNED]: 'PLN',
  [EventClassifier.ESTIMATED]: 'EST',
  [EventClassifier.ACTUAL]: 'ACT',
  [EventClassifier.UNRECOGNIZED]: 'ACT',
};

/** "DISC" from EQUIPMENT_EVENT_TYPE_DISC: DCSA's equipment event type codes are the same four letters. */
function dcsaEquipmentCode(t: EquipmentEventType): string {
  return equipmentEventTypeToJSON(t).replace(/^EQUIPMENT_EVENT_TYPE_/, '');
}

function dcsaEvent(id: string, ev: Event, eq: EquipmentEvent, bills: readonly string[], now: Date): unknown {
  const at = ev.facility;
  return {
    eventID: uuidOf(id),
    eventDateTime: ev.eventTime?.toISOString(),
    eventUpdatedDateTime: now.toISOString(),
    eventClassification: {
      eventTypeCode: 'EQUIPMENT',
      eventClassifierCode: CLASSIFIER[ev.classifier],
      equipmentEventTypeCode: dcsaEquipmentCode(eq.type),
    },
    eventLocation: at
      ? {
          UNLocationCode: at.unLocode,
          facility: { facilityCode: at.terminalCode, facilityCodeListProvider: 'SMDG' },
        }
      : undefined,
    relatedDocumentReferences: bills.map((b) => ({ type: 'BOL', reference: b })),
    equipmentDetails: {
      equipmentReference: eq.containerNumber,
      ISOEquipmentCode: eq.isoSizeType || undefined,
      emptyIndicatorCode:
        eq.emptyIndicator === EmptyIndicator.EMPTY
          ? 'EMPTY'
          : eq.emptyIndicator === EmptyIndicator.LADEN
            ? 'LADEN'
            : undefined,
      seals: eq.seals.map((s) => ({ number: s.number })),
    },
    transportDetails: eq.vessel
      ? {
          vesselTransport: { vesselIMONumber: eq.vessel.imoNumber, vesselName: eq.vessel.name || undefined },
          voyageNumber: eq.vessel.voyage,
        }
      : undefined,
  };
}

/** The body of a container event delivery. */
export function eventBody(
  format: WebhookPayloadFormat,
  id: string,
  ev: Event,
  bills: readonly string[],
  now: Date,
): string {
  const eq = ev.payload?.$case === 'equipment' ? ev.payload.value : undefined;
  if (format === WebhookPayloadFormat.DCSA_TNT_3 && eq) {
    return JSON.stringify({ events: [dcsaEvent(id, ev, eq, bills, now)] });
  }
  return JSON.stringify({
    type: EVENT_TYPE,
    timestamp: now.toISOString(),
    data: { event: EventMessage.toJSON(ev), billNumbers: bills },
  });
}

/** The body of a decision delivery (the decision as the subscriber may read it). */
export function decisionBody(d: Decision, now: Date): string {
  return JSON.stringify({
    type: DECISION_TYPE,
    timestamp: now.toISOString(),
    data: DecisionMessage.toJSON(d),
  });
}
