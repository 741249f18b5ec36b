// What the WebhookService does, whatever the protocol (gRPC handlers and HTTP routes both call this): register,
// read, list, delete, rotate the secret, re-enable, read the delivery log. A webhook belongs to the token name
// that created it; anyone else gets NOT_FOUND for it, exactly as if it did not exist. The filter may name any
// container or bill: naming another party's container is no way in, since every delivery is decided on the
// owner's rights at delivery time (deliver.ts), and nothing at registration tells whether a container exists.
import { randomBytes } from 'node:crypto';
import { Role, type Principal } from '../core/auth/principal.js';
import { ErrorCode, invalidArgument, PortstreamError } from '../core/errors.js';
import { checkContainerNumber, checkDeclarationNumber } from '../core/identifiers/index.js';
import { BILL_NUMBER } from '../core/validation/manifest.js';
import { EquipmentEventType } from '../proto/gen/portstream/v1/events.js';
import {
  WebhookPayloadFormat,
  type CreateWebhookRequest,
  type CreateWebhookResponse,
  type ListWebhookDeliveriesRequest,
  type ListWebhookDeliveriesResponse,
  type Webhook,
  type WebhookFilter,
} from '../proto/gen/portstream/v1/notify.js';
import type { DeliveryLog } from './delivery-log.js';
import { newSecret } from './signing.js';
import { eventTypeNames, toWebhook, type WebhookRecord, type WebhookStore } from './store.js';
import { checkResolvedUrl, checkUrl, type TargetPolicy } from './targets.js';

/** Most entries in each list of a filter. */
export const MAX_FILTER_ENTRIES = 100;

export interface WebhookSettings {
  policy: TargetPolicy;
  maxPerCaller: number;
  secretOverlapMs: number;
}

export interface OutboxCleanup {
  /** Deletes the webhook's delivery consumer and what waits for it in the outbox. */
  forget(webhookId: string): Promise<void>;
}

const notFound = (id: string): PortstreamError =>
  new PortstreamError(ErrorCode.NotFound, `webhook ${id} not found`);

function checkList(field: string, values: readonly string[], check: (v: string) => string | undefined): void {
  if (values.length > MAX_FILTER_ENTRIES) throw invalidArgument(field, `at most ${MAX_FILTER_ENTRIES}`);
  values.forEach((v, i) => {
    const problem = check(v);
    if (problem !== undefined) throw invalidArgument(`${field}[${i}]`, problem);
  });
}

function checkFilter(p: Principal, f: WebhookFilter | undefined): WebhookRecord['filter'] {
  if (!f) throw invalidArgument('filter', 'required');
  if (!f.containerEvents && !f.decisions) {
    throw invalidArgument('filter', 'ask for container_events, decisions, or both');
  }
  if (f.decisions && (p.role === Role.Operator || p.role === Role.Carrier)) {
    throw new PortstreamError(ErrorCode.PermissionDenied, `${p.role} may not read customs decisions`);
  }
  checkList('filter.container_numbers', f.containerNumbers, checkContainerNumber);
  checkList('filter.bill_numbers', f.billNumbers, (b) =>
    BILL_NUMBER.test(b) ? undefined : 'must be 4-35 of A-Z 0-9',
  );
  checkList('filter.declaration_numbers', f.declarationNumbers, checkDeclarationNumber);
  if (f.eventTypes.length > MAX_FILTER_ENTRIES) {
    throw invalidArgument('filter.event_types', `at most ${MAX_FILTER_ENTRIES}`);
  }
  f.eventTypes.forEach((t, i) => {
    const known = Object.values(EquipmentEventType).includes(t);
    if (!known || t === EquipmentEventType.UNSPECIFIED || t === EquipmentEventType.UNRECOGNIZED) {
      throw invalidArgument(`filter.event_types[${i}]`, 'not an equipment event type');
    }
  });
  return {
    containerEvents: f.containerEvents,
    decisions: f.decisions,
    containerNumbers: [...new Set(f.containerNumbers)],
    billNumbers: [...new Set(f.billNumbers)],
    eventTypes: eventTypeNames([...new Set(f.eventTypes)]),
    declarationNumbers: [...new Set(f.declarationNumbers)],
  };
}

export class Webhooks {
  constructor(
    private readonly store: WebhookStore,
    private readonly log: DeliveryLog,
    private readonly outbox: OutboxCleanup,
    private readonly settings: WebhookSettings,
  ) {}

  private async owned(p: Principal, id: string): Promise<WebhookRecord> {
    if (!/^wh_[0-9a-f]{24}$/.test(id)) throw notFound(id);
    const r = (await this.store.read(id))?.rec;
    if (!r || r.owner !== p.name) throw notFound(id);
    return r;
  }

  async create(p: Principal, req: CreateWebhookRequest): Promise<CreateWebhookResponse> {
    // A carrier sees no container (its manifests and bills only) and no decision: nothing could be delivered.
    if (p.role === Role.Carrier) {
      throw new PortstreamError(ErrorCode.PermissionDenied, 'carrier may not register webhooks');
    }
    const url = checkUrl(req.url, this.settings.policy);
    const filter = checkFilter(p, req.filter);
    if (req.format === WebhookPayloadFormat.DCSA_TNT_3 && filter.decisions) {
      throw invalidArgument('format', 'DCSA Track & Trace events carry container events only');
    }
    if (req.format !== WebhookPayloadFormat.UNSPECIFIED && !(req.format in WebhookPayloadFormat)) {
      throw invalidArgument('format', 'unknown payload format');
    }
    if (req.description.length > 200) throw invalidArgument('description', 'at most 200 characters');
    await checkResolvedUrl(url, this.settings.policy);
    const mine = this.store.all().filter((r) => r.owner === p.name).length;
    if (mine >= this.settings.maxPerCaller) {
      throw new PortstreamError(
        ErrorCode.ResourceExhausted,
        `at most ${this.settings.maxPerCaller} webhooks per caller; delete one first`,
      );
    }
    const secret = newSecret();
    const rec: WebhookRecord = {
      id: `wh_${randomBytes(12).toString('hex')}`,
      owner: p.name,
      url: url.toString(),
      filter,
      format: req.format === WebhookPayloadFormat.DCSA_TNT_3 ? 'DCSA_TNT_3' : 'PORTSTREAM',
      state: 'ACTIVE',
      disabledReason: '',
      created: new Date().toISOString(),
      description: req.description,
      secrets: [{ secret }],
    };
    await this.store.create(rec);
    return { webhook: toWebhook(rec), secret };
  }

  async get(p: Principal, id: string): Promise<Webhook> {
    return toWebhook(await this.owned(p, id));
  }

  list(p: Principal): Webhook[] {
    return this.store
      .all()
      .filter((r) => r.owner === p.name)
      .sort((a, b) => a.created.localeCompare(b.created))
      .map(toWebhook);
  }

  async delete(p: Principal, id: string): Promise<void> {
    await this.owned(p, id);
    await this.store.delete(id);
    await this.outbox.forget(id);
  }

  async rotate(p: Principal, id: string): Promise<{ webhook: Webhook; secret: string }> {
    await this.owned(p, id);
    const secret = newSecret();
    const now = Date.now();
    const expires = new Date(now + this.settings.secretOverlapMs).toISOString();
    const rec = await this.store.update(id, (r) => {
      const current = r.secrets.find((s) => s.expires === undefined);
      // The current secret signs on through the overlap; one rotated out before that is dropped now.
      r.secrets = [{ secret }, ...(current ? [{ secret: current.secret, expires }] : [])];
      return r;
    });
    if (!rec) throw notFound(id);
    return { webhook: toWebhook(rec), secret };
  }

  async enable(p: Principal, id: string): Promise<Webhook> {
    await this.owned(p, id);
    const rec = await this.store.update(id, (r) => {
      r.state = 'ACTIVE';
      r.disabledReason = '';
      delete r.failingSince;
      return r;
    });
    if (!rec) throw notFound(id);
    return toWebhook(rec);
  }

  async deliveries(p: Principal, req: ListWebhookDeliveriesRequest): Promise<ListWebhookDeliveriesResponse> {
    await this.owned(p, req.webhookId);
    return this.log.list(req.webhookId, req.pageSize, req.pageToken);
  }
}
