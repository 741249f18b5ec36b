// Every runnable is operable alone: `portstream ingest`, `processor`, `sink`, `api` and `notify` each run as their own
// process against a real nats-server and serve /healthz, /readyz and Prometheus /metrics on their ops port.
// Traffic through the gateway shows up in the processor's and sink's metrics; stopping nats-server turns every
// /readyz to 503 naming NATS while /healthz stays 200; a restarted nats-server makes them ready again.
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Metadata } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  Channel,
  ClearanceStatus,
  CustomsServiceClient,
  type SubmitDeclarationResponse,
} from '../../proto/gen/portstream/v1/customs.js';
import { EventStatus, IngestServiceClient } from '../../proto/gen/portstream/v1/ingest.js';
import { clientAs, TOKENS } from '../../test-kit/auth.js';
import { sampleDeclaration } from '../helpers/declarations.js';
import { discBatch } from '../../test-kit/events.js';
import { publish } from '../helpers/gateway.js';
import { startTestNats, type TestNats } from '../helpers/nats.js';
import { OPS_LISTENING, opsUrl, probe, sample } from '../helpers/ops.js';
import { waitFor } from '../../test-kit/poll.js';
import { startService, writeTokensFile, type ServiceProcess } from '../helpers/service-process.js';

const SERVICES = ['ingest', 'processor', 'sink', 'api', 'notify'] as const;
type Name = (typeof SERVICES)[number];

describe('ops endpoints of each runnable', () => {
  let nats: TestNats;
  let dir: string;
  const procs = new Map<Name, ServiceProcess>();
  const urls = new Map<Name, string>();
  let gatewayAddress: string;

  beforeAll(async () => {
    nats = await startTestNats();
    dir = await mkdtemp(path.join(tmpdir(), 'portstream-ops-'));
    const tokens = await writeTokensFile(dir);
    for (const name of SERVICES) {
      // Each its own data folder: embedded ClickHouse binds one folder per process.
      const data = path.join(dir, name);
      await mkdir(data);
      const svc = startService(name, {
        NATS_URL: nats.url,
        AUTH_TOKENS_FILE: tokens,
        PORTSTREAM_DATA_DIR: data,
        OPS_HTTP_PORT: '0',
        INGEST_PORT: '0',
        API_GRPC_PORT: '0',
        API_HTTP_PORT: '0',
        NOTIFY_GRPC_PORT: '0',
        NOTIFY_HTTP_PORT: '0',
      });
      procs.set(name, svc);
      urls.set(name, await opsUrl(svc));
      // The gateway creates the streams the others wait for.
      if (name === 'ingest') {
        const ready = await svc.logLine('ingest gateway ready', 60_000);
        gatewayAddress = String(ready.grpc);
      }
    }
  }, 240_000);

  afterAll(async () => {
    for (const p of procs.values()) p.proc.kill('SIGTERM');
    await Promise.all([...procs.values()].map((p) => p.exited));
    await nats.cleanup();
    await rm(dir, { recursive: true, force: true });
  }, 60_000);

  const url = (name: Name, route: string): string => `${urls.get(name) ?? ''}${route}`;

  it('each serves /healthz and becomes ready once its dependencies answer', async () => {
    for (const name of SERVICES) {
      const health = await probe(url(name, '/healthz'));
      expect(health.status, name).toBe(200);
      const ready = await waitFor(
        async () => {
          const r = await probe(url(name, '/readyz'));
          return r.status === 200 ? r : undefined;
        },
        { timeoutMs: 60_000, what: `${name} /readyz` },
      );
      const checks = (JSON.parse(ready.body) as { checks: Record<string, string> }).checks;
      expect(checks.nats, name).toBe('ok');
      if (name === 'sink' || name === 'api') expect(checks.clickhouse, name).toBe('ok');
      expect((await probe(url(name, '/nothing'))).status).toBe(404);
    }
  }, 120_000);

  it('/metrics shows the traffic: events accepted, applied and written, decisions by channel', async () => {
    const events = clientAs(IngestServiceClient, gatewayAddress, TOKENS.operator);
    const customs = clientAs(CustomsServiceClient, gatewayAddress, TOKENS.customs);
    let channel = Channel.UNSPECIFIED;
    try {
      const res = await publish(events, discBatch('ops-metrics', 20));
      expect(res.results.every((r) => r.status === EventStatus.ACCEPTED)).toBe(true);
      const answer = await new Promise<SubmitDeclarationResponse>((resolve, reject) => {
        customs.submitDeclaration(
          { declaration: sampleDeclaration('green', '108600077001') },
          new Metadata(),
          { deadline: Date.now() + 30_000 },
          (err, r) => {
            if (err) reject(err);
            else resolve(r);
          },
        );
      });
      // Decided (whatever the channel: the sample's AEO standing is not on this deployment's register).
      expect(answer.status).not.toBe(ClearanceStatus.PENDING);
      channel = answer.decision?.channel ?? 0;
    } finally {
      events.close();
      customs.close();
    }
    const metrics = async (name: Name): Promise<string> => {
      const r = await probe(url(name, '/metrics'));
      expect(r.status).toBe(200);
      return r.body;
    };
    const ingest = await metrics('ingest');
    expect(sample(ingest, 'portstream_ingest_events_total', '{status="accepted"}')).toBe(20);
    expect(ingest).toContain('process_resident_memory_bytes');

    await waitFor(
      async () =>
        (sample(await metrics('processor'), 'portstream_processor_events_applied_total') ?? 0) >= 20,
      { timeoutMs: 30_000, what: 'events applied in the processor metrics' },
    );
    const label = Channel[channel].toLowerCase();
    // The decision feed trails the answer (the projector takes the ledger in batches).
    await waitFor(
      async () =>
        sample(await metrics('processor'), 'portstream_processor_decisions_total', `{channel="${label}"}`) !==
        undefined,
      { timeoutMs: 30_000, what: 'the decision in the processor metrics' },
    );
    const processor = await metrics('processor');
    expect(sample(processor, 'portstream_processor_decisions_total', `{channel="${label}"}`)).toBe(1);
    // The projection's handling time is observed once its entry is done (after the decision is on the feed).
    await waitFor(
      async () =>
        (sample(
          await metrics('processor'),
          'portstream_consumer_handler_seconds_count',
          '{stream="PS_CUSTOMS",consumer="processor-customs"}',
        ) ?? 0) >= 1,
      { timeoutMs: 30_000, what: 'the ledger projection timed in the processor metrics' },
    );
    // Consumer gauges are read from the server every few seconds: the backlog drains to zero.
    await waitFor(
      async () =>
        sample(
          await metrics('processor'),
          'portstream_consumer_pending',
          '{stream="PS_EVENTS",consumer="processor-events"}',
        ) === 0,
      { timeoutMs: 30_000, what: 'processor-events pending gauge at 0' },
    );

    await waitFor(
      async () =>
        (sample(await metrics('sink'), 'portstream_sink_rows_inserted_total', '{table="events"}') ?? 0) >= 20,
      { timeoutMs: 60_000, what: 'rows inserted in the sink metrics' },
    );
    expect(await metrics('api')).toContain('portstream_api_http_request_duration_seconds');
    expect(await metrics('notify')).toContain('portstream_notify_delivery_attempts_total');
  }, 120_000);

  it('a misspelt setting stops start-up, naming it and the nearest setting', async () => {
    const svc = startService('sink', { NATS_URL: nats.url, SINK_FLUSH_MS: '500' });
    const { code } = await svc.exited;
    expect(code).toBe(2);
    expect(svc.output()).toMatch(/SINK_FLUSH_MS: not a setting; did you mean SINK_FLUSH_INTERVAL_MS\?/);
    expect(svc.output()).not.toContain(OPS_LISTENING);
  }, 60_000);

  it('/readyz turns 503 naming NATS when nats-server stops, /healthz stays 200, and recovers', async () => {
    await nats.server.stop();
    for (const name of SERVICES) {
      const notReady = await waitFor(
        async () => {
          const r = await probe(url(name, '/readyz'));
          return r.status === 503 ? r : undefined;
        },
        { timeoutMs: 30_000, what: `${name} /readyz 503` },
      );
      expect((JSON.parse(notReady.body) as { checks: Record<string, string> }).checks.nats, name).toBe(
        'not answering',
      );
      expect((await probe(url(name, '/healthz'))).status, name).toBe(200);
    }
    await nats.server.restart();
    for (const name of SERVICES) {
      await waitFor(async () => (await probe(url(name, '/readyz'))).status === 200, {
        timeoutMs: 60_000,
        what: `${name} ready again`,
      });
    }
  }, 180_000);
});
