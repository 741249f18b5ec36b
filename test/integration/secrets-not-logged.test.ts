// Secrets never reach the logs. The real `portstream ingest` and `portstream api` run as processes with bearer
// tokens, a NATS password, a NATS token and a ClickHouse password configured, logging JSON at trace level;
// the test drives successes and every kind of refusal (unknown token, wrong role, ClickHouse unreachable, NATS
// refusing a wrong password, migrations failing) and then searches everything the processes wrote.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Metadata, status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventStatus, IngestServiceClient } from '../../proto/gen/portstream/v1/ingest.js';
import { TrackingServiceClient } from '../../proto/gen/portstream/v1/tracking.js';
import { clientAs } from '../../test-kit/auth.js';
import { containerNumber, discBatch } from '../../test-kit/events.js';
import { publish } from '../helpers/gateway.js';
import { startTestNats, type TestNats } from '../helpers/nats.js';
import { waitFor } from '../../test-kit/poll.js';

const secret = (what: string): string => `${what}-${randomBytes(12).toString('hex')}`;
const S = {
  operator: secret('operator-token'),
  firm: secret('firm-token'),
  customs: secret('customs-token'),
  natsPassword: secret('nats-password'),
  natsToken: secret('nats-token'),
  clickhousePassword: secret('ch-password'),
  wrongNatsPassword: secret('wrong-nats-password'),
  wrongBearer: secret('wrong-bearer'),
};

interface Proc {
  proc: ChildProcessWithoutNullStreams;
  output(): string;
  exited: Promise<number | null>;
}

function run(args: string[], env: Record<string, string>): Proc {
  const proc = spawn(process.execPath, ['--import', 'tsx', 'cli/portstream.ts', ...args], {
    env: { ...process.env, LOG_FORMAT: 'json', LOG_LEVEL: 'trace', ...env },
  });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', resolve));
  return { proc, output: () => out, exited };
}

/** The value of `field` in the first JSON log line with message `msg`. */
function logged(p: Proc, msg: string, field: string): string | undefined {
  for (const line of p.output().split('\n')) {
    if (!line.startsWith('{')) continue;
    const o = JSON.parse(line) as Record<string, unknown>;
    if (o.msg === msg && typeof o[field] === 'string') return o[field];
  }
  return undefined;
}

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const addr = srv.address();
  await new Promise((resolve) => srv.close(resolve));
  return typeof addr === 'object' && addr ? addr.port : 1;
}

async function refusal(p: Promise<unknown>): Promise<ServiceError> {
  try {
    await p;
  } catch (err) {
    return err as ServiceError;
  }
  throw new Error('the call succeeded');
}

describe('secrets in logs', () => {
  let dir: string;
  let natsUsers: TestNats;
  let natsToken: TestNats;
  const procs: Proc[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'portstream-secrets-'));
    natsUsers = await startTestNats(
      `authorization { users: [ { user: "portstream", password: ${JSON.stringify(S.natsPassword)} } ] }`,
    );
    natsToken = await startTestNats(`authorization { token: ${JSON.stringify(S.natsToken)} }`);
  });
  afterAll(async () => {
    for (const p of procs) if (p.proc.exitCode === null) p.proc.kill('SIGKILL');
    await natsUsers.cleanup();
    await natsToken.cleanup();
    await rm(dir, { recursive: true, force: true });
  });

  it('no token, password or key appears in any log line, whatever fails', async () => {
    const tokensFile = path.join(dir, 'tokens.json');
    await writeFile(
      tokensFile,
      JSON.stringify({
        tokens: [
          { name: 'hict-tos', role: 'operator', terminals: ['VNHPH:HICT'], token: S.operator },
          { name: 'viettel-logistics', role: 'firm', tax_codes: ['0100109106'], token: S.firm },
          { name: 'hp-customs', role: 'customs', token: S.customs },
        ],
      }),
    );
    const chUrl = `http://127.0.0.1:${await closedPort()}`;
    const common = {
      AUTH_TOKENS_FILE: tokensFile,
      PORTSTREAM_DATA_DIR: dir,
      CLICKHOUSE_URL: chUrl,
      CLICKHOUSE_USER: 'portstream',
      CLICKHOUSE_PASSWORD: S.clickhousePassword,
      CLICKHOUSE_REQUEST_TIMEOUT_MS: '2000',
      SHUTDOWN_TIMEOUT_MS: '3000',
    };
    const ingest = run(['ingest'], {
      ...common,
      NATS_URL: natsUsers.url,
      NATS_USER: 'portstream',
      NATS_PASSWORD: S.natsPassword,
      INGEST_PORT: '0',
    });
    const api = run(['api'], {
      ...common,
      NATS_URL: natsToken.url,
      NATS_TOKEN: S.natsToken,
      API_GRPC_PORT: '0',
      API_HTTP_PORT: '0',
    });
    procs.push(ingest, api);
    const grpcIngest = await waitFor(() => logged(ingest, 'ingest gateway ready', 'grpc'), {
      timeoutMs: 60_000,
      what: 'the gateway',
    });
    const httpUrl = await waitFor(() => logged(api, 'api ready', 'http'), {
      timeoutMs: 60_000,
      what: 'the API',
    });
    const grpcApi = logged(api, 'api ready', 'grpc') ?? '';

    // Ingest: accepted, unknown token, wrong role.
    const operator = clientAs(IngestServiceClient, grpcIngest, S.operator);
    const stranger = clientAs(IngestServiceClient, grpcIngest, S.wrongBearer);
    const customs = clientAs(IngestServiceClient, grpcIngest, S.customs);
    const tracking = clientAs(TrackingServiceClient, grpcApi, S.wrongBearer);
    try {
      const ok = await publish(operator, discBatch('secrets', 2));
      expect(ok.results.every((r) => r.status === EventStatus.ACCEPTED)).toBe(true);
      expect((await refusal(publish(stranger, discBatch('secrets-x', 1)))).code).toBe(
        grpcStatus.UNAUTHENTICATED,
      );
      expect((await refusal(publish(customs, discBatch('secrets-y', 1)))).code).toBe(
        grpcStatus.PERMISSION_DENIED,
      );
      const t = await refusal(
        new Promise((resolve, reject) => {
          tracking.getContainerStatus(
            { containerNumber: containerNumber('MSC', 1) },
            new Metadata(),
            (err, res) => {
              if (err) reject(err);
              else resolve(res);
            },
          );
        }),
      );
      expect(t.code).toBe(grpcStatus.UNAUTHENTICATED);
    } finally {
      operator.close();
      stranger.close();
      customs.close();
      tracking.close();
    }
    // HTTP: unknown token, then a read that needs the (unreachable) ClickHouse server.
    const n = containerNumber('MSC', 2);
    const denied = await fetch(`${httpUrl}/v1/containers/${n}`, {
      headers: { authorization: `Bearer ${S.wrongBearer}` },
    });
    expect(denied.status).toBe(401);
    const start = new Date(Date.now() - 3_600_000).toISOString();
    const end = new Date().toISOString();
    const metrics = `start_time=${start}&end_time=${end}&bucket_seconds=60`;
    const chDown = await fetch(`${httpUrl}/v1/metrics/throughput?${metrics}`, {
      headers: { authorization: `Bearer ${S.customs}` },
    });
    expect(chDown.status).toBeGreaterThanOrEqual(500);

    // NATS refusing a wrong password, and migrations against the unreachable ClickHouse server.
    const badNats = run(['ingest'], {
      ...common,
      NATS_URL: natsUsers.url,
      NATS_USER: 'portstream',
      NATS_PASSWORD: S.wrongNatsPassword,
      INGEST_PORT: '0',
    });
    const migrate = run(['migrate'], common);
    procs.push(badNats, migrate);
    expect(await badNats.exited).not.toBe(0);
    expect(await migrate.exited).not.toBe(0);

    ingest.proc.kill('SIGINT');
    api.proc.kill('SIGINT');
    expect(await ingest.exited).toBe(0);
    expect(await api.exited).toBe(0);

    // The runs did log what happened (so the search below searched something).
    const all = procs.map((p) => p.output()).join('\n');
    expect(ingest.output()).toContain('"msg":"gRPC server listening"');
    expect(api.output()).toContain('"msg":"unexpected error in HTTP handler"');
    expect(badNats.output().toLowerCase()).toContain('authorization');
    expect(migrate.output()).toContain(chUrl.replace('http://', ''));
    for (const [what, value] of Object.entries(S)) {
      expect(all.includes(value), `${what} appears in the logs`).toBe(false);
    }
  }, 120_000);
});
