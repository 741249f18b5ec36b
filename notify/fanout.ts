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
// Both durables run on the consumer runtime (core/consumer), one message at a time: a failure (NATS, the state
// store) naks the message with the runtime's backoff and nothing after it is fanned out meanwhile; a message
// that cannot be decoded is dead-lettered (PS_DEADLETTERS) and the fan-out goes on.
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { Counter } from 'prom-client';
import { containerView } from '../core/access/containers.js';
import {
  actsForTaxCode,
  facilityKey,
  maySeeDeclaration,
  Role,
  type Principal,
} from '../core/auth/principal.js';
import {
  ensureDurable,
  NOTIFY_DECISIONS_CONSUMER,
  NOTIFY_EVENTS_CONSUMER,
  notifyFanoutDurables,
  startConsumer,
  type ConsumerHandle,
  type ConsumerMetrics,
} from '../core/consumer/index.js';
import { sourcedEventId } from '../core/event-key.js';
import type { Logger } from '../core/logger.js';
import { notifySubjects } from '../core/nats/notify.js';
import type { ContainerRecord } from '../core/state/container.js';
import { Decision } from '../proto/gen/portstream/v1/customs.js';
import { Event } from '../proto/gen/portstream/v1/events.js';
import { EventGroup } from '../proto/gen/portstream/v1/records.js';
import { base64, encodeOutboxItem, type OutboxItem } from './outbox.js';
import type { StateReader } from './state.js';
import { eventTypesOf, type WebhookRecord, type WebhookStore } from './store.js';

export const FANOUT_EVENTS_CONSUMER = NOTIFY_EVENTS_CONSUMER;
export const FANOUT_DECISIONS_CONSUMER = NOTIFY_DECISIONS_CONSUMER;

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
  metrics: ConsumerMetrics;
  fannedOut: Counter;
}

/** A fan-out message, decoded by the runtime (a throw there is a dead letter). */
type Source = { kind: 'events'; group: EventGroup } | { kind: 'decision'; decision: Decision };

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
  private readonly consumers: ConsumerHandle[] = [];

  constructor(private readonly deps: FanoutDeps) {}

  async start(): Promise<void> {
    const { js, jsm, log, metrics } = this.deps;
    for (const spec of notifyFanoutDurables()) {
      await ensureDurable(jsm, spec);
      const events = spec.durable === FANOUT_EVENTS_CONSUMER;
      this.consumers.push(
        await startConsumer<Source>({
          js,
          spec,
          log,
          metrics,
          decode: (m) =>
            events
              ? { kind: 'events', group: EventGroup.decode(m.data) }
              : { kind: 'decision', decision: { ...Decision.decode(m.data), position: m.seq } },
          // One at a time, as the server hands them out (max_ack_pending 1): the stream's order.
          maxMessages: 1,
          maxHeld: 1,
          // A throw (NATS or the state store did not answer) is classified by ConsumerError.from: retried,
          // nothing after it fanned out meanwhile.
          handle: async ([item]) => {
            if (item?.value.kind === 'events') await this.events(item.value.group);
            else if (item?.value.kind === 'decision') await this.decisions(item.value.decision);
          },
        }),
      );
    }
  }

  /** Stops pulling and finishes the message in hand; what is not acked is fanned out again on restart. */
  async stop(): Promise<void> {
    await Promise.all(this.consumers.splice(0).map((c) => c.stop()));
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

  private async events(group: EventGroup): Promise<void> {
    const hooks = this.owners((w) => w.filter.containerEvents);
    if (hooks.length === 0) return;
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

  private async decisions(d: Decision): Promise<void> {
    const hooks = this.owners((w) => w.filter.decisions);
    if (hooks.length === 0) return;
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
          key: `${no}:${d.position}`,
          declarationNumber: no,
          data: base64(Decision.encode(d).finish()),
        }),
      );
    }
    await Promise.all(pending);
  }
}
