// Dead letters: a message a consumer can never process is terminated and recorded on PS_DEADLETTERS
// (subject ps.deadletters.<stream>) with where it came from and why, for an operator to list and replay.
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { subjects } from '../../core/nats/topology.js';

export interface DeadLetterRecord {
  stream: string;
  consumer: string;
  streamSeq: number;
  subject: string;
  reason: string;
  time: string;
  /** The original message, base64. */
  data: string;
}

export async function deadLetter(
  js: JetStreamClient,
  stream: string,
  msg: JsMsg,
  reason: string,
): Promise<void> {
  const record: DeadLetterRecord = {
    stream,
    consumer: msg.info.consumer,
    streamSeq: msg.seq,
    subject: msg.subject,
    reason,
    time: new Date().toISOString(),
    data: Buffer.from(msg.data).toString('base64'),
  };
  await js.publish(subjects.deadLetter(stream), JSON.stringify(record), { msgID: `${stream}:${msg.seq}` });
}
