// One batch from validation to per-event results: reject invalid events (never persisted), answer repeats of
// recently persisted ids as DUPLICATE, persist the rest, and only then answer ACCEPTED. Operators act on their
// own terminals only (terminal-check.ts). Ids are the caller's
// own: the cache and the in-batch check key on the source-qualified id (core/event-key.ts).
import type { Counter } from 'prom-client';
import { mayPublishFor, type Principal } from '../../core/auth/principal.js';
import { sourcedEventId } from '../../core/event-key.js';
import type { EventLimits } from '../../core/validation/event.js';
import { validateEvent } from '../../core/validation/event.js';
import type { Event } from '../../proto/gen/portstream/v1/events.js';
import { EventStatus, type EventResult } from '../../proto/gen/portstream/v1/ingest.js';
import type { EventPublisher } from './publisher.js';
import type { RecentIds } from './recent-ids.js';
import { otherTerminalRefusals, type ContainerLookup } from './terminal-check.js';

export interface BatchDeps {
  publisher: EventPublisher;
  recent: RecentIds;
  /** Container state, for refusing an operator's event for a container held at another terminal. */
  containers: ContainerLookup;
  limits: EventLimits;
  maxBatchEvents: number;
  eventsTotal: Counter<'status'>;
}

function result(eventId: string, status: EventStatus, field = '', reason = ''): EventResult {
  return { eventId, status, field, reason };
}

export async function processBatch(
  deps: BatchDeps,
  events: readonly Event[],
  principal: Principal,
): Promise<EventResult[]> {
  if (events.length > deps.maxBatchEvents) {
    const reason = `batch has ${events.length} events; at most ${deps.maxBatchEvents} are allowed`;
    deps.eventsTotal.inc({ status: 'rejected' }, events.length);
    return events.map((e) => result(e.eventId, EventStatus.REJECTED, 'events', reason));
  }
  const now = Date.now();
  const results = new Array<EventResult>(events.length);
  // Valid events the caller may publish for their facility.
  const allowed: number[] = [];
  for (let i = 0; i < events.length; i++) {
    const ev = events[i] as Event;
    const p = validateEvent(ev, now, deps.limits);
    if (p) {
      results[i] = result(ev.eventId, EventStatus.REJECTED, p.field, p.reason);
    } else if (!mayPublishFor(principal, ev.facility?.unLocode ?? '', ev.facility?.terminalCode ?? '')) {
      results[i] = result(
        ev.eventId,
        EventStatus.REJECTED,
        'facility',
        `${principal.name} may not publish for it`,
      );
    } else {
      allowed.push(i);
    }
  }
  const otherTerminal = await otherTerminalRefusals(deps.containers, principal, events, allowed);
  const toPersist: Event[] = [];
  const persistIndex: number[] = [];
  const inBatch = new Set<string>();
  const keys = new Array<string>(events.length);
  for (const i of allowed) {
    const ev = events[i] as Event;
    const refusal = otherTerminal.get(i);
    if (refusal !== undefined) {
      results[i] = result(ev.eventId, EventStatus.REJECTED, 'facility', refusal);
      continue;
    }
    const key = sourcedEventId(principal.name, ev.eventId);
    keys[i] = key;
    if (deps.recent.has(key) || inBatch.has(key)) {
      results[i] = result(ev.eventId, EventStatus.DUPLICATE);
    } else {
      inBatch.add(key);
      toPersist.push(ev);
      persistIndex.push(i);
    }
  }
  if (toPersist.length > 0) {
    const outcomes = await deps.publisher.persist(toPersist, new Date(now), principal.name);
    for (let j = 0; j < toPersist.length; j++) {
      const ev = toPersist[j] as Event;
      const i = persistIndex[j] as number;
      deps.recent.add(keys[i] as string);
      results[i] = result(
        ev.eventId,
        outcomes[j] === 'duplicate' ? EventStatus.DUPLICATE : EventStatus.ACCEPTED,
      );
    }
  }
  let accepted = 0;
  let duplicate = 0;
  let rejected = 0;
  for (const r of results) {
    if (r.status === EventStatus.ACCEPTED) accepted++;
    else if (r.status === EventStatus.DUPLICATE) duplicate++;
    else rejected++;
  }
  if (accepted) deps.eventsTotal.inc({ status: 'accepted' }, accepted);
  if (duplicate) deps.eventsTotal.inc({ status: 'duplicate' }, duplicate);
  if (rejected) deps.eventsTotal.inc({ status: 'rejected' }, rejected);
  return results;
}
