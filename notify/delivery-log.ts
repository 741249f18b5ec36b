// The delivery log: every attempt, one message on ps.webhooks.log.<webhook id> in PS_WEBHOOK_LOG (the newest
// DELIVERY_LOG_PER_WEBHOOK per webhook, 30 days). Its owner reads it newest first; the page token is the stream
// sequence to continue below. Nothing about a delivery that was withheld (a container the owner may not see) is
// ever written here: the log would otherwise tell that such an event happened.
import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { invalidArgument } from '../core/errors.js';
import { DELIVERY_LOG_PER_WEBHOOK, notifySubjects, STREAM_WEBHOOK_LOG } from '../core/nats/notify.js';
import { WebhookDelivery } from '../proto/gen/portstream/v1/notify.js';

export class DeliveryLog {
  constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
  ) {}

  async record(webhookId: string, d: WebhookDelivery): Promise<void> {
    await this.js.publish(notifySubjects.log(webhookId), WebhookDelivery.encode(d).finish());
  }

  async list(
    webhookId: string,
    pageSize: number,
    pageToken: string,
  ): Promise<{ deliveries: WebhookDelivery[]; nextPageToken: string }> {
    if (pageSize < 0 || pageSize > 500) throw invalidArgument('page_size', 'must be 0-500');
    const size = pageSize === 0 ? 100 : pageSize;
    let below = Number.MAX_SAFE_INTEGER;
    if (pageToken !== '') {
      if (!/^[1-9][0-9]{0,15}$/.test(pageToken)) throw invalidArgument('page_token', 'not a page token');
      below = Number(pageToken);
    }
    const subject = notifySubjects.log(webhookId);
    const info = await this.jsm.streams.info(STREAM_WEBHOOK_LOG, { subjects_filter: subject });
    let left = Math.min(info.state.subjects?.[subject] ?? 0, DELIVERY_LOG_PER_WEBHOOK);
    const all: { seq: number; d: WebhookDelivery }[] = [];
    if (left > 0) {
      // At most DELIVERY_LOG_PER_WEBHOOK small messages: read them all and page in memory.
      const consumer = await this.js.consumers.get(STREAM_WEBHOOK_LOG, {
        filter_subjects: subject,
        deliver_policy: DeliverPolicy.All,
      });
      try {
        while (left > 0) {
          const batch = await consumer.fetch({ max_messages: Math.min(left, 256), expires: 2000 });
          let got = 0;
          for await (const m of batch) {
            all.push({ seq: m.seq, d: WebhookDelivery.decode(m.data) });
            got++;
          }
          if (got === 0) break;
          left -= got;
        }
      } finally {
        await consumer.delete().catch(() => false);
      }
    }
    const older = all.filter((e) => e.seq < below).reverse();
    const page = older.slice(0, size);
    const last = page[page.length - 1];
    return {
      deliveries: page.map((e) => e.d),
      nextPageToken: older.length > size && last ? String(last.seq) : '',
    };
  }
}
