// The one dead-letter record format. A message a consumer gives up on is recorded on PS_DEADLETTERS (subject
// ps.deadletters.<stream>) as JSON saying where it came from, why, and how often it was delivered, with the
// original bytes, for an operator to list and replay; then the message is terminated. Every consumer writes
// it through deadLetter() below (the processor's state consumer and decider, the ClickHouse sink, the notify
// service's fan-out and webhook durables).
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { subjects } from '../nats/topology.js';

/** Why the consumer gave up: the failure can never succeed, or it was retried until max_deliver. */
export type DeadLetterCause = 'permanent' | 'exhausted';

export interface DeadLetterRecord {
  /** The stream and durable consumer the message was read from. */
  stream: string;
  consumer: string;
  /** Its sequence in that stream (the message itself stays there until the stream's limits remove it). */
  streamSeq: number;
  subject: string;
  reason: string;
  /** Absent in records written before this field existed (read them as 'permanent'). */
  cause?: DeadLetterCause;
  /** Deliveries so far, this one included. */
  deliveries?: number;
  /** When it was dead-lettered, ISO 8601. */
  time: string;
  /** The original message, base64. */
  data: string;
}

/** Longest reason kept: a record is for people, and an error message can carry a whole payload. */
const MAX_REASON = 1000;

export function deadLetterRecord(
  stream: string,
  msg: JsMsg,
  reason: string,
  cause: DeadLetterCause = 'permanent',
): DeadLetterRecord {
  return {
    stream,
    consumer: msg.info.consumer,
    streamSeq: msg.seq,
    subject: msg.subject,
    reason: reason.slice(0, MAX_REASON),
    cause,
    deliveries: msg.info.deliveryCount,
    time: new Date().toISOString(),
    data: Buffer.from(msg.data).toString('base64'),
  };
}

/**
 * Publishes the record and resolves once PS_DEADLETTERS stored it; the caller terminates the message only
 * then. The message id makes a repeat (a redelivered message dead-lettered again) one record per consumer.
 */
export async function deadLetter(
  js: JetStreamClient,
  stream: string,
  msg: JsMsg,
  reason: string,
  cause: DeadLetterCause = 'permanent',
): Promise<void> {
  const record = deadLetterRecord(stream, msg, reason, cause);
  await js.publish(subjects.deadLetter(stream), JSON.stringify(record), {
    msgID: `${stream}:${record.consumer}:${msg.seq}`,
  });
}

/** Reads a record back (the CLI, tests); throws on anything that is not one. */
export function parseDeadLetter(data: Uint8Array): DeadLetterRecord {
  const r = JSON.parse(new TextDecoder().decode(data)) as Partial<DeadLetterRecord>;
  if (typeof r.stream !== 'string' || typeof r.streamSeq !== 'number' || typeof r.reason !== 'string') {
    throw new Error('not a dead-letter record');
  }
  return r as DeadLetterRecord;
}
