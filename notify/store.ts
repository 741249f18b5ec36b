// The webhooks, durable in the KV bucket ps_webhooks (key: webhook id, value: JSON below), and an in-memory copy
// kept current by a watch, which the fan-out and the delivery workers read. Changes are compare-and-set on the
// entry's revision, so two notify processes (or an API call and a worker) never overwrite each other.
// Secrets are stored as they are (they must sign); only the notify service's NATS user may read the bucket.
import { KvWatchInclude, type KV } from '@nats-io/kv';
import { kvWriteGuarded } from '../core/nats/cas.js';
import type { Logger } from '../core/logger.js';
import type { EquipmentEventType } from '../proto/gen/portstream/v1/events.js';
import { equipmentEventTypeFromJSON, equipmentEventTypeToJSON } from '../proto/gen/portstream/v1/events.js';
import { WebhookPayloadFormat, WebhookState, type Webhook } from '../proto/gen/portstream/v1/notify.js';

export interface WebhookSecret {
  secret: string;
  /** ISO time after which it no longer signs; unset: the current secret. */
  expires?: string;
}

export interface WebhookRecord {
  id: string;
  /** Token name of the owner: deliveries are decided by this party's rights at delivery time. */
  owner: string;
  url: string;
  filter: {
    containerEvents: boolean;
    decisions: boolean;
    containerNumbers: string[];
    billNumbers: string[];
    /** Equipment event type names, e.g. "EQUIPMENT_EVENT_TYPE_DISC". */
    eventTypes: string[];
    declarationNumbers: string[];
  };
  format: 'PORTSTREAM' | 'DCSA_TNT_3';
  state: 'ACTIVE' | 'DISABLED';
  disabledReason: string;
  /** ISO time of the first failure since the last success. */
  failingSince?: string;
  created: string;
  description: string;
  /** Newest first. */
  secrets: WebhookSecret[];
}

/** The secrets that sign now: the current one and any previous one still within its overlap. */
export function signingSecrets(r: WebhookRecord, now: Date): string[] {
  return r.secrets
    .filter((s) => s.expires === undefined || Date.parse(s.expires) > now.getTime())
    .map((s) => s.secret);
}

export function eventTypesOf(r: WebhookRecord): Set<EquipmentEventType> {
  return new Set(r.filter.eventTypes.map((t) => equipmentEventTypeFromJSON(t)));
}

export function eventTypeNames(types: readonly EquipmentEventType[]): string[] {
  return types.map((t) => equipmentEventTypeToJSON(t));
}

/** The webhook as its owner reads it: no secrets. */
export function toWebhook(r: WebhookRecord): Webhook {
  const previous = r.secrets.find((s) => s.expires !== undefined);
  return {
    id: r.id,
    url: r.url,
    filter: {
      containerEvents: r.filter.containerEvents,
      decisions: r.filter.decisions,
      containerNumbers: r.filter.containerNumbers,
      billNumbers: r.filter.billNumbers,
      eventTypes: [...eventTypesOf(r)],
      declarationNumbers: r.filter.declarationNumbers,
    },
    format: r.format === 'DCSA_TNT_3' ? WebhookPayloadFormat.DCSA_TNT_3 : WebhookPayloadFormat.PORTSTREAM,
    state: r.state === 'ACTIVE' ? WebhookState.ACTIVE : WebhookState.DISABLED,
    disabledReason: r.disabledReason,
    failingSince: r.failingSince === undefined ? undefined : new Date(r.failingSince),
    createdTime: new Date(r.created),
    previousSecretExpiresTime: previous?.expires === undefined ? undefined : new Date(previous.expires),
    description: r.description,
  };
}

const enc = new TextEncoder();
const dec = new TextDecoder();

export class CasConflict extends Error {}

export class WebhookStore {
  private readonly cache = new Map<string, { rec: WebhookRecord; revision: number }>();
  private readonly listeners = new Set<(id: string, rec: WebhookRecord | undefined) => void>();
  private stopWatch: (() => void) | undefined;

  constructor(
    private readonly kv: KV,
    private readonly log: Logger,
  ) {}

  /** Starts following the bucket: updates first (so none is missed), then every current value. */
  async start(): Promise<void> {
    const watch = await this.kv.watch({ include: KvWatchInclude.UpdatesOnly });
    this.stopWatch = () => {
      watch.stop();
    };
    void (async () => {
      for await (const e of watch) {
        if (e.operation === 'PUT')
          this.apply(e.key, e.revision, JSON.parse(dec.decode(e.value)) as WebhookRecord);
        else this.remove(e.key);
      }
    })().catch((err: unknown) => {
      this.log.error({ err }, 'webhooks watch ended');
    });
    for await (const key of await this.kv.keys()) {
      const e = await this.kv.get(key);
      if (e && e.operation === 'PUT') this.apply(key, e.revision, JSON.parse(e.string()) as WebhookRecord);
    }
  }

  stop(): void {
    this.stopWatch?.();
  }

  /** Called with every change (undefined: deleted), after the cache holds it. */
  onChange(fn: (id: string, rec: WebhookRecord | undefined) => void): void {
    this.listeners.add(fn);
  }

  private apply(id: string, revision: number, rec: WebhookRecord): void {
    const had = this.cache.get(id);
    if (had && had.revision >= revision) return;
    this.cache.set(id, { rec, revision });
    for (const fn of this.listeners) fn(id, rec);
  }

  private remove(id: string): void {
    if (!this.cache.delete(id)) return;
    for (const fn of this.listeners) fn(id, undefined);
  }

  all(): WebhookRecord[] {
    return [...this.cache.values()].map((v) => v.rec);
  }

  cached(id: string): WebhookRecord | undefined {
    return this.cache.get(id)?.rec;
  }

  /** The stored record (not the cache): what a CAS update starts from. */
  async read(id: string): Promise<{ rec: WebhookRecord; revision: number } | undefined> {
    const e = await this.kv.get(id);
    if (!e || e.operation !== 'PUT') return undefined;
    const rec = JSON.parse(e.string()) as WebhookRecord;
    this.apply(id, e.revision, rec);
    return { rec, revision: e.revision };
  }

  async create(rec: WebhookRecord): Promise<void> {
    // Ids are random: a key that exists (a delete marker included) refuses the write.
    const revision = await kvWriteGuarded(this.kv, rec.id, enc.encode(JSON.stringify(rec)), 0);
    this.apply(rec.id, revision, rec);
  }

  /**
   * Changes a webhook with compare-and-set, re-reading and re-applying on a conflict; `change` returns undefined
   * to leave it as it is. Resolves with the stored record (undefined: it does not exist).
   */
  async update(
    id: string,
    change: (r: WebhookRecord) => WebhookRecord | undefined,
  ): Promise<WebhookRecord | undefined> {
    for (let attempt = 0; ; attempt++) {
      const cur = await this.read(id);
      if (!cur) return undefined;
      const next = change(structuredClone(cur.rec));
      if (!next) return cur.rec;
      try {
        const revision = await kvWriteGuarded(this.kv, id, enc.encode(JSON.stringify(next)), cur.revision);
        this.apply(id, revision, next);
        return next;
      } catch (err) {
        if (attempt >= 8) throw err;
      }
    }
  }

  async delete(id: string): Promise<void> {
    await this.kv.delete(id);
    this.remove(id);
  }
}
