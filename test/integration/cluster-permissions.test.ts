// The per-service NATS users of deploy/nats/accounts.conf, enforced by a real nats-server with TLS from
// scripts/dev-ca.sh: each service can do what it needs through the real clients, and the things it must not do
// (a gateway deleting a stream, a processor publishing events, the API writing state) are refused. The real
// gateway and processor run as their users too, so a permission the code needs cannot go missing unnoticed.
import { Metadata } from '@grpc/grpc-js';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type JetStreamManager,
} from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { loadConfig } from '../../core/config.js';
import { silentLogger } from '../../core/logger.js';
import { LocalNatsServer } from '../../core/nats/local-server.js';
import { CasBucket, PipelinedRequests } from '../../core/nats/pipelined.js';
import { startIngest } from '../../ingest/main.js';
import { startProcessor } from '../../processor/main.js';
import { indexPrefix } from '../../core/state/list-index.js';
import { startIndexCompaction } from '../../processor/index/compaction.js';
import { startListIndex } from '../../processor/index/projection.js';
import { startContainerRetention } from '../../processor/state/retention.js';
import { ContainerLocation } from '../../proto/gen/portstream/v1/tracking.js';
import { KvTrackingStore } from '../../api/tracking/store.js';
import { ensureBuckets } from '../../core/nats/buckets.js';
import {
  decodeContainerRecord,
  encodeContainerRecord,
  newContainerRecord,
} from '../../core/state/container.js';
import { waitFor } from '../../test-kit/poll.js';
import {
  ClearanceStatus,
  CustomsServiceClient,
  EnterprisePriority,
  type GetDeclarationResponse,
  type SubmitDeclarationResponse,
} from '../../proto/gen/portstream/v1/customs.js';
import { EventStatus, IngestServiceClient } from '../../proto/gen/portstream/v1/ingest.js';
import {
  EnterpriseServiceClient,
  type PutEnterpriseResponse,
} from '../../proto/gen/portstream/v1/enterprise.js';
import { clientAs, TOKENS, testAuth } from '../../test-kit/auth.js';
import { bill, FIRM_A, manifest, party, VESSEL_IN } from '../helpers/manifests.js';
import { unary } from '../helpers/rpc.js';
import { CargoFlow, ManifestServiceClient } from '../../proto/gen/portstream/v1/manifest.js';
import { OTHER_TAX, sampleDeclaration, TEST_RULES } from '../helpers/declarations.js';
import { containerNumber, equipmentEvent } from '../../test-kit/events.js';
import { publish } from '../helpers/gateway.js';
import { SINK_CONSUMER } from '../../sink/index.js';
import { createNatsTopology } from '../../cli/topology.js';
import { notifySubjects, STREAM_WEBHOOK_OUTBOX } from '../../core/nats/notify.js';
import { parseDeadLetter } from '../../core/consumer/index.js';
import { startNotify } from '../../notify/main.js';
import { Decision } from '../../proto/gen/portstream/v1/customs.js';
import {
  DeliveryOutcome,
  WebhookPayloadFormat,
  WebhookServiceClient,
} from '../../proto/gen/portstream/v1/notify.js';
import { startWebhookReceiver } from '../helpers/webhook-receiver.js';
import {
  ensureStreams,
  STREAM_DEADLETTERS,
  STREAM_DECISIONS,
  STREAM_EVENTS,
} from '../../core/nats/topology.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const PASSWORDS = {
  ingest: 'pw-ingest',
  processor: 'pw-processor',
  sink: 'pw-sink',
  api: 'pw-api',
  notify: 'pw-notify',
  admin: 'pw-admin',
} as const;
type Service = keyof typeof PASSWORDS;
/** Denied calls get no answer (or a permission error): keep their wait short. */
const API_TIMEOUT_MS = 1500;
/** A refused call fails with the server's permission violation (not a timeout: nothing waits for it). */
const DENIED = /permission/i;

describe('NATS least privilege (deploy/nats/accounts.conf)', () => {
  let dir: string;
  let server: LocalNatsServer | undefined;
  let url = '';
  const conns: NatsConnection[] = [];

  const as = async (user: Service): Promise<NatsConnection> => {
    const nc = await connect({
      servers: url,
      user,
      pass: PASSWORDS[user],
      tls: { caFile: path.join(dir, 'tls/ca.pem') },
      timeout: 3000,
    });
    conns.push(nc);
    return nc;
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'portstream-perms-'));
    const ca = spawnSync('bash', [path.join(ROOT, 'scripts/dev-ca.sh'), path.join(dir, 'tls')], {
      encoding: 'utf8',
    });
    expect(ca.status, ca.stderr).toBe(0);
    // The deployed accounts file, with its password variables defined in front of it.
    const accounts = await readFile(path.join(ROOT, 'deploy/nats/accounts.conf'), 'utf8');
    const vars = [
      ...Object.entries(PASSWORDS).map(([u, p]) => `NATS_${u.toUpperCase()}_PASSWORD: "${p}"`),
      'NATS_SYS_PASSWORD: "pw-sys"',
    ];
    // nats-server resolves `include` beside the config file, which LocalNatsServer writes in its store folder.
    await mkdir(path.join(dir, 'js'), { recursive: true });
    await writeFile(path.join(dir, 'js/accounts.conf'), `${vars.join('\n')}\n${accounts}`);
    const tls = (f: string): string => JSON.stringify(path.join(dir, 'tls', f));
    server = await LocalNatsServer.start({
      storeDir: path.join(dir, 'js'),
      port: 0,
      extraConfig: [
        `tls { cert_file: ${tls('server.pem')}, key_file: ${tls('server-key.pem')}, ca_file: ${tls('ca.pem')} }`,
        'include ./accounts.conf',
      ].join('\n'),
    });
    url = server.url;
  });
  afterAll(async () => {
    await Promise.all(conns.map((nc) => nc.close()));
    await server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a client without credentials', async () => {
    await expect(
      connect({ servers: url, tls: { caFile: path.join(dir, 'tls/ca.pem') }, timeout: 2000 }),
    ).rejects.toThrow(/Authorization/i);
  });

  it('ingest: creates the streams and publishes events, but cannot delete, consume or decide', async () => {
    const nc = await as('ingest');
    const jsm = await jetstreamManager(nc, { timeout: API_TIMEOUT_MS });
    await ensureStreams(jsm, {
      replicas: 1,
      eventsMaxAgeHours: 1,
      eventsMaxBytes: 1e8,
      duplicateWindowSeconds: 120,
    });
    const js = jetstream(nc, { timeout: API_TIMEOUT_MS });
    const ack = await js.publish('ps.events.VNHPH.HICT.equipment', new Uint8Array([1]));
    expect(ack.stream).toBe(STREAM_EVENTS);
    await expect(jsm.streams.delete(STREAM_EVENTS)).rejects.toThrow(DENIED);
    await expect(jsm.streams.purge(STREAM_EVENTS)).rejects.toThrow(DENIED);
    await expect(
      jsm.consumers.add(STREAM_EVENTS, { durable_name: 'processor-events', ack_policy: AckPolicy.Explicit }),
    ).rejects.toThrow(DENIED);
    await expect(js.publish('ps.customs.decisions.D1', new Uint8Array([1]))).rejects.toThrow(DENIED);
    // Container state: read (the terminal check) and written (the shipments a manifest gives containers).
    const containers = await new Kvm(js).create('ps_containers', { replicas: 1 });
    expect(await containers.get('MSCU1234565')).toBeNull();
    // It reads the declarants seen (the first-time rule) and writes no declaration state of its own.
    const declarants = await new Kvm(js).create('ps_declarants', { history: 1 });
    expect(await declarants.get('0100109106')).toBeNull();
    await expect(declarants.put('0100109106', 'forged')).rejects.toThrow(DENIED);
    const declarations = await new Kvm(js).create('ps_declarations', { history: 1 });
    await expect(declarations.put('108600000999', 'forged')).rejects.toThrow(DENIED);
  });

  it('processor: consumes with its own durable, keeps KV state, decides; cannot publish events', async () => {
    const nc = await as('processor');
    const jsm = await jetstreamManager(nc, { timeout: API_TIMEOUT_MS });
    const js = jetstream(nc, { timeout: API_TIMEOUT_MS });
    await jsm.consumers.add(STREAM_EVENTS, {
      durable_name: 'processor-events',
      ack_policy: AckPolicy.Explicit,
    });
    const m = await (await js.consumers.get(STREAM_EVENTS, 'processor-events')).next({ expires: 2000 });
    expect(m?.subject).toBe('ps.events.VNHPH.HICT.equipment');
    expect(await m?.ackAck()).toBe(true);
    await expect(
      jsm.consumers.add(STREAM_EVENTS, { durable_name: 'rogue', ack_policy: AckPolicy.Explicit }),
    ).rejects.toThrow(DENIED);

    const kv = await new Kvm(js).create('ps_containers', { replicas: 1 });
    const inYard = newContainerRecord('MSCU1234565');
    inYard.status.location = ContainerLocation.IN_YARD;
    await kv.put('MSCU1234565', encodeContainerRecord(inYard));
    const stored = await kv.get('MSCU1234565');
    expect(stored && decodeContainerRecord(stored.value).status.location).toBe(ContainerLocation.IN_YARD);
    await expect(new Kvm(js).create('other_bucket')).rejects.toThrow(DENIED);

    expect((await js.publish('ps.customs.decisions.D1', new Uint8Array([7]))).stream).toBe(STREAM_DECISIONS);
    await expect(js.publish('ps.events.VNHPH.HICT.equipment', new Uint8Array([1]))).rejects.toThrow(DENIED);
    await expect(js.publish('ps.customs.commands.D1', new Uint8Array([1]))).rejects.toThrow(DENIED);
  });

  it('sink: consumes with its own durable only; publishes only its dead letters; cannot create streams', async () => {
    const nc = await as('sink');
    const jsm = await jetstreamManager(nc, { timeout: API_TIMEOUT_MS });
    const js = jetstream(nc, { timeout: API_TIMEOUT_MS });
    await jsm.consumers.add(STREAM_EVENTS, { durable_name: SINK_CONSUMER, ack_policy: AckPolicy.Explicit });
    const m = await (await js.consumers.get(STREAM_EVENTS, SINK_CONSUMER)).next({ expires: 2000 });
    expect(await m?.ackAck()).toBe(true);
    await expect(jsm.streams.add({ name: 'SINK_OWN', subjects: ['sink.>'] })).rejects.toThrow(DENIED);
    // Dead letters of its own streams only (an undecodable message), never another stream's.
    expect((await js.publish('ps.deadletters.PS_EVENTS', new Uint8Array([1]))).stream).toBe(
      STREAM_DEADLETTERS,
    );
    await expect(js.publish('ps.deadletters.KV_ps_containers', new Uint8Array([1]))).rejects.toThrow(DENIED);
    await expect(js.publish('ps.events.VNHPH.HICT.equipment', new Uint8Array([1]))).rejects.toThrow(DENIED);
  });

  it('api: reads KV and watches decisions; cannot write state or events', async () => {
    const nc = await as('api');
    const js = jetstream(nc, { timeout: API_TIMEOUT_MS });
    const kv = await new Kvm(js).open('ps_containers');
    const stored = await kv.get('MSCU1234565');
    expect(stored && decodeContainerRecord(stored.value).status.location).toBe(ContainerLocation.IN_YARD);
    // The tracking store's point reads: direct gets over pipelined requests (core/nats/pipelined.ts).
    const requests = new PipelinedRequests(nc);
    const got = await new CasBucket(requests, 'ps_containers').get('MSCU1234565');
    requests.close();
    expect(got && decodeContainerRecord(got.value).status.containerNumber).toBe('MSCU1234565');
    await expect(kv.put('MSCU1234565', 'gone')).rejects.toThrow(DENIED);
    // WatchDecisions: an ordered consumer from the start of PS_DECISIONS.
    const decisions = await js.consumers.get(STREAM_DECISIONS);
    const d = await decisions.next({ expires: 2000 });
    expect(d?.subject).toBe('ps.customs.decisions.D1');
    await decisions.delete();
    await expect(js.publish('ps.events.VNHPH.HICT.equipment', new Uint8Array([1]))).rejects.toThrow(DENIED);
    await expect(js.publish('ps.customs.decisions.D2', new Uint8Array([1]))).rejects.toThrow(DENIED);
  });

  it('no service may change or delete a stream or bucket, or touch the sink durable; the admin may', async () => {
    const jsmOf = async (user: Service): Promise<JetStreamManager> =>
      jetstreamManager(await as(user), { timeout: API_TIMEOUT_MS });
    const sinkNc = await as('sink');
    const sink = await jetstreamManager(sinkNc, { timeout: API_TIMEOUT_MS });
    const ingest = await jsmOf('ingest');
    const processor = await jsmOf('processor');
    const api = await jsmOf('api');
    const adminNc = await as('admin');
    const admin = await jetstreamManager(adminNc, { timeout: API_TIMEOUT_MS });
    // The admin step creates the buckets (here: the sink's lease bucket, whose max_age is the lease length).
    await new Kvm(jetstream(adminNc)).create('ps_sink_leases', { history: 1, ttl: 10_000 });
    // The victim: the sink's durable on PS_DECISIONS, which has delivered and acked one decision.
    await sink.consumers.add(STREAM_DECISIONS, {
      durable_name: SINK_CONSUMER,
      ack_policy: AckPolicy.Explicit,
    });
    const sinkJs = jetstream(sinkNc, { timeout: API_TIMEOUT_MS });
    const first = await (await sinkJs.consumers.get(STREAM_DECISIONS, SINK_CONSUMER)).next({ expires: 2000 });
    expect(await first?.ackAck()).toBe(true);
    const before = {
      stream: (await admin.streams.info(STREAM_DECISIONS)).config,
      durable: await admin.consumers.info(STREAM_DECISIONS, SINK_CONSUMER),
    };

    const SECOND = 1_000_000_000;
    for (const [user, jsm] of [
      ['ingest', ingest],
      ['processor', processor],
      ['sink', sink],
      ['api', api],
    ] as const) {
      // Shrinking max_age would purge a year of decisions.
      await expect(
        jsm.streams.update(STREAM_DECISIONS, { max_age: SECOND }),
        `${user} updates PS_DECISIONS`,
      ).rejects.toThrow(DENIED);
      await expect(jsm.streams.delete(STREAM_DECISIONS), `${user} deletes PS_DECISIONS`).rejects.toThrow(
        DENIED,
      );
      await expect(
        jsm.streams.update('KV_ps_containers', { max_age: SECOND }),
        `${user} updates the containers bucket`,
      ).rejects.toThrow(DENIED);
    }
    await expect(sink.streams.update('KV_ps_sink_leases', { max_age: SECOND })).rejects.toThrow(DENIED);
    // Deleting (or re-creating) the sink's durable would make it replay the stream from the start.
    for (const [user, jsm] of [
      ['ingest', ingest],
      ['processor', processor],
      ['api', api],
    ] as const) {
      await expect(
        jsm.consumers.delete(STREAM_DECISIONS, SINK_CONSUMER),
        `${user} deletes the sink's durable`,
      ).rejects.toThrow(DENIED);
      await expect(
        jsm.consumers.add(STREAM_DECISIONS, {
          durable_name: SINK_CONSUMER,
          ack_policy: AckPolicy.Explicit,
          deliver_policy: DeliverPolicy.All,
        }),
        `${user} re-creates the sink's durable`,
      ).rejects.toThrow(DENIED);
    }
    await expect(sink.consumers.delete(STREAM_EVENTS, 'processor-events')).rejects.toThrow(DENIED);

    // The victim's view is unchanged: the stream keeps its retention, the durable its position.
    const after = {
      stream: (await admin.streams.info(STREAM_DECISIONS)).config,
      durable: await admin.consumers.info(STREAM_DECISIONS, SINK_CONSUMER),
    };
    expect(after.stream.max_age).toBe(before.stream.max_age);
    expect(after.stream.max_age).toBeGreaterThan(300 * 24 * 3600 * SECOND);
    expect(after.durable.ack_floor.stream_seq).toBe(before.durable.ack_floor.stream_seq);
    expect(after.durable.created).toBe(before.durable.created);

    // What only the admin step may do: bring a stream to new settings.
    const updated = await admin.streams.update(STREAM_DEADLETTERS, { description: 'dead letters (admin)' });
    expect(updated.config.description).toBe('dead letters (admin)');
  });

  it('the real gateway and processor, each as its own user, take events and decide a declaration', async () => {
    // No random inspection: the declaration's channel is then fixed.
    const rulesFile = path.join(dir, 'rules.json');
    await writeFile(rulesFile, JSON.stringify(TEST_RULES));
    const config = loadConfig({ NATS_URL: url, INGEST_PORT: '0', CUSTOMS_RULES_FILE: rulesFile });
    const log = silentLogger();
    const ingest = await startIngest({
      config,
      log,
      nc: await as('ingest'),
      registry: new Registry(),
      auth: testAuth,
    });
    const processor = await startProcessor({ config, log, nc: await as('processor') });
    const events = clientAs(IngestServiceClient, ingest.address, TOKENS.operator);
    const customs = clientAs(CustomsServiceClient, ingest.address, TOKENS.customs);
    const manifests = clientAs(ManifestServiceClient, ingest.address, TOKENS.carrier);
    try {
      const res = await publish(events, [equipmentEvent('perm-1', 1)]);
      expect(res.results.map((r) => r.status)).toEqual([EventStatus.ACCEPTED]);
      // Customs puts the trader on the register through the gateway (it writes ps_enterprises, the processor reads it).
      const register = clientAs(EnterpriseServiceClient, ingest.address, TOKENS.customs);
      const entry = await new Promise<PutEnterpriseResponse>((resolve, reject) => {
        register.putEnterprise(
          {
            enterprise: {
              taxCode: OTHER_TAX,
              name: 'Sample Trading JSC',
              priority: EnterprisePriority.AEO,
              watchListed: false,
              watchReason: '',
              licences: [],
            },
            reason: 'AEO granted',
            expectedRevision: 0,
          },
          new Metadata(),
          { deadline: Date.now() + 10_000 },
          (err, r) => {
            if (err) reject(err);
            else resolve(r);
          },
        );
      });
      register.close();
      expect(entry.record?.revision).toBeGreaterThan(0);
      // The gateway decides (ledger read, register and declarants read, one append); the processor projects it.
      const declaration = sampleDeclaration('green', '108600000123');
      const answer = await new Promise<SubmitDeclarationResponse>((resolve, reject) => {
        customs.submitDeclaration(
          { declaration },
          new Metadata(),
          { deadline: Date.now() + 10_000 },
          (err, r) => {
            if (err) reject(err);
            else resolve(r);
          },
        );
      });
      expect(answer.status).toBe(ClearanceStatus.CLEARED);
      // The processor, as its own user, puts it on the decision feed and records its position.
      const read = (): Promise<GetDeclarationResponse> =>
        new Promise((resolve, reject) => {
          customs.getDeclaration(
            { declarationNumber: declaration.declarationNumber },
            new Metadata(),
            { deadline: Date.now() + 10_000 },
            (err, r) => {
              if (err) reject(err);
              else resolve(r);
            },
          );
        });
      await waitFor(async () => ((await read()).decision?.position ?? 0) > 0);
      // Filing a manifest claims its bills and containers and writes each container's shipment.
      const box = containerNumber('PRM', 1);
      const filed = await unary(manifests.fileManifest.bind(manifests), {
        manifest: manifest('HLCU', VESSEL_IN, [
          bill('HLCUPRM0000001', CargoFlow.IMPORT, [box], { consignee: party(FIRM_A) }),
        ]),
        expectedVersion: 0,
      });
      expect(filed.version).toBe(1);
      const bl = await unary(manifests.getBillOfLading.bind(manifests), { billNumber: 'HLCUPRM0000001' });
      expect(bl.bill?.containers.map((c) => c.containerNumber)).toEqual([box]);
    } finally {
      events.close();
      customs.close();
      manifests.close();
      await ingest.stop();
      await processor.stop();
    }
  });

  it('list index: the processor’s projection writes it, the API lists a caller’s keys and every container, and cannot write it', async () => {
    const pnc = await as('processor');
    const pjs = jetstream(pnc, { timeout: API_TIMEOUT_MS });
    const buckets = await ensureBuckets(pjs, 1);
    const index = await startListIndex({
      js: pjs,
      jsm: await jetstreamManager(pnc, { timeout: API_TIMEOUT_MS }),
      nc: pnc,
      buckets,
      logger: silentLogger(),
      ackWaitMs: 2000,
    });
    const anc = await as('api');
    const store = await KvTrackingStore.open(anc, 1);
    try {
      const n = containerNumber('PRM', 9);
      const rec = newContainerRecord(n);
      rec.status.facility = { unLocode: 'VNHPH', terminalCode: 'HICT' };
      await buckets.containers.put(n, encodeContainerRecord(rec));
      const terminal = indexPrefix.terminal('VNHPH', 'HICT');
      await waitFor(async () => (await store.listed(terminal)).includes(n), {
        timeoutMs: 10_000,
        what: 'the projection to index the container',
      });
      // Customs' and admin's candidates: the containers bucket's own keys, read as the api user.
      expect(await store.every('c')).toContain(n);
      const kv = await new Kvm(jetstream(anc, { timeout: API_TIMEOUT_MS })).open('ps_list_index');
      await expect(kv.put(`${terminal}${n}`, '1')).rejects.toThrow(DENIED);
    } finally {
      store.close();
      await index.stop();
    }
  });
  it('notify, as its own user: fans out and delivers a decision, dead-letters what it cannot read; cannot publish events, write state or change streams', async () => {
    // The admin step creates the notify streams and the webhooks bucket, as `portstream migrate` does.
    const config = loadConfig({
      NATS_URL: url,
      NOTIFY_GRPC_PORT: '0',
      NOTIFY_HTTP_PORT: '0',
      NOTIFY_ALLOW_PRIVATE_TARGETS: 'true',
      NOTIFY_ALLOW_HTTP: 'true',
    });
    await createNatsTopology(await as('admin'), config);
    const nc = await as('notify');
    const rx = await startWebhookReceiver();
    const notify = await startNotify({
      config,
      log: silentLogger(),
      nc,
      registry: new Registry(),
      auth: testAuth,
      directory: testAuth,
    });
    const hooks = clientAs(WebhookServiceClient, notify.grpcAddress, TOKENS.customs);
    try {
      const created = await unary(hooks.createWebhook.bind(hooks), {
        url: `${rx.url}/customs`,
        filter: {
          containerEvents: false,
          decisions: true,
          containerNumbers: [],
          billNumbers: [],
          eventTypes: [],
          declarationNumbers: ['108600000777'],
        },
        format: WebhookPayloadFormat.PORTSTREAM,
        description: '',
      });
      const webhookId = created.webhook?.id ?? '';
      const js = jetstream(nc, { timeout: API_TIMEOUT_MS });
      // Something in its outbox that is no outbox item: the delivery worker dead-letters it as its own user
      // (the one record format, PS_DEADLETTERS) and goes on to the decision behind it.
      const junk = await js.publish(notifySubjects.outbox(webhookId), new Uint8Array([0xff]));
      const processor = jetstream(await as('processor'), { timeout: API_TIMEOUT_MS });
      await processor.publish(
        'ps.customs.decisions.108600000777',
        Decision.encode(Decision.fromPartial({ declarationNumber: '108600000777', revision: 1 })).finish(),
      );
      await waitFor(() => rx.accepted('/customs').length === 1, {
        timeoutMs: 15_000,
        what: 'the decision delivered',
      });
      const log = await unary(hooks.listWebhookDeliveries.bind(hooks), {
        webhookId: created.webhook?.id ?? '',
        pageSize: 0,
        pageToken: '',
      });
      expect(log.deliveries.map((d) => d.outcome)).toEqual([DeliveryOutcome.DELIVERED]);
      const adminJsm = await jetstreamManager(await as('admin'), { timeout: API_TIMEOUT_MS });
      const records = [];
      const last = (await adminJsm.streams.info(STREAM_DEADLETTERS)).state.last_seq;
      for (let seq = 1; seq <= last; seq++) {
        const m = await adminJsm.streams.getMessage(STREAM_DEADLETTERS, { seq }).catch(() => null);
        if (m?.subject === `ps.deadletters.${STREAM_WEBHOOK_OUTBOX}`) records.push(parseDeadLetter(m.data));
      }
      expect(records.map((r) => [r.consumer, r.streamSeq, r.cause])).toEqual([
        [`notify-${webhookId}`, junk.seq, 'permanent'],
      ]);

      const jsm = await jetstreamManager(nc, { timeout: API_TIMEOUT_MS });
      await expect(js.publish('ps.events.VNHPH.HICT.equipment', new Uint8Array([1]))).rejects.toThrow(DENIED);
      await expect(js.publish('ps.customs.decisions.D9', new Uint8Array([1]))).rejects.toThrow(DENIED);
      await expect(js.publish('ps.deadletters.PS_CUSTOMS', new Uint8Array([1]))).rejects.toThrow(DENIED);
      const containers = await new Kvm(js).open('ps_containers');
      await expect(containers.put('MSCU1234565', 'moved')).rejects.toThrow(DENIED);
      await expect(jsm.streams.delete(STREAM_WEBHOOK_OUTBOX)).rejects.toThrow(DENIED);
      await expect(jsm.streams.update('KV_ps_webhooks', { max_age: 1_000_000_000 })).rejects.toThrow(DENIED);
      await expect(jsm.consumers.delete(STREAM_DECISIONS, SINK_CONSUMER)).rejects.toThrow(DENIED);
      await expect(
        jsm.consumers.add(STREAM_EVENTS, {
          durable_name: 'processor-events',
          ack_policy: AckPolicy.Explicit,
        }),
      ).rejects.toThrow(DENIED);
    } finally {
      hooks.close();
      await notify.stop();
      await rx.close();
    }
  });

  it('container retention and index compaction: the processor’s sweeps scan, remove and purge as its own user, leave no scan consumer and cannot delete the index durable', async () => {
    const pnc = await as('processor');
    const pjs = jetstream(pnc, { timeout: API_TIMEOUT_MS });
    const pjsm = await jetstreamManager(pnc, { timeout: API_TIMEOUT_MS });
    const buckets = await ensureBuckets(pjs, 1);
    const index = await startListIndex({
      js: pjs,
      jsm: pjsm,
      nc: pnc,
      buckets,
      logger: silentLogger(),
      ackWaitMs: 2000,
    });
    const n = containerNumber('PRM', 11);
    const rec = newContainerRecord(n);
    rec.status.location = ContainerLocation.LEFT_TERMINAL;
    rec.bookkeeping.leftTime = new Date(Date.now() - 30 * 24 * 3_600_000);
    await buckets.containers.put(n, encodeContainerRecord(rec));
    // Events are accepted a day late here; the events stream keeps them 7 days: a marker for a container
    // that left 30 days ago guards against nothing.
    const retention = startContainerRetention({
      js: pjs,
      jsm: pjsm,
      buckets,
      logger: silentLogger(),
      retentionMs: 24 * 3_600_000,
      lateEventsMs: 24 * 3_600_000,
      timer: false,
    });
    const compaction = startIndexCompaction({
      js: pjs,
      jsm: pjsm,
      buckets,
      logger: silentLogger(),
      intervalMs: 60_000,
      timer: false,
    });
    try {
      expect((await retention.sweep()).retired).toBeGreaterThanOrEqual(1);
      expect((await buckets.containers.get(n))?.operation).toBe('DEL');
      await waitFor(
        async () => {
          const i = await pjsm.consumers.info('KV_ps_containers', 'processor-index');
          return i.num_pending === 0 && i.num_ack_pending === 0;
        },
        { timeoutMs: 10_000, what: 'the projection to take the retirement' },
      );
      expect((await retention.sweep()).removed).toBeGreaterThanOrEqual(1);
      expect(await buckets.containers.get(n)).toBeNull();
      expect((await compaction.sweep()).records).toBeGreaterThanOrEqual(1);
      expect(await buckets.listIndex.get(`r.c.${n}`)).toBeNull();
    } finally {
      await compaction.stop();
      await retention.stop();
      await index.stop();
    }
    const adminJsm = await jetstreamManager(await as('admin'), { timeout: API_TIMEOUT_MS });
    for (const stream of ['KV_ps_containers', 'KV_ps_list_index']) {
      const names: string[] = [];
      for await (const c of adminJsm.consumers.list(stream)) names.push(c.name);
      expect(names.filter((c) => c !== 'processor-index')).toEqual([]);
    }
    await expect(pjsm.consumers.delete('KV_ps_containers', 'processor-index')).rejects.toThrow(DENIED);
    // Deleting a message is allowed on those two buckets only, and purging on none.
    const declared = await buckets.declarations.put('PRMDELETE1', '{}');
    await expect(pjsm.streams.deleteMessage('KV_ps_declarations', declared, false)).rejects.toThrow(DENIED);
    await expect(
      pjsm.streams.purge('KV_ps_containers', { filter: `$KV.ps_containers.${n}` }),
    ).rejects.toThrow(DENIED);
  });
});
