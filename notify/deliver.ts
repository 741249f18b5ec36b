// Delivery: one worker per active webhook runs its own durable consumer on its outbox subject
// (notify-<webhook id>, core/consumer/durable.ts webhookDurable) on the consumer runtime (core/consumer),
// one message at a time. max_ack_pending 1: the server hands out the next message only once this one is
// acked, so deliveries stay in order per webhook, and so per container, across retries, restarts and several
// notify processes. A failing endpoint holds back only its own webhook.
//
// Each message is decided at delivery on the state then: the owner's current rights (tokens file), the
// container's record in ps_containers (after the processor applied the event: the record lists the applied
// event ids; the service waits a little for it) and the tracking API's visibility rules (core/access): an
// event outside what the owner may see of the container (another party's shipment, another terminal) is
// withheld, acked without a trace in the delivery log. A decision goes only to its declaration's parties (and
// customs, admin), without rule codes for a firm (decisionFor).
//
// Outcomes, as the runtime settles them: a 2xx acks; anything else is logged and thrown as a retryable
// ConsumerError, nakked with the webhook's backoff (NOTIFY_RETRY_MIN_MS doubling to NOTIFY_RETRY_MAX_MS, the
// runtime's retryDelayMs option); once the webhook has failed for NOTIFY_DISABLE_AFTER_MS without a success it
// is disabled and its worker stopped, the message nakked to stay first in line for when its owner re-enables
// it. The durable has no delivery limit (retries are bounded by time, not count); an outbox message that
// cannot be decoded is dead-lettered (PS_DEADLETTERS) by the runtime. The webhook-id header is derived from
// webhook and event, so every attempt of one message carries the same.
import type { JetStreamClient, JetStreamManager, JsMsg } from '@nats-io/jetstream';
import type { Counter } from 'prom-client';
import { containerView, declarationParties, inView } from '../core/access/containers.js';
import { maySeeDeclaration, type Principal } from '../core/auth/principal.js';
import {
  ConsumerError,
  ensureDurable,
  startConsumer,
  webhookConsumerName,
  webhookDurable,
  type BatchContext,
  type ConsumerHandle,
  type ConsumerMetrics,
} from '../core/consumer/index.js';
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

export const deliveryConsumerName = webhookConsumerName;

/**
 * How many times a message waits (APPLY_WAIT_MS each) for the processor to apply its event (or record its
 * decision's declaration) before it is decided on the state as it is.
 */
const APPLY_WAIT_ATTEMPTS = 40;
const APPLY_WAIT_MS = 250;
/** Pause before a worker that could not start (NATS unreachable) is started again while its webhook is active. */
const WORKER_RESTART_MS = 1000;
/** Nak delay of a message whose webhook is no longer active, while its worker is being stopped. */
const PAUSED_RETRY_MS = 1000;

/** The webhook's backoff: NOTIFY_RETRY_MIN_MS on the first delivery, doubling up to NOTIFY_RETRY_MAX_MS. */
export function webhookRetryDelayMs(
  settings: Pick<DeliverySettings, 'retryMinMs' | 'retryMaxMs'>,
  deliveryCount: number,
): number {
  const n = Math.max(1, deliveryCount);
  return Math.min(settings.retryMaxMs, settings.retryMinMs * 2 ** Math.min(n - 1, 30));
}

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
  consumerMetrics: ConsumerMetrics;
}

/** What to send, or undefined when the owner may not see it now (withheld). */
type Prepared = { body: string; type: string; containerNumber: string; declarationNumber: string } | 'wait';

class Worker {
  /** The worker's consumer once started, undefined if it could not start. */
  readonly started: Promise<ConsumerHandle | undefined>;
  /** Set once this worker disabled its webhook: what it still holds goes back unsent. */
  private paused = false;

  constructor(
    private readonly deps: DeliveryDeps,
    private readonly id: string,
    /** The stop of the webhook's previous worker, if one is still stopping. */
    after: Promise<void> | undefined,
  ) {
    this.started = (after ?? Promise.resolve())
      .then(() => this.start())
      .catch((err: unknown) => {
        deps.logger.error({ err: errorMessage(err), webhook: id }, 'delivery worker failed to start');
        return undefined;
      });
  }

  private async start(): Promise<ConsumerHandle> {
    const { deps } = this;
    const spec = webhookDurable(this.id, deps.settings.requestTimeoutMs);
    // Another notify process may create it at the same moment: the same config, so the add succeeds for both.
    await ensureDurable(deps.jsm, spec);
    return startConsumer<OutboxItem>({
      js: deps.js,
      spec,
      log: deps.logger.child({ webhook: this.id }),
      metrics: deps.consumerMetrics,
      decode: (m) => decodeOutboxItem(m.data),
      maxMessages: 1,
      maxHeld: 1,
      retryDelayMs: (n) => webhookRetryDelayMs(deps.settings, n),
      handle: async ([item], ctx) => {
        if (item) await this.handle(item.msg, item.value, ctx);
      },
    });
  }

  /** Stops pulling; the delivery in hand finishes, one not begun goes back first in line. */
  async stop(): Promise<void> {
    const c = await this.started;
    await c?.stop().catch((err: unknown) => {
      this.deps.logger.warn({ err: errorMessage(err), webhook: this.id }, 'delivery worker stop failed');
    });
  }

  private async handle(m: JsMsg, item: OutboxItem, ctx: BatchContext): Promise<void> {
    const rec = this.deps.store.cached(this.id);
    if (ctx.stopping) throw ConsumerError.retryable('delivery worker stopping', undefined, 0);
    if (this.paused || !rec || rec.state !== 'ACTIVE') {
      // Deleted or disabled meanwhile (its worker is being stopped): leave it first in line.
      throw ConsumerError.retryable('webhook not active', undefined, PAUSED_RETRY_MS);
    }
    const p = this.deps.directory.principalNamed(rec.owner);
    const prepared = p ? await this.prepare(p, rec, item, m.info.deliveryCount) : undefined;
    if (prepared === 'wait') {
      throw ConsumerError.retryable('not yet applied by the processor', undefined, APPLY_WAIT_MS);
    }
    if (!prepared) {
      this.deps.metrics.withheld.inc();
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
      // Delivered: the runtime acks on return, so nothing after this may throw (it would be sent again).
      if (rec.failingSince !== undefined) {
        await this.deps.store
          .update(rec.id, (r) => {
            if (r.failingSince === undefined) return undefined;
            delete r.failingSince;
            return r;
          })
          .catch((err: unknown) => {
            this.deps.logger.warn({ err, webhook: rec.id }, 'clearing the failing spell failed');
          });
      }
      return;
    }
    const since = rec.failingSince === undefined ? now.getTime() : Date.parse(rec.failingSince);
    if (now.getTime() - since >= settings.disableAfterMs) {
      await this.deps.store.update(rec.id, (r) => {
        r.state = 'DISABLED';
        r.disabledReason = `deliveries failed for ${Math.round((now.getTime() - since) / 1000)} s (last: ${result.error})`;
        return r;
      });
      // The store's watch stops this worker; until then nothing more is sent.
      this.paused = true;
      this.deps.logger.warn({ webhook: rec.id, owner: rec.owner }, 'webhook disabled after failing');
      throw ConsumerError.retryable(`webhook disabled (last: ${result.error})`, undefined, PAUSED_RETRY_MS);
    }
    if (rec.failingSince === undefined) {
      await this.deps.store.update(rec.id, (r) => {
        if (r.failingSince !== undefined) return undefined;
        r.failingSince = now.toISOString();
        return r;
      });
    }
    // Nakked with the webhook's backoff (retryDelayMs above).
    throw ConsumerError.retryable(`delivery failed: ${result.error}`);
  }
}

/** Runs a worker for every active webhook, following the store as webhooks come, go and change state. */
export class Deliveries {
  private readonly workers = new Map<string, Worker>();
  /** Workers being stopped, by webhook: a new worker for the same webhook starts once its predecessor stopped. */
  private readonly stopping = new Map<string, Promise<void>>();
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
      if (!w) this.spawn(id);
    } else if (w) {
      void this.retire(id, w);
    }
  }

  private spawn(id: string): void {
    const worker = new Worker(this.deps, id, this.stopping.get(id));
    this.workers.set(id, worker);
    void worker.started.then((handle) => {
      if (handle) return;
      // It could not start (NATS unreachable): again after a pause while its webhook is active.
      if (this.workers.get(id) === worker) this.workers.delete(id);
      setTimeout(() => {
        const now = this.deps.store.cached(id);
        if (!this.stopped && now?.state === 'ACTIVE') this.sync(id, now);
      }, WORKER_RESTART_MS).unref();
    });
  }

  /** Stops the worker; never rejects (a failed stop is logged by the worker). */
  private retire(id: string, w: Worker): Promise<void> {
    this.workers.delete(id);
    const done: Promise<void> = w.stop().finally(() => {
      if (this.stopping.get(id) === done) this.stopping.delete(id);
    });
    this.stopping.set(id, done);
    return done;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const [id, w] of [...this.workers]) void this.retire(id, w);
    await Promise.all([...this.stopping.values()]);
  }

  /** Deletes a deleted webhook's consumer and what waits in its outbox subject. */
  async forget(webhookId: string): Promise<void> {
    const w = this.workers.get(webhookId);
    if (w) void this.retire(webhookId, w);
    await this.stopping.get(webhookId);
    await this.deps.jsm.consumers
      .delete(STREAM_WEBHOOK_OUTBOX, deliveryConsumerName(webhookId))
      .catch(() => false);
    await this.deps.jsm.streams.purge(STREAM_WEBHOOK_OUTBOX, { filter: notifySubjects.outbox(webhookId) });
  }
}
