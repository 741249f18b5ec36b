// Creating a processor's durable pull consumer, or bringing an existing one to the settings this version
// runs with (ack_wait, max_deliver, max_ack_pending can change in place; the rest is fixed at creation).
import { JetStreamApiError, type ConsumerConfig, type JetStreamManager } from '@nats-io/jetstream';

export async function ensureDurable(
  jsm: JetStreamManager,
  stream: string,
  config: Partial<ConsumerConfig> & { durable_name: string },
): Promise<void> {
  try {
    await jsm.consumers.add(stream, config);
  } catch (err) {
    // Exists with other settings (an older version, or a changed PROCESSOR_ACK_WAIT_MS).
    if (!(err instanceof JetStreamApiError)) throw err;
    await jsm.consumers.update(stream, config.durable_name, {
      ...(config.ack_wait === undefined ? {} : { ack_wait: config.ack_wait }),
      ...(config.max_deliver === undefined ? {} : { max_deliver: config.max_deliver }),
      ...(config.max_ack_pending === undefined ? {} : { max_ack_pending: config.max_ack_pending }),
    });
  }
}
