// The fan-out: durable consumers on the equipment events (PS_EVENTS) and the decisions (PS_DECISIONS) turn each
// message into one outbox message per webhook it matches, then ack. max_ack_pending 1 keeps the stream's order
// however many notify processes run, so each webhook's outbox subject holds a container's events in the order
// they were accepted. Outbox publishes carry a Nats-Msg-Id derived from webhook and event, so a message fanned
// out again after a crash (before its ack) is dropped by the stream within the duplicate window; beyond it the
// subscriber sees the same webhook-id again (at least once).
// Disabled webhooks are fanned out to as well: what happens while one is disabled waits in the outbox (up to
// NOTIFY_OUTBOX_MAX_AGE_HOURS) and is delivered once its owner re-enables it.
// Matching here is the filter plus a coarse test of whether the owner could ever see the container (its
// terminal, its bills on the container's shipments): what is finally delivered is decided at delivery.
import {
  AckPolicy,
  DeliverPolicy,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/nats-core';
import type { Counter } from 'prom-client';
import { containerView } from '../core/access/containers.js';
import {
  actsForTaxCode,
  facilityKey,
  maySeeDeclaration,
  Role,
  type Principal,
} from '../core/auth/principal.js';
import { sourcedEventId } from '../core/event-key.js';
import type { Logger } from '../core/logger.js';
import { notifySubjects } from '../core/nats/notify.js';
import { STREAM_DECISIONS, STREAM_EVENTS, subjects } from '../core/nats/topology.js';
import type { ContainerRecord } from '../core/state/container.js';
import { Decision } from '../proto/gen/portstream/v1/customs.js';
import { Event } from '../proto/gen/portstream/v1/events.js';
import { EventGroup } from '../proto/gen/portstream/v1/records.js';
import { base64, encodeOutboxItem, type OutboxItem } from './outbox.js';
import type { StateReader } from './state.js';
import { eventTypesOf, type WebhookRecord, type WebhookStore } from './store.js';

export const FANOUT_EVENTS_CONSUMER = 'notify-events';
export const FANOUT_DECISIONS_CONSUMER = 'notify-decisions';

export interface PrincipalDirectory {
  /** The party with this token name as the tokens file says now; undefined: gone. */
  principalNamed(name: string): Principal | undefined;
}

export interface FanoutDeps {
  js: JetStreamClient;
  jsm: JetStreamManager;
  store: WebhookStore;
  state: StateReader;
  directory: PrincipalDirectory;
  log: Logger;
  ackWaitMs: number;
  fannedOut: Counter;
}

const declarationParties = (d: { declarantTaxCode: string; traderTaxCode: string }): string[] =>
  [d.declarantTaxCode, d.traderTaxCode].filter((t) => t !== '');

/** Whether the owner could see this container's event at all (the exact decision is made at delivery). */
async function mayConcern(
  p: Principal,
  rec: ContainerRecord | undefined,
  ev: Event,
  state: StateReader,
): Promise<boolean> {
  switch (p.role) {
    case Role.Admin:
    case Role.Customs:
      return true;
    case Role.Carrier:
      return false;
    case Role.Operator: {
      const f = ev.facility;
      return (
        f !== undefined &&
        (p.terminals.has(facilityKey(f.unLocode, f.terminalCode)) || p.terminals.has(`${f.unLocode}:*`))
      );
    }
    case Role.Firm:
      if (!rec) return false;
      // A shipment carrying one of its bills (started or not: the event may be the one that starts it).
      if (
        rec.bookkeeping.shipments.some((s) =>
          s.bills.some((b) => b.partyTaxCodes.some((t) => actsForTaxCode(p, t))),
        )
      ) {
        return true;
      }
      return (await containerView(p, rec, state)) !== undefined;
  }
}

function matchesEvent(
  w: WebhookRecord,
  ev: Event,
  containerNumber: string,
  rec: ContainerRecord | undefined,
): boolean {
  if (!w.filter.containerEvents) return false;
  const eq = ev.payload?.$case === 'equipment' ? ev.payload.value : undefined;
  if (!eq) return false;
  const types = eventTypesOf(w);
  if (types.size > 0 && !types.has(eq.type)) return false;
  if (w.filter.containerNumbers.length > 0 && !w.filter.containerNumbers.includes(containerNumber))
    return false;
  if (w.filter.billNumbers.length > 0) {
    const bills = new Set(rec?.bookkeeping.shipments.flatMap((s) => s.bills.map((b) => b.billNumber)) ?? []);
    if (!w.filter.billNumbers.some((b) => bills.has(b))) return false;
  }
  return true;
}

export class Fanout {
  private readonly running = new Set<ConsumerMessages>();
  private stopping = false;
  private readonly loops: Promise<void>[] = [];

  constructor(private readonly deps: FanoutDeps) {}

  async start(): Promise<void> {
    const { jsm } = this.deps;
    const common = {
      ack_policy: AckPolicy.Explicit,
      ack_wait: nanos(this.deps.ackWaitMs),
      max_ack_pending: 1,
      max_deliver: -1,
      // New webhooks hear of what happens from now on, not of a week of history.
      deliver_policy: DeliverPolicy.New,
    };
    await ensureConsumer(jsm, STREAM_EVENTS, {
      ...common,
      durable_name: FANOUT_EVENTS_CONSUMER,
      filter_subject: subjects.equipmentEvents,
    });
    await ensureConsumer(jsm, STREAM_DECISIONS, {
      ...common,
      durable_name: FANOUT_DECISIONS_CONSUMER,
      filter_subject: subjects.allDecisions,
    });
    for (const [stream, name, handle] of [
      [STREAM_EVENTS, FANOUT_EVENTS_CONSUMER, (m: JsMsg) => this.events(m)],
      [STREAM_DECISIONS, FANOUT_DECISIONS_CONSUMER, (m: JsMsg) => this.decisions(m)],
    ] as const) {
      this.loops.push(this.loop(stream, name, handle));
    }
  }

  private isStopping(): boolean {
    return this.stopping;
  }

  /** Consumes until stop(); a consume that ends otherwise (consumer gone, connection closed) is taken up again. */
  private async loop(stream: string, name: string, handle: (m: JsMsg) => Promise<void>): Promise<void> {
    while (!this.isStopping()) {
      let messages: ConsumerMessages;
      try {
        messages = await (await this.deps.js.consumers.get(stream, name)).consume({ max_messages: 1 });
      } catch (err) {
        this.deps.log.error({ err, stream, consumer: name }, 'fan-out consumer unavailable; trying again');
        await new Promise((r) => setTimeout(r, 1000));
        continue;
      }
      this.running.add(messages);
      for await (const m of messages) {
        try {
          await handle(m);
          m.ack();
        } catch (err) {
          // NATS or the state store did not answer: the same message again shortly (nothing after it meanwhile).
          this.deps.log.warn({ err, subject: m.subject }, 'fan-out failed; retrying');
          m.nak(1000);
        }
      }
      this.running.delete(messages);
      if (!this.isStopping()) {
        this.deps.log.error({ stream, consumer: name }, 'fan-out consumer ended; starting it again');
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const m of this.running) m.stop();
    await Promise.all(this.loops);
  }

  private owners(filter: (w: WebhookRecord) => boolean): { w: WebhookRecord; p: Principal }[] {
    const out: { w: WebhookRecord; p: Principal }[] = [];
    for (const w of this.deps.store.all()) {
      if (!filter(w)) continue;
      const p = this.deps.directory.principalNamed(w.owner);
      if (p) out.push({ w, p });
    }
    return out;
  }

  private async publish(webhookId: string, item: OutboxItem): Promise<void> {
    await this.deps.js.publish(notifySubjects.outbox(webhookId), encodeOutboxItem(item), {
      msgID: `${webhookId}:${item.key}`,
    });
    this.deps.fannedOut.inc({ kind: item.kind });
  }

  private async events(m: JsMsg): Promise<void> {
    const hooks = this.owners((w) => w.filter.containerEvents);
    if (hooks.length === 0) return;
    const group = EventGroup.decode(m.data);
    // Every container's record at once (pipelined point reads), then the matching in the group's order.
    const numbers = [
      ...new Set(
        group.events.flatMap((e) =>
          e.payload?.$case === 'equipment' ? [e.payload.value.containerNumber] : [],
        ),
      ),
    ];
    const records = new Map(
      await Promise.all(numbers.map(async (n) => [n, await this.deps.state.container(n)] as const)),
    );
    const pending: Promise<void>[] = [];
    for (const ev of group.events) {
      if (ev.payload?.$case !== 'equipment') continue;
      const n = ev.payload.value.containerNumber;
      const rec = records.get(n);
      for (const { w, p } of hooks) {
        if (!matchesEvent(w, ev, n, rec) || !(await mayConcern(p, rec, ev, this.deps.state))) continue;
        // Publishes leave in order on one connection, so the stream stores them in this order.
        pending.push(
          this.publish(w.id, {
            kind: 'event',
            key: sourcedEventId(group.source, ev.eventId),
            containerNumber: n,
            data: base64(Event.encode(ev).finish()),
          }),
        );
      }
    }
    await Promise.all(pending);
  }

  private async decisions(m: JsMsg): Promise<void> {
    const hooks = this.owners((w) => w.filter.decisions);
    if (hooks.length === 0) return;
    const d: Decision = { ...Decision.decode(m.data), position: m.seq };
    const no = d.declarationNumber;
    const declaration = await this.deps.state.declaration(no);
    const pending: Promise<void>[] = [];
    for (const { w, p } of hooks) {
      if (w.filter.declarationNumbers.length > 0 && !w.filter.declarationNumbers.includes(no)) continue;
      // A declaration not in ps_declarations yet (its state may be recorded after its decision is published) is
      // left to the delivery, which waits for it.
      if (p.role === Role.Firm && declaration && !maySeeDeclaration(p, declarationParties(declaration)))
        continue;
      if (p.role !== Role.Firm && !maySeeDeclaration(p, [])) continue;
      pending.push(
        this.publish(w.id, {
          kind: 'decision',
          key: `${no}:${m.seq}`,
          declarationNumber: no,
          data: base64(Decision.encode(d).finish()),
        }),
      );
    }
    await Promise.all(pending);
  }
}

async function ensureConsumer(
  jsm: JetStreamManager,
  stream: string,
  config: Parameters<JetStreamManager['consumers']['add']>[1] & { durable_name: string },
): Promise<void> {
  try {
    await jsm.consumers.info(stream, config.durable_name);
  } catch {
    await jsm.consumers.add(stream, config);
  }
}
