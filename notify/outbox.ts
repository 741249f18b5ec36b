// A message in the outbox (PS_WEBHOOK_OUTBOX, subject per webhook): one container event or one decision that
// matched one webhook's filter when it was fanned out. Whether it is delivered is decided again when it is
// delivered, on the state then.
import { Decision } from '../proto/gen/portstream/v1/customs.js';
import { Event } from '../proto/gen/portstream/v1/events.js';

export type OutboxItem =
  | {
      kind: 'event';
      /** Source-qualified event id ("<source>/<event id>"), as the processor records applied events. */
      key: string;
      containerNumber: string;
      /** Base64 of the Event protobuf. */
      data: string;
    }
  | {
      kind: 'decision';
      /** "<declaration number>:<position>" (the decision's sequence in PS_DECISIONS). */
      key: string;
      declarationNumber: string;
      /** Base64 of the Decision protobuf, position set. */
      data: string;
    };

const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeOutboxItem(item: OutboxItem): Uint8Array {
  return enc.encode(JSON.stringify(item));
}

export function decodeOutboxItem(bytes: Uint8Array): OutboxItem {
  const v = JSON.parse(dec.decode(bytes)) as Partial<OutboxItem> & { kind?: unknown };
  if (
    (v.kind === 'event' && typeof v.containerNumber === 'string') ||
    (v.kind === 'decision' && typeof v.declarationNumber === 'string')
  ) {
    if (typeof v.key === 'string' && typeof v.data === 'string') return v as OutboxItem;
  }
  throw new Error('not an outbox item');
}

export const eventOf = (item: { data: string }): Event => Event.decode(Buffer.from(item.data, 'base64'));
export const decisionOf = (item: { data: string }): Decision =>
  Decision.decode(Buffer.from(item.data, 'base64'));
export const base64 = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64');
