// Delivery: one worker per active webhook pulls from its own durable consumer on its outbox subject
// (notify-wh-<id>, max_ack_pending 1: the server hands out the next message only once this one is acked, so
// deliveries stay in order per webhook, and so per container, across retries, restarts and several notify
// processes). A failing endpoint holds back only its own webhook.
//
// Each message is decided at delivery on the state then: the owner's current rights (tokens file), the
// container's record in ps_containers (after the processor applied the event: the record lists the applied
// event ids; the service waits a little for it) and the tracking API's visibility rules (core/access): an
// event outside what the owner may see of the container (another party's shipment, another terminal) is
// withheld, acked without a trace in the delivery log. A decision goes only to its declaration's parties (and
// customs, admin), without rule codes for a firm (decisionFor).
//
// Outcomes: a 2xx acks; anything else is logged and retried with exponential backoff (nak with delay); once the
// webhook has failed for NOTIFY_DISABLE_AFTER_MS without a success it is disabled and its worker stops, the
// message staying first in line for when its owner re-enables it.
import {
  AckPolicy,
  DeliverPolicy,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import type { Counter } from 'prom-client';
import { containerView, declarationParties, inView } from '../core/access/containers.js';
import { maySeeDeclaration, type Principal } from '../core/auth/principal.js';
import { decisionFor } from '../core/customs/decision-view.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { notifySubjects, STREAM_WEBHOOK_OUTBOX } from '../core/nats/notify.js';
import { DeliveryOutcome, WebhookPayloadFormat } from '../proto/gen/portstream/v1/notify.js';
import type { DeliveryLog } from './delivery-log.js';
import type { PrincipalDirectory } from './fanout.js';
import { decodeOutboxItem, decisionOf, eventOf, type OutboxItem } from './outbox.js';
import { decisionBody, DECISION_TYPE, eventBody, EVENT_TYPE, messageId } from './payload.js';
import { postWebhook } from './send.js';
import { signedHeaders } from './signing.js';
import type { StateReader } from './state.js';
import { signingSecrets, type WebhookRecord, type WebhookStore } from './store.js';
import { checkUrl, type TargetPolicy } from './targets.js';

export const deliveryConsumerName = (webhookId: string): string => `notify-${webhookId}`;

/**
 * How many times a message waits (APPLY_WAIT_MS each) for the processor to apply its event (or record its
 * decision's declaration) before it is decided on the state as it is.
 */
const APPLY_WAIT_ATTEMPTS = 40;
const APPLY_WAIT_MS = 250;
/** Pause before a worker that ended while its webhook is active (re-enabled, or failed) runs again. */
const WORKER_RESTART_MS = 1000;
/** How long a worker's pull waits for a message before it looks again (and notices a stop). */
const PULL_EXPIRES_MS = 2000;

export interface DeliverySettings {
  policy: TargetPolicy;
  requestTimeoutMs: number;
  retryMinMs: number;
  retryMaxMs: number;
  disableAfterMs: number;
}

export interface DeliveryDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  store: WebhookStore;
  state: StateReader;
  directory: PrincipalDirectory;
  log: DeliveryLog;
  logger: Logger;
  settings: DeliverySettings;
  metrics: { attempts: Counter; withheld: Counter };
}

/** What to send, or undefined when the owner may not see it now (withheld). */
type Prepared = { body: string; type: string; containerNumber: string; declarationNumber: string } | 'wait';

class Worker {
  private running = true;
  readonly done: Promise<void>;

  constructor(
    private readonly deps: DeliveryDeps,
    private readonly id: string,
  ) {
    this.done = this.run().catch((err: unknown) => {
      deps.logger.error({ err, webhook: id }, 'delivery worker failed');
    });
  }

  stop(): void {
    this.running = false;
  }

  private stopped(): boolean {
    return !this.running;
  }

  private async run(): Promise<void> {
    const { jsm, js } = this.deps;
    const name = deliveryConsumerName(this.id);
    try {
      await jsm.consumers.info(STREAM_WEBHOOK_OUTBOX, name);
    } catch {
      // Another notify process may create it at the same moment: the same config, so the add succeeds for both.
      await jsm.consumers.add(STREAM_WEBHOOK_OUTBOX, {
        durable_name: name,
        filter_subject: notifySubjects.outbox(this.id),
        ack_policy: AckPolicy.Explicit,
        deliver_policy: DeliverPolicy.All,
        max_ack_pending: 1,
        // Retries are bounded by time (the webhook is disabled), not by count.
        max_deliver: -1,
        // Above one attempt (request, log write, state update); a crashed worker's message is redelivered after it.
        ack_wait: nanos(this.deps.settings.requestTimeoutMs + 5_000),
      });
    }
    const consumer = await js.consumers.get(STREAM_WEBHOOK_OUTBOX, name);
    while (this.running) {
      const m = await consumer.next({ expires: PULL_EXPIRES_MS });
      if (!m) continue;
      // stop() may have been called while the pull waited.
      if (this.stopped()) {
        m.nak();
        return;
      }
      await this.handle(m);
    }
  }

  private async handle(m: JsMsg): Promise<void> {
    const rec = this.deps.store.cached(this.id);
    if (!rec || rec.state !== 'ACTIVE') {
      // Deleted or disabled meanwhile: leave it first in line.
      m.nak();
      this.running = false;
      return;
    }
    let item: OutboxItem;
    try {
      item = decodeOutboxItem(m.data);
    } catch {
      m.term();
      return;
    }
    const p = this.deps.directory.principalNamed(rec.owner);
    const prepared = p ? await this.prepare(p, rec, item, m.info.deliveryCount) : undefined;
    if (prepared === 'wait') {
      m.nak(APPLY_WAIT_MS);
      return;
    }
    if (!prepared) {
      this.deps.metrics.withheld.inc();
      m.ack();
      return;
    }
    await this.send(m, rec, item, prepared);
  }

  private async prepare(
    p: Principal,
    rec: WebhookRecord,
    item: OutboxItem,
    deliveryCount: number,
  ): Promise<Prepared | undefined> {
    const now = new Date();
    if (item.kind === 'event') {
      const ev = eventOf(item);
      const container = await this.deps.state.container(item.containerNumber);
      // The event may not be applied yet: the shipment it starts would not be in the record.
      const applied = container?.bookkeeping.recentEventIds.includes(item.key) ?? false;
      if (!applied && deliveryCount < APPLY_WAIT_ATTEMPTS) return 'wait';
      const view = container && (await containerView(p, container, this.deps.state));
      const f = ev.facility;
      if (!view || !inView(view, ev.eventTime ?? new Date(0), f?.unLocode ?? '', f?.terminalCode ?? '')) {
        return undefined;
      }
      const id = messageId(rec.id, item.key);
      const format =
        rec.format === 'DCSA_TNT_3' ? WebhookPayloadFormat.DCSA_TNT_3 : WebhookPayloadFormat.PORTSTREAM;
      return {
        body: eventBody(format, id, ev, view.status.billNumbers, now),
        type: EVENT_TYPE,
        containerNumber: item.containerNumber,
        declarationNumber: '',
      };
    }
    const d = decisionOf(item);
    const declaration = await this.deps.state.declaration(item.declarationNumber);
    // Its parties are read from the declaration's state, which may be recorded just after the decision.
    if (!declaration && deliveryCount < APPLY_WAIT_ATTEMPTS && !maySeeDeclaration(p, [])) return 'wait';
    if (!maySeeDeclaration(p, declaration ? declarationParties(declaration) : [])) return undefined;
    return {
      body: decisionBody(decisionFor(p, d), now),
      type: DECISION_TYPE,
      containerNumber: '',
      declarationNumber: item.declarationNumber,
    };
  }

  private async send(
    m: JsMsg,
    rec: WebhookRecord,
    item: OutboxItem,
    prepared: Exclude<Prepared, 'wait'>,
  ): Promise<void> {
    const { settings } = this.deps;
    const now = new Date();
    const id = messageId(rec.id, item.key);
    let result;
    try {
      const url = checkUrl(rec.url, settings.policy);
      result = await postWebhook(
        url,
        prepared.body,
        { ...signedHeaders(signingSecrets(rec, now), id, now, prepared.body) },
        { timeoutMs: settings.requestTimeoutMs, policy: settings.policy },
      );
    } catch (err) {
      result = { ok: false, refused: true, statusCode: 0, error: errorMessage(err), durationMs: 0 };
    }
    const outcome = result.ok
      ? DeliveryOutcome.DELIVERED
      : result.refused
        ? DeliveryOutcome.REFUSED
        : DeliveryOutcome.FAILED;
    this.deps.metrics.attempts.inc({ outcome: DeliveryOutcome[outcome].toLowerCase() });
    await this.deps.log
      .record(rec.id, {
        messageId: id,
        attempt: m.info.deliveryCount,
        time: now,
        outcome,
        statusCode: result.statusCode,
        error: result.error,
        type: prepared.type,
        containerNumber: prepared.containerNumber,
        declarationNumber: prepared.declarationNumber,
        durationMs: result.durationMs,
      })
      .catch((err: unknown) => {
        this.deps.logger.warn({ err, webhook: rec.id }, 'delivery log write failed');
      });
    if (result.ok) {
      m.ack();
      if (rec.failingSince !== undefined) {
        await this.deps.store.update(rec.id, (r) => {
          if (r.failingSince === undefined) return undefined;
          delete r.failingSince;
          return r;
        });
      }
      return;
    }
    const since = rec.failingSince === undefined ? now.getTime() : Date.parse(rec.failingSince);
    if (now.getTime() - since >= settings.disableAfterMs) {
      m.nak();
      this.running = false;
      await this.deps.store.update(rec.id, (r) => {
        r.state = 'DISABLED';
        r.disabledReason = `deliveries failed for ${Math.round((now.getTime() - since) / 1000)} s (last: ${result.error})`;
        return r;
      });
      this.deps.logger.warn({ webhook: rec.id, owner: rec.owner }, 'webhook disabled after failing');
      return;
    }
    if (rec.failingSince === undefined) {
      await this.deps.store.update(rec.id, (r) => {
        if (r.failingSince !== undefined) return undefined;
        r.failingSince = now.toISOString();
        return r;
      });
    }
    const n = Math.max(1, m.info.deliveryCount);
    m.nak(Math.min(settings.retryMaxMs, settings.retryMinMs * 2 ** Math.min(n - 1, 30)));
  }
}

/** Runs a worker for every active webhook, following the store as webhooks come, go and change state. */
export class Deliveries {
  private readonly workers = new Map<string, Worker>();
  private stopped = false;

  constructor(private readonly deps: DeliveryDeps) {}

  start(): void {
    this.deps.store.onChange((id, rec) => {
      this.sync(id, rec);
    });
    for (const rec of this.deps.store.all()) this.sync(rec.id, rec);
  }

  private sync(id: string, rec: WebhookRecord | undefined): void {
    if (this.stopped) return;
    const w = this.workers.get(id);
    if (rec?.state === 'ACTIVE') {
      if (!w) {
        const worker = new Worker(this.deps, id);
        this.workers.set(id, worker);
        // A worker that failed (NATS unreachable) is started again after a pause while its webhook is active.
        void worker.done.then(() => {
          if (this.workers.get(id) === worker) this.workers.delete(id);
          setTimeout(() => {
            const now = this.deps.store.cached(id);
            if (!this.stopped && now?.state === 'ACTIVE') this.sync(id, now);
          }, WORKER_RESTART_MS).unref();
        });
      }
    } else if (w) {
      w.stop();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const all = [...this.workers.values()];
    for (const w of all) w.stop();
    await Promise.all(all.map((w) => w.done));
  }

  /** Deletes a deleted webhook's consumer and what waits in its outbox subject. */
  async forget(webhookId: string): Promise<void> {
    const w = this.workers.get(webhookId);
    w?.stop();
    await w?.done;
    await this.deps.jsm.consumers
      .delete(STREAM_WEBHOOK_OUTBOX, deliveryConsumerName(webhookId))
      .catch(() => false);
    await this.deps.jsm.streams.purge(STREAM_WEBHOOK_OUTBOX, { filter: notifySubjects.outbox(webhookId) });
  }
}
