// The deployment rehearsed: each portstream service of compose.yaml and of the Kubernetes base runs as its own
// process with exactly its manifest's environment (plus the image's ENV), against a real 3-node nats-server
// cluster (the manifests ask for JS_REPLICAS=3) configured with deploy/nats/accounts.conf and TLS from
// scripts/dev-ca.sh (so each service runs as its NATS user), and a
// ClickHouse HTTP server on the real engine with the manifest's credentials. Only what a container platform
// changes is mapped: host names to 127.0.0.1, the manifest's ports to free ones, mounted secrets to files in a
// temporary folder. Then every listener must answer TLS (and refuse plaintext) and every probe must pass as the
// kubelet or Compose would run it.
import { randomBytes } from 'node:crypto';
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../core/config.js';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { freePort } from '../../core/nats/local-cluster.js';
import { LocalNatsServer } from '../../core/nats/local-server.js';
import { startClickHouseHttp, type ClickHouseHttpServer } from '../helpers/clickhouse-http.js';
import {
  composeServices,
  DEPLOY,
  k8sServices,
  listenersOf,
  ROOT,
  RUNNABLES,
  SERVICE_NAMES,
  type ServiceManifest,
} from '../helpers/deploy.js';
import { OPS_LISTENING, probe } from '../helpers/ops.js';
import { waitFor } from '../../test-kit/poll.js';
import { startService, writeTokensFile, type ServiceProcess } from '../helpers/service-process.js';

const NATS_PASSWORDS = {
  ingest: 'pw-ingest',
  processor: 'pw-processor',
  sink: 'pw-sink',
  api: 'pw-api',
  notify: 'pw-notify',
  admin: 'pw-admin',
};
const CLICKHOUSE_PASSWORD = 'pw-clickhouse';

/** ENV lines of the image's final stage (deploy/Dockerfile): part of every container's environment. */
async function imageEnv(): Promise<Record<string, string>> {
  const text = await readFile(path.join(DEPLOY, 'Dockerfile'), 'utf8');
  const final = text.slice(text.lastIndexOf('\nFROM '));
  return Object.fromEntries(
    [...final.matchAll(/^ENV ([A-Z_]+)=(\S+)$/gm)].map((m) => [m[1] ?? '', m[2] ?? ''] as const),
  );
}

/** Whether a TLS handshake with the listener succeeds and its certificate verifies against ca. */
function tlsAnswers(port: number, ca: Buffer, alpn: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host: '127.0.0.1',
      port,
      ca,
      servername: 'localhost',
      ALPNProtocols: [alpn],
    });
    socket.once('secureConnect', () => {
      resolve(socket.authorized);
      socket.destroy();
    });
    socket.once('error', () => {
      resolve(false);
    });
  });
}

/** Runs a Compose healthcheck `CMD` test as the container would; resolves with its exit code. */
function runHealthcheck(command: string[]): Promise<number | null> {
  const [kind, bin, ...args] = command;
  expect(kind).toBe('CMD');
  return new Promise((resolve) => {
    const p = spawn(bin === 'node' ? process.execPath : (bin ?? ''), args, { stdio: 'ignore' });
    p.once('exit', resolve);
    p.once('error', () => {
      resolve(null);
    });
  });
}

describe('deploy/ rehearsed: each service with exactly its manifest environment', () => {
  let dir: string;
  let tls: string;
  let ca: Buffer;
  /** nats-0..2 of the manifests. */
  let nats: LocalNatsServer[] = [];
  let clickhouse: ClickHouseHttpServer;
  let image: Record<string, string>;
  /** secret name -> key -> file content (Kubernetes Secrets; Compose file secrets by file name; .env values). */
  const secrets = new Map<string, Record<string, Buffer>>();
  const running: ServiceProcess[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'portstream-rehearsal-'));
    tls = path.join(dir, 'tls');
    const r = spawnSync('bash', [path.join(ROOT, 'scripts/dev-ca.sh'), tls], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    ca = await readFile(path.join(tls, 'ca.pem'));
    const accounts = await readFile(path.join(DEPLOY, 'nats/accounts.conf'), 'utf8');
    const vars = [
      ...Object.entries(NATS_PASSWORDS).map(([u, p]) => `NATS_${u.toUpperCase()}_PASSWORD: "${p}"`),
      'NATS_SYS_PASSWORD: "pw-sys"',
    ];
    const file = (f: string): string => JSON.stringify(path.join(tls, f));
    const routePorts = [await freePort(), await freePort(), await freePort()];
    nats = await Promise.all(
      routePorts.map(async (routePort, i) => {
        // nats-server resolves `include` beside the config file, which LocalNatsServer writes in its store.
        const store = path.join(dir, `nats-${i}`);
        await mkdir(store, { recursive: true });
        await writeFile(path.join(store, 'accounts.conf'), `${vars.join('\n')}\n${accounts}`);
        return LocalNatsServer.start({
          storeDir: store,
          port: 0,
          serverName: `nats-${i}`,
          extraConfig: [
            `tls { cert_file: ${file('server.pem')}, key_file: ${file('server-key.pem')}, ca_file: ${file('ca.pem')} }`,
            'include ./accounts.conf',
            `cluster { name: portstream, listen: "127.0.0.1:${routePort}", routes: [${routePorts
              .map((p) => `nats-route://127.0.0.1:${p}`)
              .join(', ')}], connect_retries: 120 }`,
          ].join('\n'),
        });
      }),
    );
    // The cluster is up once JetStream answers the application account (meta leader elected).
    await waitFor(
      async () => {
        const nc = await connect({
          servers: nats.map((n) => n.url),
          user: 'ingest',
          pass: NATS_PASSWORDS.ingest,
          tls: { ca: ca.toString() },
          timeout: 2000,
          reconnect: false,
        });
        try {
          const info = await (await jetstreamManager(nc)).getAccountInfo();
          return info.streams >= 0;
        } finally {
          await nc.close();
        }
      },
      { timeoutMs: 60_000, what: 'the 3-node NATS cluster' },
    );
    clickhouse = await startClickHouseHttp({ user: 'portstream', password: CLICKHOUSE_PASSWORD });
    image = await imageEnv();

    const pem = (f: string): Promise<Buffer> => readFile(path.join(tls, f));
    const tokens = await readFile(await writeTokensFile(dir));
    const passwords = Object.fromEntries(
      Object.entries(NATS_PASSWORDS).map(([k, v]) => [k, Buffer.from(v)] as const),
    );
    // Kubernetes Secrets, as deploy/README.md creates them.
    secrets.set('nats-tls', {
      'ca.pem': await pem('ca.pem'),
      'server.pem': await pem('server.pem'),
      'server-key.pem': await pem('server-key.pem'),
    });
    secrets.set('portstream-tls', {
      'tls.crt': await pem('server.pem'),
      'tls.key': await pem('server-key.pem'),
    });
    secrets.set('portstream-tokens', { 'tokens.json': tokens });
    const selection = Buffer.from(
      JSON.stringify({ secrets: [{ version: 's1', secret: randomBytes(32).toString('hex') }] }),
    );
    secrets.set('portstream-selection', { 'selection-secret.json': selection });
    secrets.set('nats-passwords', passwords);
    secrets.set('clickhouse', { password: Buffer.from(CLICKHOUSE_PASSWORD) });
    // Compose: file secrets (by their file under deploy/secrets/) and deploy/.env.
    for (const name of [
      'ca',
      'portstream_cert',
      'portstream_key',
      'auth_tokens',
      'nats_server_cert',
      'selection_secret',
    ]) {
      secrets.set(name, {
        'ca.pem': await pem('ca.pem'),
        'server.pem': await pem('server.pem'),
        'server-key.pem': await pem('server-key.pem'),
        'tokens.json': tokens,
        'selection-secret.json': selection,
      });
    }
    secrets.set('.env', {
      ...Object.fromEntries(
        Object.entries(NATS_PASSWORDS).map(([u, p]) => [`NATS_${u.toUpperCase()}_PASSWORD`, Buffer.from(p)]),
      ),
      CLICKHOUSE_PASSWORD: Buffer.from(CLICKHOUSE_PASSWORD),
    });
  }, 60_000);

  afterAll(async () => {
    for (const p of running) p.proc.kill('SIGTERM');
    await Promise.all(running.map((p) => p.exited));
    await clickhouse.close();
    await Promise.all(nats.map((n) => n.stop()));
    await rm(dir, { recursive: true, force: true });
  }, 60_000);

  const secretValue = (secret: string, key: string): Buffer => {
    const v = secrets.get(secret)?.[key];
    if (v === undefined) throw new Error(`the rehearsal has no secret ${secret}/${key}`);
    return v;
  };

  /** The manifest's environment as this machine runs it, and the manifest port -> real port map. */
  async function environment(
    m: ServiceManifest,
  ): Promise<{ env: Record<string, string>; ports: Map<number, number> }> {
    // Mounted secrets: the container's paths under a folder of their own.
    const root = path.join(dir, `${m.source}-${m.service}`);
    for (const [file, src] of Object.entries(m.files)) {
      const keys = src.key === '*' ? Object.keys(secrets.get(src.secret) ?? {}) : [src.key];
      for (const key of keys) {
        const target = path.join(root, src.key === '*' ? path.join(file.slice(0, -2), key) : file);
        await mkdir(path.dirname(target), { recursive: true });
        await writeFile(target, secretValue(src.secret, key));
      }
    }
    const env: Record<string, string> = { ...image };
    for (const [k, v] of Object.entries(m.env)) {
      env[k] = 'value' in v ? v.value : secretValue(v.secret, v.key).toString();
    }
    for (const [k, v] of Object.entries(env)) {
      if (v.startsWith('/')) env[k] = path.join(root, v);
    }
    // nats-<i>.nats:4222 is node i of the rehearsal cluster.
    if (env.NATS_URL !== undefined) {
      env.NATS_URL = env.NATS_URL.split(',')
        .map((u) =>
          u.replace(/\/\/nats-(\d)[^/:]*:\d+/, (_, i: string) => {
            const node = nats[Number(i)];
            if (node === undefined) throw new Error(`no NATS node for ${u}`);
            return `//127.0.0.1:${new URL(node.url).port}`;
          }),
        )
        .join(',');
    }
    if (env.CLICKHOUSE_URL !== undefined) {
      env.CLICKHOUSE_URL = env.CLICKHOUSE_URL.replace(/\/\/[^/:]+:\d+/, `//127.0.0.1:${clickhouse.port}`);
    }
    const ports = new Map<number, number>();
    for (const l of listenersOf(m.service, loadConfig(env))) {
      const real = await freePort();
      ports.set(l.port, real);
      env[l.portSetting] = String(real);
    }
    return { env, ports };
  }

  /** Runs the manifest's probes against the service as the kubelet or Compose would, until each passes. */
  async function probeAsDeployed(m: ServiceManifest, ports: Map<number, number>): Promise<void> {
    const at = `${m.source} ${m.service}`;
    for (const p of m.probes) {
      const port = ports.get(p.port);
      expect(port, `${at} ${p.kind} probe port ${p.port}`).toBeDefined();
      if (p.command !== undefined) {
        const command = p.command.map((a) => a.replace(`:${p.port}/`, `:${port ?? 0}/`));
        await waitFor(async () => (await runHealthcheck(command)) === 0, {
          timeoutMs: 60_000,
          what: `${at} healthcheck`,
        });
      } else {
        const url = `${p.scheme}://127.0.0.1:${port ?? 0}${p.path ?? ''}`;
        await waitFor(async () => (await probe(url, { ca })).status === 200, {
          timeoutMs: 60_000,
          what: `${at} ${p.kind} probe ${url}`,
        });
      }
    }
  }

  for (const source of ['k8s', 'compose'] as const) {
    it(`${source}: every service starts with its manifest environment, serves TLS and passes its probes`, async () => {
      const all = source === 'k8s' ? k8sServices() : composeServices();
      // The admin step first, as its Job or one-shot service: the streams and buckets, then ClickHouse.
      const migrate = all.find((m) => m.service === 'migrate');
      expect(migrate).toBeDefined();
      if (migrate) {
        const { env } = await environment(migrate);
        const step = startService('migrate', env, { exactEnv: true });
        const { code } = await step.exited;
        expect(code, `${source} migrate:\n${step.output()}`).toBe(0);
      }
      const manifests = all
        .filter((m) => m.service !== 'migrate')
        .sort((a, b) => RUNNABLES.indexOf(a.service) - RUNNABLES.indexOf(b.service));
      expect(manifests.map((m) => m.service)).toEqual([...SERVICE_NAMES]);
      // Each service as its NATS user, after the admin step: none of them may change a stream or bucket.
      for (const m of manifests) {
        const { env, ports } = await environment(m);
        const svc = startService(m.service, env, { exactEnv: true });
        running.push(svc);
        await waitFor(() => svc.logs().find((l) => l.msg === OPS_LISTENING) ?? svc.proc.exitCode !== null, {
          timeoutMs: 60_000,
          what: `${source} ${m.service} ops endpoint`,
        });
        expect(svc.proc.exitCode, `${source} ${m.service} exited:\n${svc.output()}`).toBeNull();
        try {
          let probed = false;
          await Promise.race([
            probeAsDeployed(m, ports).finally(() => (probed = true)),
            svc.exited.then(({ code }) => {
              if (!probed) throw new Error(`exited with ${String(code)}`);
            }),
          ]);
        } catch (err) {
          throw new Error(`${String(err)}\n${source} ${m.service} wrote:\n${svc.output().slice(-4000)}`);
        }
        // Every listener: a TLS handshake with the deployed certificate succeeds; plaintext gets no answer.
        for (const l of listenersOf(m.service, loadConfig(env))) {
          expect(
            await tlsAnswers(l.port, ca, l.name === 'grpc' ? 'h2' : 'http/1.1'),
            `${m.service} ${l.name}`,
          ).toBe(true);
          await expect(probe(`http://127.0.0.1:${l.port}/healthz`, { timeoutMs: 2000 })).rejects.toThrow();
        }
      }
      // Ready means connected as its own NATS user (and to ClickHouse with the manifest's credentials).
      for (const svc of running.slice(-manifests.length)) {
        expect(svc.output()).not.toMatch(/Authorization Violation|permissions violation/i);
      }
      for (const svc of running.splice(-manifests.length)) {
        svc.proc.kill('SIGTERM');
        expect((await svc.exited).code).toBe(0);
      }
    }, 300_000);
  }
});
