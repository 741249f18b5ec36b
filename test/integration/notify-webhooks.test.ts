// Push notifications end to end against the real services and a real receiving HTTP server: a real nats-server,
// the gateway (manifests, events), the processor (container state) and the notify service; every call as the
// party would make it, through the WebhookService over gRPC. Signatures are checked with the standardwebhooks
// library a subscriber would use.
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import { status as grpcStatus } from '@grpc/grpc-js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Registry } from 'prom-client';
import { Webhook as Verifier } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNatsTopology } from '../../cli/topology.js';
import { loadConfig, type Config } from '../../core/config.js';
import { silentLogger } from '../../core/logger.js';
import { connectNats } from '../../core/nats/connect.js';
import { notifySubjects, STREAM_WEBHOOK_OUTBOX } from '../../core/nats/notify.js';
import { startIngest, type IngestHandle } from '../../ingest/main.js';
import { deliveryConsumerName } from '../../notify/deliver.js';
import { startNotify, type NotifyHandle } from '../../notify/main.js';
import { startProcessor, type ProcessorHandle } from '../../processor/main.js';
import { EquipmentEventType, type Event } from '../../proto/gen/portstream/v1/events.js';
import { Channel, CustomsServiceClient } from '../../proto/gen/portstream/v1/customs.js';
import { EventStatus, IngestServiceClient } from '../../proto/gen/portstream/v1/ingest.js';
import { CargoFlow, ManifestServiceClient } from '../../proto/gen/portstream/v1/manifest.js';
import {
  DeliveryOutcome,
  WebhookPayloadFormat,
  WebhookServiceClient,
  WebhookState,
  type CreateWebhookResponse,
  type WebhookFilter,
} from '../../proto/gen/portstream/v1/notify.js';
import { clientAs, testAuth, TOKENS } from '../../test-kit/auth.js';
import { sampleDeclaration } from '../helpers/declarations.js';
import { containerNumber } from '../../test-kit/events.js';
import { bill, FIRM_A, FIRM_B, manifest, party, VESSEL_IN } from '../helpers/manifests.js';
import { startTestNats, type TestNats } from '../helpers/nats.js';
import { waitFor } from '../../test-kit/poll.js';
import { refusal, unary } from '../helpers/rpc.js';
import { startService, writeTokensFile } from '../helpers/service-process.js';
import { startWebhookReceiver, type Received, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { move } from './parties-fixture.js';

const BOX = {
  a: containerNumber('NTF', 1),
  b: containerNumber('NTF', 2),
  retry: containerNumber('NTF', 3),
  down: containerNumber('NTF', 4),
  rotate: containerNumber('NTF', 5),
  restart: containerNumber('NTF', 6),
  refused: containerNumber('NTF', 7),
  crash: containerNumber('NTF', 8),
  slow1: containerNumber('NTF', 9),
  slow2: containerNumber('NTF', 10),
  slowB: containerNumber('NTF', 11),
};
const BILL_A = 'HLCUNTF0000001';

const filter = (over: Partial<WebhookFilter>): WebhookFilter => ({
  containerEvents: true,
  decisions: false,
  containerNumbers: [],
  billNumbers: [],
  eventTypes: [],
  declarationNumbers: [],
  ...over,
});

interface Body {
  type: string;
  data: {
    event: { eventId: string; equipment: { type: string; containerNumber: string } };
    billNumbers: string[];
  };
}
const bodyOf = (r: Received): Body => JSON.parse(r.body) as Body;
const containerOf = (e: Event | undefined): string | undefined =>
  e?.payload?.$case === 'equipment' ? e.payload.value.containerNumber : undefined;
const verify = (secret: string, r: Received): unknown =>
  new Verifier(secret).verify(r.body, {
    'webhook-id': String(r.headers['webhook-id']),
    'webhook-timestamp': String(r.headers['webhook-timestamp']),
    'webhook-signature': String(r.headers['webhook-signature']),
  });

describe('push notifications (webhooks)', () => {
  let nats: TestNats;
  let nc: NatsConnection;
  let config: Config;
  let ingest: IngestHandle;
  let processor: ProcessorHandle;
  let notify: NotifyHandle | undefined;
  let rx: WebhookReceiver;
  const clients: { close(): void }[] = [];
  const hooksAs = (token: string): WebhookServiceClient => {
    const c = clientAs(WebhookServiceClient, notify?.grpcAddress ?? '', token);
    clients.push(c);
    return c;
  };
  let events: IngestServiceClient;

  const create = (
    token: string,
    path: string,
    f: WebhookFilter,
    format = WebhookPayloadFormat.PORTSTREAM,
  ): Promise<CreateWebhookResponse> => {
    const c = hooksAs(token);
    return unary(c.createWebhook.bind(c), { url: `${rx.url}${path}`, filter: f, format, description: path });
  };
  const publish = async (evs: Event[]): Promise<void> => {
    const r = await unary(events.publishEvents.bind(events), { events: evs });
    expect(r.results.map((x) => x.status)).toEqual(evs.map(() => EventStatus.ACCEPTED));
  };
  const startNotifyWith = (c: Config): Promise<NotifyHandle> =>
    startNotify({
      config: c,
      log: silentLogger(),
      nc,
      registry: new Registry(),
      auth: testAuth,
      directory: testAuth,
    });

  beforeAll(async () => {
    nats = await startTestNats();
    nc = await connectNats({ url: nats.url, name: 'notify-test' });
    config = loadConfig({
      NATS_URL: nats.url,
      INGEST_PORT: '0',
      PROCESSOR_ACK_WAIT_MS: '2000',
      NOTIFY_GRPC_PORT: '0',
      NOTIFY_HTTP_PORT: '0',
      // The receiver is on loopback, over plain HTTP.
      NOTIFY_ALLOW_PRIVATE_TARGETS: 'true',
      NOTIFY_ALLOW_HTTP: 'true',
      NOTIFY_RETRY_MIN_MS: '50',
      NOTIFY_RETRY_MAX_MS: '200',
      NOTIFY_DISABLE_AFTER_MS: '1500',
      NOTIFY_REQUEST_TIMEOUT_MS: '2000',
      RATE_LIMIT_API_PER_SECOND: '0',
    });
    await createNatsTopology(nc, config);
    rx = await startWebhookReceiver();
    ingest = await startIngest({ config, log: silentLogger(), nc, registry: new Registry(), auth: testAuth });
    processor = await startProcessor({ config, log: silentLogger(), nc });
    notify = await startNotifyWith(config);
    events = clientAs(IngestServiceClient, ingest.address, TOKENS.operator);
    const carrier = clientAs(ManifestServiceClient, ingest.address, TOKENS.carrier);
    clients.push(events, carrier);
    // Firm A is consignee of every box but one; firm B of BOX.b.
    const own = (n: number, box: string, taxCode: string) =>
      bill(`HLCUNTF${String(n).padStart(7, '0')}`, CargoFlow.IMPORT, [box], { consignee: party(taxCode) });
    await unary(carrier.fileManifest.bind(carrier), {
      manifest: manifest('HLCU', VESSEL_IN, [
        own(1, BOX.a, FIRM_A),
        own(2, BOX.b, FIRM_B),
        own(3, BOX.retry, FIRM_A),
        own(4, BOX.down, FIRM_A),
        own(5, BOX.rotate, FIRM_A),
        own(6, BOX.restart, FIRM_A),
        own(7, BOX.refused, FIRM_A),
        own(8, BOX.crash, FIRM_A),
        own(9, BOX.slow1, FIRM_A),
        own(10, BOX.slow2, FIRM_A),
        own(11, BOX.slowB, FIRM_B),
      ]),
      expectedVersion: 0,
    });
  }, 120_000);

  afterAll(async () => {
    for (const c of clients) c.close();
    await notify?.stop();
    await ingest.stop();
    await processor.stop();
    await rx.close();
    await nc.close();
    await nats.cleanup();
  });

  it("delivers a firm's container events signed, in order; another firm naming that container receives nothing", async () => {
    const a = await create(TOKENS.firm, '/a', filter({ containerNumbers: [BOX.a] }));
    // Firm B plays attacker: webhooks naming A's container and A's bill, and one for its own container.
    const byContainer = await create(TOKENS.otherFirm, '/b-container', filter({ containerNumbers: [BOX.a] }));
    const byBill = await create(TOKENS.otherFirm, '/b-bill', filter({ billNumbers: [BILL_A] }));
    await create(TOKENS.otherFirm, '/b-own', filter({ containerNumbers: [BOX.b] }));
    const hooksA = hooksAs(TOKENS.firm);
    const before = await unary(hooksA.getWebhook.bind(hooksA), { id: a.webhook?.id ?? '' });

    // The box's previous stay, before A's shipment: matched by A's filter, but outside what A may see of the
    // container, so withheld at delivery.
    const previous = move(EquipmentEventType.GTOT, BOX.a, { at: new Date(Date.now() - 2 * 3600_000) });
    await publish([previous]);
    await publish([
      move(EquipmentEventType.DISC, BOX.a, { vessel: VESSEL_IN }),
      move(EquipmentEventType.DISC, BOX.b, { vessel: VESSEL_IN }),
    ]);
    await publish([move(EquipmentEventType.GTOT, BOX.a), move(EquipmentEventType.GTOT, BOX.b)]);

    const got = await waitFor(() => (rx.accepted('/a').length >= 2 ? rx.accepted('/a') : undefined), {
      timeoutMs: 20_000,
      what: "A's two events",
    });
    expect(got.map((r) => bodyOf(r).data.event.equipment.type)).toEqual([
      'EQUIPMENT_EVENT_TYPE_DISC',
      'EQUIPMENT_EVENT_TYPE_GTOT',
    ]);
    expect(got.map((r) => bodyOf(r).data.event.eventId)).not.toContain(previous.eventId);
    for (const r of got) {
      expect(() => verify(a.secret, r)).not.toThrow();
      expect(bodyOf(r).data.billNumbers).toEqual([BILL_A]);
      // Another webhook's secret does not verify it.
      expect(() => verify(byContainer.secret, r)).toThrow();
    }
    // B's own container's events arrive (its webhooks work), after A's events were fanned out.
    await waitFor(() => rx.accepted('/b-own').length >= 2, { timeoutMs: 20_000, what: "B's own events" });
    expect(rx.accepted('/b-own').map((r) => bodyOf(r).data.event.equipment.containerNumber)).toEqual([
      BOX.b,
      BOX.b,
    ]);
    // Nothing about A's container waits for B's webhooks either, nor was anything sent or logged.
    const jsm = await jetstreamManager(nc);
    for (const hook of [byContainer, byBill]) {
      const id = hook.webhook?.id ?? '';
      const info = await jsm.consumers.info(STREAM_WEBHOOK_OUTBOX, deliveryConsumerName(id));
      expect(info.num_pending + info.num_ack_pending).toBe(0);
      const hooksB = hooksAs(TOKENS.otherFirm);
      expect(
        (
          await unary(hooksB.listWebhookDeliveries.bind(hooksB), {
            webhookId: id,
            pageSize: 0,
            pageToken: '',
          })
        ).deliveries,
      ).toEqual([]);
    }
    expect(rx.received('/b-container')).toEqual([]);
    expect(rx.received('/b-bill')).toEqual([]);
    // B cannot read, change or delete A's webhook: NOT_FOUND, as if it did not exist.
    const hooksB = hooksAs(TOKENS.otherFirm);
    const aId = a.webhook?.id ?? '';
    expect((await refusal(unary(hooksB.getWebhook.bind(hooksB), { id: aId }))).code).toBe(
      grpcStatus.NOT_FOUND,
    );
    expect((await refusal(unary(hooksB.deleteWebhook.bind(hooksB), { id: aId }))).code).toBe(
      grpcStatus.NOT_FOUND,
    );
    expect((await refusal(unary(hooksB.rotateWebhookSecret.bind(hooksB), { id: aId }))).code).toBe(
      grpcStatus.NOT_FOUND,
    );
    expect(
      (
        await refusal(
          unary(hooksB.listWebhookDeliveries.bind(hooksB), { webhookId: aId, pageSize: 0, pageToken: '' }),
        )
      ).code,
    ).toBe(grpcStatus.NOT_FOUND);
    // A's view is unchanged: its webhook as before, its log lists its two deliveries.
    const after = await unary(hooksA.getWebhook.bind(hooksA), { id: aId });
    expect(after).toEqual(before);
    const log = await unary(hooksA.listWebhookDeliveries.bind(hooksA), {
      webhookId: aId,
      pageSize: 0,
      pageToken: '',
    });
    expect(log.deliveries.map((d) => d.outcome)).toEqual([
      DeliveryOutcome.DELIVERED,
      DeliveryOutcome.DELIVERED,
    ]);
    expect(log.deliveries.map((d) => d.messageId).reverse()).toEqual(got.map((r) => r.headers['webhook-id']));
    expect(rx.received('/a')).toHaveLength(2);
    // The previous stay's event did reach A's outbox (the filter matched): it was withheld at delivery.
    const subject = notifySubjects.outbox(aId);
    const outbox = await jsm.streams.info(STREAM_WEBHOOK_OUTBOX, { subjects_filter: subject });
    expect(outbox.state.subjects?.[subject]).toBe(3);
  });

  it('delivers a decision to its declarant without rule codes, in full to customs, and nothing to another firm', async () => {
    const no = '108900000001';
    const decisions = (over: Partial<WebhookFilter>): WebhookFilter =>
      filter({ containerEvents: false, decisions: true, ...over });
    await create(TOKENS.firm, '/decisions-a', decisions({}));
    await create(TOKENS.customs, '/decisions-customs', decisions({ declarationNumbers: [no] }));
    const spy = await create(TOKENS.otherFirm, '/decisions-b', decisions({ declarationNumbers: [no] }));
    const customs = clientAs(CustomsServiceClient, ingest.address, TOKENS.firm);
    clients.push(customs);
    // Goods from a high-risk origin: red, with the rules that fired.
    const answer = await unary(customs.submitDeclaration.bind(customs), {
      declaration: sampleDeclaration('red', no, {
        declarantTaxCode: FIRM_A,
        traderTaxCode: FIRM_A,
        billNumbers: [BILL_A],
      }),
    });
    expect(answer.decision?.channel).toBe(Channel.RED);
    const full = await waitFor(() => rx.accepted('/decisions-customs')[0], {
      timeoutMs: 20_000,
      what: 'customs',
    });
    const own = await waitFor(() => rx.accepted('/decisions-a')[0], {
      timeoutMs: 20_000,
      what: 'the declarant',
    });
    type D = {
      type: string;
      data: { declarationNumber: string; channel: string; rules?: unknown[]; ruleSetVersion?: string };
    };
    const seenByCustoms = JSON.parse(full.body) as D;
    const seenByFirm = JSON.parse(own.body) as D;
    expect(seenByCustoms.type).toBe('customs.decision');
    expect(seenByCustoms.data.rules?.length).toBeGreaterThan(0);
    expect(seenByCustoms.data.ruleSetVersion).toBeTruthy();
    expect(seenByFirm.data).toMatchObject({ declarationNumber: no, channel: 'CHANNEL_RED' });
    expect(seenByFirm.data.rules).toBeUndefined();
    expect(seenByFirm.data.ruleSetVersion).toBeUndefined();
    // The other firm's webhook naming the declaration: whatever reached its outbox was withheld, nothing was sent
    // or logged.
    const jsm = await jetstreamManager(nc);
    const spyId = spy.webhook?.id ?? '';
    await waitFor(
      async () => {
        const info = await jsm.consumers.info(STREAM_WEBHOOK_OUTBOX, deliveryConsumerName(spyId));
        return info.num_pending + info.num_ack_pending === 0;
      },
      { timeoutMs: 20_000, what: "the other firm's outbox settled" },
    );
    const hooksB = hooksAs(TOKENS.otherFirm);
    const logB = await unary(hooksB.listWebhookDeliveries.bind(hooksB), {
      webhookId: spyId,
      pageSize: 0,
      pageToken: '',
    });
    expect(logB.deliveries).toEqual([]);
    expect(rx.received('/decisions-b')).toEqual([]);
  });

  it('serves the same over HTTP/JSON: create, read, list, rotate, deliveries, delete; errors name the field', async () => {
    const base = `${notify?.httpUrl ?? ''}/v1/webhooks`;
    const call = async (method: string, url: string, token: string | undefined, body?: unknown) => {
      const r = await fetch(url, {
        method,
        headers: {
          ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: r.status, json: (await r.json()) as Record<string, unknown> };
    };
    const created = await call('POST', base, TOKENS.firm, {
      url: `${rx.url}/http`,
      filter: { containerEvents: true, containerNumbers: [BOX.a] },
      format: 'WEBHOOK_PAYLOAD_FORMAT_DCSA_TNT_3',
    });
    expect(created.status).toBe(200);
    const webhook = created.json.webhook as { id: string; state: string; format: string };
    expect(created.json.secret).toMatch(/^whsec_/);
    expect(webhook).toMatchObject({
      state: 'WEBHOOK_STATE_ACTIVE',
      format: 'WEBHOOK_PAYLOAD_FORMAT_DCSA_TNT_3',
    });
    const list = await call('GET', base, TOKENS.firm);
    expect((list.json.webhooks as { id: string }[]).map((w) => w.id)).toContain(webhook.id);
    expect((await call('GET', `${base}/${webhook.id}`, TOKENS.otherFirm)).status).toBe(404);
    const rotated = await call('POST', `${base}/${webhook.id}/rotate-secret`, TOKENS.firm);
    expect(rotated.json.secret).not.toBe(created.json.secret);
    expect((await call('GET', `${base}/${webhook.id}/deliveries?page_size=5`, TOKENS.firm)).json).toEqual({});
    const bad = await call('POST', base, TOKENS.firm, {
      url: 'ftp://x.example.com/',
      filter: { containerEvents: true },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'url' });
    const noFilter = await call('POST', base, TOKENS.firm, { url: `${rx.url}/x` });
    expect(noFilter.json.error).toMatchObject({ field: 'filter' });
    expect((await call('GET', base, undefined)).status).toBe(401);
    expect(
      (await call('POST', base, TOKENS.carrier, { url: `${rx.url}/x`, filter: { containerEvents: true } }))
        .status,
    ).toBe(403);
    expect((await call('DELETE', `${base}/${webhook.id}`, TOKENS.firm)).status).toBe(200);
    expect((await call('GET', `${base}/${webhook.id}`, TOKENS.firm)).status).toBe(404);
  });

  it('retries after the receiver fails, then delivers; the delivery log says what happened', async () => {
    rx.behave('/flaky', { kind: 'failFirst', n: 2 });
    const hook = await create(TOKENS.firm, '/flaky', filter({ containerNumbers: [BOX.retry] }));
    await publish([move(EquipmentEventType.DISC, BOX.retry, { vessel: VESSEL_IN })]);
    await waitFor(() => rx.accepted('/flaky').length === 1, {
      timeoutMs: 20_000,
      what: 'the retried delivery',
    });
    const all = rx.received('/flaky');
    expect(all.map((r) => r.answered)).toEqual([500, 500, 204]);
    // Every attempt is the same message: one webhook-id, a subscriber deduplicates on it.
    expect(new Set(all.map((r) => r.headers['webhook-id'])).size).toBe(1);
    const c = hooksAs(TOKENS.firm);
    const id = hook.webhook?.id ?? '';
    const log = await unary(c.listWebhookDeliveries.bind(c), { webhookId: id, pageSize: 0, pageToken: '' });
    expect(log.deliveries.map((d) => [d.outcome, d.statusCode])).toEqual([
      [DeliveryOutcome.DELIVERED, 204],
      [DeliveryOutcome.FAILED, 500],
      [DeliveryOutcome.FAILED, 500],
    ]);
    expect(log.deliveries.every((d) => d.containerNumber === BOX.retry)).toBe(true);
    // Paging: one at a time, newest first.
    const first = await unary(c.listWebhookDeliveries.bind(c), { webhookId: id, pageSize: 1, pageToken: '' });
    const second = await unary(c.listWebhookDeliveries.bind(c), {
      webhookId: id,
      pageSize: 1,
      pageToken: first.nextPageToken,
    });
    expect([first.deliveries[0]?.outcome, second.deliveries[0]?.outcome]).toEqual([
      DeliveryOutcome.DELIVERED,
      DeliveryOutcome.FAILED,
    ]);
    // A success ends the failing spell.
    await waitFor(
      async () => (await unary(c.getWebhook.bind(c), { id })).webhook?.failingSince === undefined,
      {
        what: 'failingSince cleared',
      },
    );
  });

  it('disables a webhook failing longer than the setting; re-enabled, it delivers what waited', async () => {
    rx.behave('/down', { kind: 'fail', status: 503 });
    const hook = await create(TOKENS.firm, '/down', filter({ containerNumbers: [BOX.down] }));
    const id = hook.webhook?.id ?? '';
    const c = hooksAs(TOKENS.firm);
    await publish([move(EquipmentEventType.DISC, BOX.down, { vessel: VESSEL_IN })]);
    const disabled = await waitFor(
      async () => {
        const w = (await unary(c.getWebhook.bind(c), { id })).webhook;
        return w?.state === WebhookState.DISABLED ? w : undefined;
      },
      { timeoutMs: 20_000, what: 'the webhook disabled' },
    );
    expect(disabled.disabledReason).toMatch(/HTTP 503/);
    const failures = rx.received('/down').length;
    expect(failures).toBeGreaterThanOrEqual(2);
    // Disabled: nothing more is attempted.
    await publish([move(EquipmentEventType.GTOT, BOX.down)]);
    rx.behave('/down', { kind: 'ok' });
    expect(rx.accepted('/down')).toEqual([]);
    const enabled = await unary(c.enableWebhook.bind(c), { id });
    expect(enabled.webhook?.state).toBe(WebhookState.ACTIVE);
    await waitFor(() => rx.accepted('/down').length === 2, {
      timeoutMs: 20_000,
      what: 'both events after re-enabling',
    });
    const ok = rx.accepted('/down');
    expect(ok.map((r) => bodyOf(r).data.event.equipment.type)).toEqual([
      'EQUIPMENT_EVENT_TYPE_DISC',
      'EQUIPMENT_EVENT_TYPE_GTOT',
    ]);
    // The first is the message that failed before, under the same webhook-id.
    expect(ok[0]?.headers['webhook-id']).toBe(rx.received('/down')[0]?.headers['webhook-id']);
  });

  it('after a secret rotation, deliveries verify with the old secret and with the new one', async () => {
    const hook = await create(
      TOKENS.firm,
      '/rotate',
      filter({ containerNumbers: [BOX.rotate] }),
      WebhookPayloadFormat.DCSA_TNT_3,
    );
    const c = hooksAs(TOKENS.firm);
    const rotated = await unary(c.rotateWebhookSecret.bind(c), { id: hook.webhook?.id ?? '' });
    expect(rotated.secret).not.toBe(hook.secret);
    expect(rotated.webhook?.previousSecretExpiresTime?.getTime()).toBeGreaterThan(Date.now());
    await publish([move(EquipmentEventType.DISC, BOX.rotate, { vessel: VESSEL_IN })]);
    const [r] = await waitFor(
      () => (rx.accepted('/rotate').length === 1 ? rx.accepted('/rotate') : undefined),
      {
        timeoutMs: 20_000,
        what: 'the delivery after rotation',
      },
    );
    if (!r) throw new Error('no delivery');
    expect(() => verify(hook.secret, r)).not.toThrow();
    expect(() => verify(rotated.secret, r)).not.toThrow();
    expect(() => verify(`whsec_${Buffer.alloc(32, 7).toString('base64')}`, r)).toThrow();
    // The DCSA Track & Trace shape.
    const dcsa = JSON.parse(r.body) as { events: Record<string, unknown>[] };
    expect(dcsa.events[0]).toMatchObject({
      eventClassification: {
        eventTypeCode: 'EQUIPMENT',
        eventClassifierCode: 'ACT',
        equipmentEventTypeCode: 'DISC',
      },
      equipmentDetails: { equipmentReference: BOX.rotate, ISOEquipmentCode: '45G1' },
      eventLocation: { UNLocationCode: 'VNHPH', facility: { facilityCode: 'HICT' } },
      relatedDocumentReferences: [{ type: 'BOL', reference: 'HLCUNTF0000005' }],
    });
  });

  it('a restart of the notify service loses nothing: events accepted while it was down arrive, once each, in order', async () => {
    await create(TOKENS.firm, '/restart', filter({ containerNumbers: [BOX.restart] }));
    await notify?.stop();
    await publish([move(EquipmentEventType.DISC, BOX.restart, { vessel: VESSEL_IN })]);
    await publish([move(EquipmentEventType.GTOT, BOX.restart)]);
    notify = await startNotifyWith(config);
    await waitFor(() => rx.accepted('/restart').length >= 2, {
      timeoutMs: 20_000,
      what: 'deliveries after restart',
    });
    const got = rx.accepted('/restart');
    expect(got.map((r) => bodyOf(r).data.event.equipment.type)).toEqual([
      'EQUIPMENT_EVENT_TYPE_DISC',
      'EQUIPMENT_EVENT_TYPE_GTOT',
    ]);
    expect(new Set(got.map((r) => r.headers['webhook-id'])).size).toBe(2);
  });

  it('refuses loopback, private and link-local endpoints unless the deployment allows them', async () => {
    // An endpoint registered while allowed, then the service restarted with the setting off (the default).
    const earlier = await create(TOKENS.firm, '/refused', filter({ containerNumbers: [BOX.refused] }));
    await notify?.stop();
    notify = await startNotifyWith({ ...config, NOTIFY_ALLOW_PRIVATE_TARGETS: false });
    const c = hooksAs(TOKENS.firm);
    for (const url of [
      'http://127.0.0.1:9/x',
      'http://10.1.2.3/x',
      'http://169.254.169.254/latest/meta-data',
      'http://[::1]:9/x',
      'http://[::ffff:127.0.0.1]/x',
      'http://2130706433/x',
      'http://localhost:9/x',
      'http://192.168.1.10/x',
    ]) {
      const r = await refusal(
        unary(c.createWebhook.bind(c), {
          url,
          filter: filter({}),
          format: WebhookPayloadFormat.PORTSTREAM,
          description: '',
        }),
      );
      expect(r.code, url).toBe(grpcStatus.INVALID_ARGUMENT);
      expect(r.details, url).toMatch(/^url: /);
    }
    // At delivery, too: the earlier endpoint on loopback is refused, nothing reaches it, the log says so.
    await publish([move(EquipmentEventType.DISC, BOX.refused, { vessel: VESSEL_IN })]);
    const id = earlier.webhook?.id ?? '';
    const log = await waitFor(
      async () => {
        const l = await unary(c.listWebhookDeliveries.bind(c), { webhookId: id, pageSize: 0, pageToken: '' });
        return l.deliveries.length > 0 ? l : undefined;
      },
      { timeoutMs: 20_000, what: 'a refused delivery in the log' },
    );
    expect(log.deliveries[0]?.outcome).toBe(DeliveryOutcome.REFUSED);
    expect(rx.received('/refused')).toEqual([]);
  });
  it('a receiver hanging past the request timeout, then back: every event delivered, in order per container, none of another firm’s, the log true', async () => {
    // A notify instance whose requests time out quickly and that tolerates a long failing spell.
    await notify?.stop();
    notify = await startNotifyWith({
      ...config,
      NOTIFY_REQUEST_TIMEOUT_MS: 300,
      NOTIFY_DISABLE_AFTER_MS: 60_000,
    });
    try {
      rx.behave('/slow', { kind: 'hold' });
      // Firm A's webhook names its two boxes and one of firm B's.
      const hook = await create(
        TOKENS.firm,
        '/slow',
        filter({ containerNumbers: [BOX.slow1, BOX.slow2, BOX.slowB] }),
      );
      const id = hook.webhook?.id ?? '';
      const sent = [
        move(EquipmentEventType.DISC, BOX.slow1, { vessel: VESSEL_IN }),
        move(EquipmentEventType.DISC, BOX.slowB, { vessel: VESSEL_IN }),
        move(EquipmentEventType.DISC, BOX.slow2, { vessel: VESSEL_IN }),
        move(EquipmentEventType.INSP, BOX.slow1),
        move(EquipmentEventType.GTOT, BOX.slowB),
        move(EquipmentEventType.GTOT, BOX.slow2),
        move(EquipmentEventType.GTOT, BOX.slow1),
      ];
      for (const e of sent) await publish([e]);
      // The receiver hangs through several attempts, each abandoned at the timeout, then answers again.
      await waitFor(() => rx.received('/slow').length >= 4, {
        timeoutMs: 20_000,
        what: 'four attempts against the hanging receiver',
      });
      rx.behave('/slow', { kind: 'ok' });
      const mine = sent.filter((e) => containerOf(e) !== BOX.slowB);
      await waitFor(
        () => new Set(rx.accepted('/slow').map((r) => bodyOf(r).data.event.eventId)).size >= mine.length,
        { timeoutMs: 30_000, what: 'every event of A’s boxes after the receiver came back' },
      );
      const all = rx.received('/slow');
      const timedOut = all.filter((r) => r.answered === 0);
      expect(timedOut.length).toBeGreaterThanOrEqual(4);
      const got = rx.accepted('/slow');
      for (const r of got) verify(hook.secret, r);
      // Nothing of firm B's box, in any attempt.
      expect(all.map((r) => bodyOf(r).data.event.equipment.containerNumber)).not.toContain(BOX.slowB);
      // At least once each, and per container in the order sent (first arrivals).
      const firstArrivals = [...new Set(got.map((r) => bodyOf(r).data.event.eventId))];
      expect([...firstArrivals].sort()).toEqual(mine.map((e) => e.eventId).sort());
      for (const box of [BOX.slow1, BOX.slow2]) {
        const order = firstArrivals.filter((eid) => containerOf(sent.find((e) => e.eventId === eid)) === box);
        expect({ box, order }).toEqual({
          box,
          order: sent.filter((e) => containerOf(e) === box).map((e) => e.eventId),
        });
      }
      // The delivery log, oldest first: one entry per attempt the receiver saw, the hung ones failed with no
      // status and a timeout, and every message delivered once its attempts timed out.
      const c = hooksAs(TOKENS.firm);
      const log = (
        await unary(c.listWebhookDeliveries.bind(c), { webhookId: id, pageSize: 100, pageToken: '' })
      ).deliveries.reverse();
      expect(log.map((d) => d.messageId)).toEqual(all.map((r) => String(r.headers['webhook-id'])));
      expect(log.map((d) => d.outcome)).toEqual(
        all.map((r) => (r.answered === 0 ? DeliveryOutcome.FAILED : DeliveryOutcome.DELIVERED)),
      );
      for (const d of log.filter((x) => x.outcome === DeliveryOutcome.FAILED)) {
        expect({ status: d.statusCode, error: d.error }).toEqual({
          status: 0,
          error: expect.stringMatching(/no answer within 300 ms/) as unknown,
        });
      }
      expect(log.every((d) => d.containerNumber !== BOX.slowB)).toBe(true);
      const byMessage = new Map<string, DeliveryOutcome[]>();
      for (const d of log) byMessage.set(d.messageId, [...(byMessage.get(d.messageId) ?? []), d.outcome]);
      expect(byMessage.size).toBe(mine.length);
      for (const outcomes of byMessage.values()) expect(outcomes.at(-1)).toBe(DeliveryOutcome.DELIVERED);
      expect([...byMessage.values()].some((o) => o[0] === DeliveryOutcome.FAILED)).toBe(true);
      // Delivered again: the failing spell is over and the webhook stays active.
      const w = await waitFor(
        async () => {
          const x = (await unary(c.getWebhook.bind(c), { id })).webhook;
          return x?.failingSince === undefined ? x : undefined;
        },
        { what: 'failingSince cleared' },
      );
      expect(w.state).toBe(WebhookState.ACTIVE);
    } finally {
      rx.release('/slow');
      await notify.stop();
      notify = await startNotifyWith(config);
    }
  });

  it('a notify process killed mid-delivery: after restart every event arrives, the one in flight again under the same webhook-id', async () => {
    await notify?.stop();
    notify = undefined;
    const dir = await mkdtemp(path.join(tmpdir(), 'portstream-notify-'));
    const env = {
      NATS_URL: nats.url,
      AUTH_TOKENS_FILE: await writeTokensFile(dir),
      OPS_HTTP_PORT: '0',
      NOTIFY_GRPC_PORT: '0',
      NOTIFY_HTTP_PORT: '0',
      NOTIFY_ALLOW_PRIVATE_TARGETS: 'true',
      NOTIFY_ALLOW_HTTP: 'true',
      NOTIFY_RETRY_MIN_MS: '50',
      NOTIFY_RETRY_MAX_MS: '200',
      // The held request times out after a second; its message comes back after ack_wait (6 s) once killed.
      NOTIFY_REQUEST_TIMEOUT_MS: '1000',
    };
    let svc = startService('notify', env);
    try {
      const ready = await svc.logLine('notify ready', 60_000);
      const admin = clientAs(WebhookServiceClient, String(ready.grpc), TOKENS.admin);
      clients.push(admin);
      const hook = await unary(admin.createWebhook.bind(admin), {
        url: `${rx.url}/crash`,
        filter: filter({ containerNumbers: [BOX.crash] }),
        format: WebhookPayloadFormat.PORTSTREAM,
        description: '',
      });
      rx.behave('/crash', { kind: 'hold' });
      const sent = [
        move(EquipmentEventType.DISC, BOX.crash, { vessel: VESSEL_IN }),
        move(EquipmentEventType.INSP, BOX.crash),
        move(EquipmentEventType.GTOT, BOX.crash),
      ];
      for (const e of sent) await publish([e]);
      // Killed once all three are in the outbox and the first is on the wire (the kill tests delivery, not fan-out).
      const subject = notifySubjects.outbox(hook.webhook?.id ?? '');
      const jsm = await jetstreamManager(nc);
      await waitFor(
        async () =>
          (await jsm.streams.info(STREAM_WEBHOOK_OUTBOX, { subjects_filter: subject })).state.subjects?.[
            subject
          ] === 3,
        { timeoutMs: 20_000, what: 'three messages in the outbox' },
      );
      await waitFor(() => rx.received('/crash').length === 1, {
        timeoutMs: 20_000,
        what: 'the first delivery, held',
      });
      svc.proc.kill('SIGKILL');
      await svc.exited;
      rx.behave('/crash', { kind: 'ok' });
      rx.release('/crash');
      svc = startService('notify', env);
      await waitFor(() => rx.accepted('/crash').length >= 3, {
        timeoutMs: 60_000,
        what: 'every event after the restart',
      });
      const got = rx.accepted('/crash');
      expect(got.map((r) => bodyOf(r).data.event.eventId)).toEqual(sent.map((e) => e.eventId));
      // Each message answered 2xx once; the one in flight at the kill came again with its webhook-id.
      expect(new Set(got.map((r) => r.headers['webhook-id'])).size).toBe(3);
      expect(rx.received('/crash')[0]?.headers['webhook-id']).toBe(got[0]?.headers['webhook-id']);
    } finally {
      svc.proc.kill('SIGTERM');
      await svc.exited;
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
